package dev.durablechat.core;

import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * How an engine retires sessions and trims their streams (S11, H5), set on {@link
 * DurableChat.Builder#retention}. Immutable; each {@code with...} method returns a changed copy.
 *
 * <p>The defaults ({@link #defaults()}), which an engine uses unless told otherwise:
 *
 * <ul>
 *   <li>a sweep runs every minute ({@link #sweepInterval}), the first one a minute after the engine
 *       is built, on one daemon thread of the engine's ({@code durablechat-retention});
 *   <li>each of its steps handles at most 100 sessions per batch and 10 batches per sweep ({@link
 *       #batchSize}), so one sweep is bounded whatever the store holds;
 *   <li>sessions whose {@code expiresAt} has passed are closed with the reason {@code expired}
 *       ({@link #closeExpired}), and their runs stop as on any close;
 *   <li>closed sessions are deleted 30 days after they were closed ({@link #deleteClosedAfter}),
 *       with their runs, both streams and their snapshot ({@link DurableChat#deleteSession});
 *   <li>snapshots of deleted sessions that could not be deleted at the time are deleted again;
 *   <li>nothing is trimmed: {@link #trimOut} and {@link #trimIn} are off.
 * </ul>
 *
 * <p>Trimming is an explicit choice because of what it trades: once a stream's acknowledged prefix
 * is trimmed, the session's snapshot is the only copy of it. A reader whose bookmark was trimmed is
 * told so and continues from the earliest kept record; a history rebuild still works from the
 * snapshot, but a snapshot that is lost or unreadable can no longer be rebuilt from the streams.
 *
 * <p>Every node sharing a store may sweep: each step is idempotent (a close keeps the first close,
 * a second delete finds nothing), so racing sweeps do the work once. An engine sweeps only its own
 * environment.
 */
public final class RetentionPolicy {
  /** The default interval between sweeps: one minute. */
  public static final Duration DEFAULT_SWEEP_INTERVAL = Duration.ofMinutes(1);

  /** The default grace period before a closed session is deleted: 30 days. */
  public static final Duration DEFAULT_DELETE_CLOSED_AFTER = Duration.ofDays(30);

  /** The default number of sessions one batch of a sweep step handles. */
  public static final int DEFAULT_BATCH_SIZE = 100;

  /** How many batches one step of one sweep handles at most. */
  public static final int MAX_BATCHES_PER_SWEEP = 10;

  private static final RetentionPolicy DEFAULTS =
      new RetentionPolicy(
          DEFAULT_SWEEP_INTERVAL,
          DEFAULT_BATCH_SIZE,
          true,
          DEFAULT_DELETE_CLOSED_AFTER,
          false,
          false,
          true);

  private static final RetentionPolicy NONE =
      new RetentionPolicy(
          DEFAULT_SWEEP_INTERVAL, DEFAULT_BATCH_SIZE, false, null, false, false, false);

  private final Duration sweepInterval;
  private final int batchSize;
  private final boolean closeExpired;
  private final @Nullable Duration deleteClosedAfter;
  private final boolean trimOut;
  private final boolean trimIn;
  private final boolean sweeps;

  private RetentionPolicy(
      Duration sweepInterval,
      int batchSize,
      boolean closeExpired,
      @Nullable Duration deleteClosedAfter,
      boolean trimOut,
      boolean trimIn,
      boolean sweeps) {
    this.sweepInterval = sweepInterval;
    this.batchSize = batchSize;
    this.closeExpired = closeExpired;
    this.deleteClosedAfter = deleteClosedAfter;
    this.trimOut = trimOut;
    this.trimIn = trimIn;
    this.sweeps = sweeps;
  }

  /** The documented defaults (see the class comment). */
  public static RetentionPolicy defaults() {
    return DEFAULTS;
  }

  /**
   * No retention at all: no sweep thread, nothing closed, deleted or trimmed by the engine. {@link
   * DurableChat#sweepRetention()} still runs the snapshot step when called.
   */
  public static RetentionPolicy none() {
    return NONE;
  }

  /** How often the sweep runs. */
  public Duration sweepInterval() {
    return sweepInterval;
  }

  /** How many sessions one batch of a sweep step handles. */
  public int batchSize() {
    return batchSize;
  }

  /** Whether expired sessions are closed with the reason {@code expired}. */
  public boolean closeExpired() {
    return closeExpired;
  }

  /** How long after its close a session is deleted, or null for never. */
  public @Nullable Duration deleteClosedAfter() {
    return deleteClosedAfter;
  }

  /** Whether {@code out} is trimmed behind each durable snapshot (H5). */
  public boolean trimOut() {
    return trimOut;
  }

  /** Whether {@code in} is trimmed behind each durable snapshot (H5). */
  public boolean trimIn() {
    return trimIn;
  }

  /** Whether the engine runs a periodic sweep with this policy. */
  public boolean sweeps() {
    return sweeps;
  }

  /**
   * Every {@code interval}, a sweep.
   *
   * @throws IllegalArgumentException if it is not positive
   */
  public RetentionPolicy withSweepInterval(Duration interval) {
    Objects.requireNonNull(interval, "sweep interval must not be null");
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("sweep interval [" + interval + "] must be positive");
    }
    return new RetentionPolicy(
        interval, batchSize, closeExpired, deleteClosedAfter, trimOut, trimIn, true);
  }

  /**
   * At most {@code size} sessions per batch.
   *
   * @throws IllegalArgumentException if it is not between 1 and 10,000
   */
  public RetentionPolicy withBatchSize(int size) {
    if (size < 1 || size > 10_000) {
      throw new IllegalArgumentException("batch size [" + size + "] must be 1 to 10000");
    }
    return new RetentionPolicy(
        sweepInterval, size, closeExpired, deleteClosedAfter, trimOut, trimIn, sweeps);
  }

  /** Whether expired sessions are closed ({@code expired}); default on. */
  public RetentionPolicy withCloseExpired(boolean close) {
    return new RetentionPolicy(
        sweepInterval, batchSize, close, deleteClosedAfter, trimOut, trimIn, sweeps || close);
  }

  /**
   * Closed sessions are deleted once closed for {@code grace}; default 30 days.
   *
   * @throws IllegalArgumentException if it is negative
   */
  public RetentionPolicy withDeleteClosedAfter(Duration grace) {
    Objects.requireNonNull(grace, "grace period must not be null");
    if (grace.isNegative()) {
      throw new IllegalArgumentException("grace period [" + grace + "] must not be negative");
    }
    return new RetentionPolicy(
        sweepInterval, batchSize, closeExpired, grace, trimOut, trimIn, true);
  }

  /** Closed sessions are kept for good (never deleted by the sweep). */
  public RetentionPolicy withClosedSessionsKept() {
    return new RetentionPolicy(
        sweepInterval, batchSize, closeExpired, null, trimOut, trimIn, sweeps);
  }

  /**
   * Whether {@code out} is trimmed behind each durable snapshot (H5): after the snapshot at {@code
   * turn-complete} Tn is written, {@code out} through T(n-1) is removed. Default off. Needs a store
   * that can trim; the snapshot becomes the only copy of the trimmed records.
   */
  public RetentionPolicy withTrimOut(boolean trim) {
    return new RetentionPolicy(
        sweepInterval, batchSize, closeExpired, deleteClosedAfter, trim, trimIn, sweeps);
  }

  /**
   * Whether {@code in} is trimmed behind each durable snapshot: after a snapshot is written, the
   * {@code in} records the previous snapshot already covered are removed. Default off. The snapshot
   * becomes the only copy of those messages, and a part id on a trimmed record no longer dedupes a
   * (very late) retry of its append (W5).
   */
  public RetentionPolicy withTrimIn(boolean trim) {
    return new RetentionPolicy(
        sweepInterval, batchSize, closeExpired, deleteClosedAfter, trimOut, trim, sweeps);
  }

  @Override
  public String toString() {
    return "RetentionPolicy[sweepInterval="
        + sweepInterval
        + ", batchSize="
        + batchSize
        + ", closeExpired="
        + closeExpired
        + ", deleteClosedAfter="
        + deleteClosedAfter
        + ", trimOut="
        + trimOut
        + ", trimIn="
        + trimIn
        + ", sweeps="
        + sweeps
        + "]";
  }
}
