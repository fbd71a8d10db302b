package dev.durablechat.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.Environment;
import dev.durablechat.api.FencedException;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.StreamKind;
import dev.durablechat.storage.memory.MemorySessionStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.tck.TestObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistryAssert;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * {@link Telemetry#micrometer}: the meters and the turn observation of docs/metrics.md, and clear
 * refusals of arguments that are not Micrometer registries.
 */
@DisplayName("Micrometer telemetry")
class MicrometerTelemetryTest {

  @Test
  @DisplayName("the default reports nothing, and an engine runs with it")
  void noopByDefault() {
    try (var chat =
        DurableChat.builder()
            .environment(new Environment("p", "e"))
            .sessionStore(new MemorySessionStore())
            .build()) {
      assertThat(chat.telemetry()).isSameAs(Telemetry.noop());
      assertThat(Telemetry.noop().turnStarted("a", "t", "s", "r"))
          .isSameAs(Telemetry.TurnSpan.NOOP);
    }
  }

  @Test
  @DisplayName("refuses an argument that is not a registry, naming the expected type")
  void refusesWhatIsNotARegistry() {
    assertThatThrownBy(() -> Telemetry.micrometer("registry", null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "meter registry must be an [io.micrometer.core.instrument.MeterRegistry], got"
                + " [java.lang.String]");
    assertThatThrownBy(() -> Telemetry.micrometer(new SimpleMeterRegistry(), 42))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "observation registry must be an [io.micrometer.observation.ObservationRegistry], got"
                + " [java.lang.Integer]");
  }

  @Test
  @DisplayName(
      "appends are timed per stream and outcome: a fenced out append counts as a failure (W5)")
  void appendsPerStreamAndOutcome() {
    var meters = new SimpleMeterRegistry();
    try (var chat =
        DurableChat.builder()
            .environment(new Environment("p", "e"))
            .sessionStore(new MemorySessionStore())
            .telemetry(Telemetry.micrometer(meters, null))
            .build()) {
      chat.createSession(CreateSessionRequest.builder("a").externalId("c").build());
      String run = chat.ensureRun("c", RunReason.INITIAL).run().runId();
      chat.appendIn("c", new InEvent.Stop(null), null);
      chat.appendOut("c", run, List.of(new OutEvent.TurnComplete(1)));
      assertThatThrownBy(() -> chat.appendOut("c", "run_other", new OutEvent.TurnComplete(1)))
          .isInstanceOf(FencedException.class);

      assertThat(timer(meters, StreamKind.IN, "success")).isEqualTo(1);
      assertThat(timer(meters, StreamKind.OUT, "success")).isEqualTo(1);
      assertThat(timer(meters, StreamKind.OUT, "failure")).isEqualTo(1);
      assertThat(timer(meters, StreamKind.IN, "failure")).isZero();
    }
  }

  @Test
  @DisplayName(
      "a turn: a started counter, a timer by outcome, one observation with the documented key"
          + " values; takeovers, refusals, readers and live runs")
  void turnAndCounters() {
    var meters = new SimpleMeterRegistry();
    var observations = TestObservationRegistry.create();
    Telemetry telemetry = Telemetry.micrometer(meters, observations);

    Telemetry.TurnSpan span = telemetry.turnStarted("echo", "submit-message", "session_1", "run_1");
    span.end("failed", new IllegalStateException("the model is unavailable"));
    telemetry.takeover("lease");
    telemetry.takeover("recovery");
    telemetry.takeover("recovery");
    telemetry.refused(413);
    telemetry.readerOpened();
    telemetry.runStarted();
    telemetry.runStarted();
    telemetry.runEnded();
    telemetry.snapshotWrite(false);

    assertThat(meters.get("durablechat.turns.started").tag("agent", "echo").counter().count())
        .isEqualTo(1.0);
    assertThat(
            meters
                .get("durablechat.turns")
                .tag("agent", "echo")
                .tag("outcome", "failed")
                .timer()
                .count())
        .isEqualTo(1);
    assertThat(meters.get("durablechat.takeovers").tag("cause", "lease").counter().count())
        .isEqualTo(1.0);
    assertThat(meters.get("durablechat.takeovers").tag("cause", "recovery").counter().count())
        .isEqualTo(2.0);
    assertThat(meters.get("durablechat.http.refused").tag("status", "413").counter().count())
        .isEqualTo(1.0);
    assertThat(meters.get("durablechat.sse.readers").gauge().value()).isEqualTo(1.0);
    assertThat(meters.get("durablechat.runs.live").gauge().value()).isEqualTo(1.0);
    assertThat(
            meters.get("durablechat.snapshot.writes").tag("outcome", "failure").counter().count())
        .isEqualTo(1.0);
    TestObservationRegistryAssert.assertThat(observations)
        .hasSingleObservationThat()
        .hasNameEqualTo("durablechat.turn")
        .hasBeenStopped()
        .hasLowCardinalityKeyValue("agent", "echo")
        .hasLowCardinalityKeyValue("trigger", "submit-message")
        .hasLowCardinalityKeyValue("outcome", "failed")
        .hasHighCardinalityKeyValue("session.id", "session_1")
        .hasHighCardinalityKeyValue("run.id", "run_1")
        .assertThatError()
        .hasMessage("the model is unavailable");
  }

  private static long timer(SimpleMeterRegistry meters, StreamKind stream, String outcome) {
    var timer =
        meters
            .find("durablechat.stream.append")
            .tag("stream", stream.name().toLowerCase(java.util.Locale.ROOT))
            .tag("outcome", outcome)
            .timer();
    return timer == null ? 0 : timer.count();
  }
}
