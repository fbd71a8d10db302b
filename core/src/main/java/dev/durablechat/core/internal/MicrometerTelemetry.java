package dev.durablechat.core.internal;

import dev.durablechat.api.StreamKind;
import dev.durablechat.core.Telemetry;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * {@link Telemetry#micrometer}: the meters and the per-turn observation documented in
 * docs/metrics.md. The only class of the engine that uses Micrometer; nothing loads it unless an
 * application asks for it, so the engine runs without Micrometer on the class path.
 *
 * <p>Meters are registered once and cached: the hot paths (an append per flushed chunk batch) look
 * one up in a small map, never in the registry. Tags have bounded values only: the stream, an
 * outcome, an agent id, a cause, an HTTP status; session and run ids go to the observation's
 * high-cardinality key values (traces), never to a meter.
 */
public final class MicrometerTelemetry implements Telemetry {
  /** The observation of one turn. */
  public static final String TURN_OBSERVATION = "durablechat.turn";

  private final MeterRegistry meters;
  private final @Nullable ObservationRegistry observations;
  private final Timer appendIn;
  private final Timer appendOut;
  private final Timer appendInFailed;
  private final Timer appendOutFailed;
  private final Counter snapshotsWritten;
  private final Counter snapshotsFailed;
  private final AtomicInteger liveRuns = new AtomicInteger();
  private final AtomicInteger readers = new AtomicInteger();
  private final Map<String, Counter> takeovers = new ConcurrentHashMap<>();
  private final Map<Integer, Counter> refusals = new ConcurrentHashMap<>();
  private final Map<String, Counter> turnsStarted = new ConcurrentHashMap<>();
  private final Map<String, Timer> turns = new ConcurrentHashMap<>();

  private MicrometerTelemetry(MeterRegistry meters, @Nullable ObservationRegistry observations) {
    this.meters = meters;
    this.observations = observations;
    this.appendIn = appendTimer("in", "success");
    this.appendOut = appendTimer("out", "success");
    this.appendInFailed = appendTimer("in", "failure");
    this.appendOutFailed = appendTimer("out", "failure");
    this.snapshotsWritten = snapshotCounter("success");
    this.snapshotsFailed = snapshotCounter("failure");
    Gauge.builder("durablechat.runs.live", liveRuns, AtomicInteger::get)
        .description("runs executing on this node")
        .register(meters);
    Gauge.builder("durablechat.sse.readers", readers, AtomicInteger::get)
        .description("open SSE readers of out streams on this node")
        .register(meters);
  }

  /**
   * The telemetry over the registries (checked here: the public factory takes {@link Object} so
   * that its signature needs no Micrometer type).
   */
  public static Telemetry create(Object meterRegistry, @Nullable Object observationRegistry) {
    if (!(meterRegistry instanceof MeterRegistry meters)) {
      throw new IllegalArgumentException(
          "meter registry must be an [io.micrometer.core.instrument.MeterRegistry], got ["
              + meterRegistry.getClass().getName()
              + "]");
    }
    if (observationRegistry != null && !(observationRegistry instanceof ObservationRegistry)) {
      throw new IllegalArgumentException(
          "observation registry must be an [io.micrometer.observation.ObservationRegistry], got ["
              + observationRegistry.getClass().getName()
              + "]");
    }
    return new MicrometerTelemetry(meters, (ObservationRegistry) observationRegistry);
  }

  private Timer appendTimer(String stream, String outcome) {
    return Timer.builder("durablechat.stream.append")
        .description("store appends to a session stream")
        .tag("stream", stream)
        .tag("outcome", outcome)
        .register(meters);
  }

  private Counter snapshotCounter(String outcome) {
    return Counter.builder("durablechat.snapshot.writes")
        .description("snapshot writes after a turn (H1)")
        .tag("outcome", outcome)
        .register(meters);
  }

  @Override
  public void append(StreamKind stream, long nanos, boolean succeeded) {
    Timer timer =
        stream == StreamKind.IN
            ? (succeeded ? appendIn : appendInFailed)
            : (succeeded ? appendOut : appendOutFailed);
    timer.record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void snapshotWrite(boolean succeeded) {
    (succeeded ? snapshotsWritten : snapshotsFailed).increment();
  }

  @Override
  public void runStarted() {
    liveRuns.incrementAndGet();
  }

  @Override
  public void runEnded() {
    liveRuns.decrementAndGet();
  }

  @Override
  public void takeover(String cause) {
    takeovers
        .computeIfAbsent(
            cause.toLowerCase(Locale.ROOT),
            c ->
                Counter.builder("durablechat.takeovers")
                    .description("sessions taken over from a run presumed dead (S8)")
                    .tag("cause", c)
                    .register(meters))
        .increment();
  }

  @Override
  public void readerOpened() {
    readers.incrementAndGet();
  }

  @Override
  public void readerClosed() {
    readers.decrementAndGet();
  }

  @Override
  public void refused(int status) {
    refusals
        .computeIfAbsent(
            status,
            s ->
                Counter.builder("durablechat.http.refused")
                    .description("requests the Sessions routes refused")
                    .tag("status", Integer.toString(s))
                    .register(meters))
        .increment();
  }

  @Override
  public TurnSpan turnStarted(String agentId, String trigger, String sessionId, String runId) {
    turnsStarted
        .computeIfAbsent(
            agentId,
            a ->
                Counter.builder("durablechat.turns.started")
                    .description("turns started")
                    .tag("agent", a)
                    .register(meters))
        .increment();
    long start = System.nanoTime();
    Observation observation =
        observations == null
            ? Observation.NOOP
            : Observation.createNotStarted(TURN_OBSERVATION, observations)
                .contextualName("durablechat turn")
                .lowCardinalityKeyValue("agent", agentId)
                .lowCardinalityKeyValue("trigger", trigger)
                .highCardinalityKeyValue("session.id", sessionId)
                .highCardinalityKeyValue("run.id", runId)
                .start();
    Observation.Scope scope = observation.openScope();
    return (outcome, error) -> {
      scope.close();
      observation.lowCardinalityKeyValue("outcome", outcome);
      if (error != null) {
        observation.error(error);
      }
      observation.stop();
      turns
          .computeIfAbsent(
              agentId + '\n' + outcome,
              k ->
                  Timer.builder("durablechat.turns")
                      .description("turns by outcome, from dispatch to turn-complete")
                      .tag("agent", agentId)
                      .tag("outcome", outcome)
                      .register(meters))
          .record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
    };
  }

  @Override
  public String toString() {
    return "Telemetry.micrometer(" + meters.getClass().getSimpleName() + ")";
  }
}
