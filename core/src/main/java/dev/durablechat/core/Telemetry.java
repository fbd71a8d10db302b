package dev.durablechat.core;

import dev.durablechat.api.StreamKind;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What the engine, its agent runtime and its HTTP routes report about themselves: metrics and one
 * trace span per turn. The engine holds one ({@link DurableChat.Builder#telemetry}); the runtime
 * and the routes built over it report to the same one ({@link DurableChat#telemetry()}).
 *
 * <p>The default, {@link #noop()}, reports nothing. {@link #micrometer} reports to a Micrometer
 * {@code MeterRegistry} and {@code ObservationRegistry} (names and tags in docs/metrics.md);
 * Micrometer is an optional dependency, needed on the class path only by an application that calls
 * it. Another metrics system can implement this interface: every method has a no-op default, is
 * called on the thread doing the work, and must be quick, thread-safe and never throw.
 *
 * <p>Session and run ids are never passed to counters or timers (unbounded cardinality): only to
 * {@link #turnStarted}, whose span may carry them as trace attributes.
 */
public interface Telemetry {

  /** Reports nothing. */
  static Telemetry noop() {
    return dev.durablechat.core.internal.NoopTelemetry.INSTANCE;
  }

  /**
   * Reports to Micrometer: meters on the {@code meterRegistry}, one {@code Observation} per turn on
   * the {@code observationRegistry} (if given).
   *
   * @param meterRegistry an {@code io.micrometer.core.instrument.MeterRegistry}
   * @param observationRegistry an {@code io.micrometer.observation.ObservationRegistry}, or null
   *     for no observations
   * @throws IllegalArgumentException if an argument is not of the named type
   * @throws IllegalStateException if micrometer-core (or, for an observation registry,
   *     micrometer-observation) is not on the class path
   */
  static Telemetry micrometer(Object meterRegistry, @Nullable Object observationRegistry) {
    Objects.requireNonNull(meterRegistry, "meter registry must not be null");
    // Typed as Object so that this interface, and every engine, loads without Micrometer: only
    // this call touches the class that needs it.
    requireClass("io.micrometer.core.instrument.MeterRegistry", "io.micrometer:micrometer-core");
    if (observationRegistry != null) {
      requireClass(
          "io.micrometer.observation.ObservationRegistry", "io.micrometer:micrometer-observation");
    }
    return dev.durablechat.core.internal.MicrometerTelemetry.create(
        meterRegistry, observationRegistry);
  }

  private static void requireClass(String name, String artifact) {
    try {
      Class.forName(name, false, Telemetry.class.getClassLoader());
    } catch (ClassNotFoundException | LinkageError e) {
      throw new IllegalStateException(
          "micrometer telemetry needs [" + artifact + "] on the class path; [" + name + "] is not");
    }
  }

  /**
   * One store append to a session's stream.
   *
   * @param stream which stream
   * @param nanos how long the store call took
   * @param succeeded false if the store call threw
   */
  default void append(StreamKind stream, long nanos, boolean succeeded) {}

  /**
   * One attempt to write a snapshot (H1).
   *
   * @param succeeded false if it was not stored (store failure or lost conflict); true if stored
   */
  default void snapshotWrite(boolean succeeded) {}

  /** A run started executing on this node (its loop booted). */
  default void runStarted() {}

  /** A run stopped executing on this node (for any reason). */
  default void runEnded() {}

  /**
   * A node took a session over from a run it presumed dead (S8).
   *
   * @param cause {@code lease} when a watched run's lease expired while this node served a message,
   *     {@code recovery} when a sweep for orphaned sessions found it
   */
  default void takeover(String cause) {}

  /** An SSE reader of a session's {@code out} stream connected. */
  default void readerOpened() {}

  /** An SSE reader's stream ended (for any reason). */
  default void readerClosed() {}

  /**
   * The HTTP routes refused a request (4xx).
   *
   * @param status the HTTP status answered
   */
  default void refused(int status) {}

  /**
   * A turn starts on the calling thread; the returned span is ended on the same thread.
   *
   * @param agentId the agent answering
   * @param trigger the wire name of the message's trigger
   * @param sessionId the session's friendly id (a trace attribute only)
   * @param runId the run's id (a trace attribute only)
   */
  default TurnSpan turnStarted(String agentId, String trigger, String sessionId, String runId) {
    return TurnSpan.NOOP;
  }

  /** One turn in flight; {@link #end} it exactly once, on the thread that started it. */
  interface TurnSpan {
    /** A span that records nothing. */
    TurnSpan NOOP = (outcome, error) -> {};

    /**
     * The turn is over.
     *
     * @param outcome {@code completed} (a {@code turn-complete} was written), {@code failed} (the
     *     agent threw; the error chunk and {@code turn-complete} were written), {@code stopped} (a
     *     stop cancelled it) or {@code interrupted} (no {@code turn-complete}: the run lost the
     *     session, it was closed, or the node shut down)
     * @param error what the agent threw, for {@code failed}
     */
    void end(String outcome, @Nullable Throwable error);
  }
}
