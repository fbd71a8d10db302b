package dev.durablechat.api;

import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * One row of a session's run audit trail (S6): written exactly once per change of the session's
 * current run, then only ended.
 *
 * @param runId the run's id
 * @param sessionId the friendly id of the session it ran for
 * @param reason why it became current
 * @param previousRunId the run it replaced, or null for the session's first run
 * @param startedAt when it became current
 * @param endedAt when it ended, or null while it runs
 * @param endReason why it ended (e.g. {@code idle}, {@code upgrade}, {@code crashed}), or null
 * @param renewedAt the last time its owner said it is alive ({@link
 *     dev.durablechat.api.spi.SessionStore#renewRun}, a lease heartbeat), or null if it never did;
 *     a run that is running and was neither started nor renewed for a lease's duration is presumed
 *     dead by other nodes
 */
public record SessionRun(
    String runId,
    String sessionId,
    RunReason reason,
    @Nullable String previousRunId,
    Instant startedAt,
    @Nullable Instant endedAt,
    @Nullable String endReason,
    @Nullable Instant renewedAt) {

  /** Requires the identifying fields. */
  public SessionRun {
    if (runId == null || runId.isBlank()) {
      throw new InvalidInputException("run id [" + runId + "] must not be blank");
    }
    if (sessionId == null || reason == null || startedAt == null) {
      throw new NullPointerException("session id, reason and start time are required");
    }
  }

  /** A run that was never renewed (the row as it was before leases). */
  public SessionRun(
      String runId,
      String sessionId,
      RunReason reason,
      @Nullable String previousRunId,
      Instant startedAt,
      @Nullable Instant endedAt,
      @Nullable String endReason) {
    this(runId, sessionId, reason, previousRunId, startedAt, endedAt, endReason, null);
  }

  /** A run that has just started. */
  public static SessionRun started(
      String runId,
      String sessionId,
      RunReason reason,
      @Nullable String previousRunId,
      Instant startedAt) {
    return new SessionRun(runId, sessionId, reason, previousRunId, startedAt, null, null);
  }

  /** Whether the run has not ended. */
  public boolean isRunning() {
    return endedAt == null;
  }

  /** A copy ended at the time, for the reason. */
  public SessionRun ended(Instant at, String why) {
    return new SessionRun(runId, sessionId, reason, previousRunId, startedAt, at, why, renewedAt);
  }

  /** A copy renewed at the time. */
  public SessionRun renewed(Instant at) {
    return new SessionRun(
        runId, sessionId, reason, previousRunId, startedAt, endedAt, endReason, at);
  }

  /**
   * The last sign of life: the later of its start and its last renewal. A lease holder is presumed
   * dead once this is a lease's duration in the past.
   */
  public Instant lastAliveAt() {
    return renewedAt != null && renewedAt.isAfter(startedAt) ? renewedAt : startedAt;
  }
}
