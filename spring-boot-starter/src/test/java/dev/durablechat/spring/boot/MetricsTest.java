package dev.durablechat.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.durablechat.agent.ChatAgent;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.Session;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.core.DurableChat;
import dev.durablechat.storage.memory.MemorySessionStore;
import dev.durablechat.storage.memory.MemorySnapshotStore;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistryAssert;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;

/**
 * A conversation scripted over HTTP against an application with the starter: the application's
 * {@link MeterRegistry} then holds the meters docs/metrics.md names, with their tags; each turn is
 * one {@code durablechat.turn} observation with the documented key values; and the agent's code ran
 * with the session and run ids in the MDC (never as metric tags).
 */
@SpringBootTest(
    classes = MetricsTest.App.class,
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {
      "durablechat.http.secret-keys=" + MetricsTest.SECRET,
      "durablechat.max-append-bytes=4096",
      // A reader that went away is noticed at the next write: a ping within a second.
      "durablechat.http.ping-interval=1s",
      "durablechat.project=boot",
      "durablechat.environment=metrics"
    })
@DisplayName("Metrics, observations and the MDC of a scripted conversation")
class MetricsTest {
  static final String SECRET = "tr_dev_durablechat-metrics-secret";

  @SpringBootConfiguration
  @EnableAutoConfiguration
  static class App {
    // The application's own stores: the starter's JDBC ones back off.
    @Bean
    SessionStore sessionStore() {
      return new MemorySessionStore();
    }

    @Bean
    SnapshotStore snapshotStore() {
      return new MemorySnapshotStore();
    }

    @Bean
    ObservationRegistry observationRegistry() {
      return TestObservationRegistry.create();
    }

    @Bean
    ChatAgent<JsonValue> echo() {
      return TestAgents.rich("echo");
    }
  }

  @LocalServerPort int port;
  @Autowired MeterRegistry meters;
  @Autowired ObservationRegistry observations;
  @Autowired DurableChat chat;

  @Test
  @DisplayName(
      "two turns, four refusals: turn, append, snapshot, live-run, reader and refusal meters with"
          + " their tags; one observation per turn; session and run ids in the MDC only")
  void scriptedConversation() throws Exception {
    var wire = new Wire(port, "/durablechat", SECRET);
    String token = wire.createSession("metrics-1", "echo");

    try (Wire.Sse sse = wire.openOut("metrics-1", token, 0)) {
      var firstTurn = CompletableFuture.supplyAsync(() -> readTurnComplete(sse));
      assertThat(wire.submit("metrics-1", token, "first metrics turn").status()).isEqualTo(200);
      assertThat(firstTurn.get()).isTrue();
      // A reader is open now; its gauge counts it.
      assertThat(meters.get("durablechat.sse.readers").gauge().value()).isEqualTo(1.0);
      var secondTurn = CompletableFuture.supplyAsync(() -> readTurnComplete(sse));
      assertThat(wire.submit("metrics-1", token, "second metrics turn").status()).isEqualTo(200);
      assertThat(secondTurn.get()).isTrue();
    }

    // Refusals: 401 (no such bearer), 403 (another chat's token), 413 (over the cap), 422 (shape).
    String other = wire.createSession("metrics-2", "echo");
    assertThat(wire.submit("metrics-1", "not-a-token", "x").status()).isEqualTo(401);
    assertThat(wire.submit("metrics-1", other, "x").status()).isEqualTo(403);
    assertThat(wire.submit("metrics-1", token, "y".repeat(5000)).status()).isEqualTo(413);
    assertThat(
            wire.post("/realtime/v1/sessions/metrics-1/in/append", token, "{\"kind\":\"bogus\"}")
                .status())
        .isEqualTo(422);
    for (int status : new int[] {401, 403, 413, 422}) {
      assertThat(
              meters.get("durablechat.http.refused").tag("status", "" + status).counter().count())
          .as("refused [%d]", status)
          .isEqualTo(1.0);
    }

    // Turns: started and finished by outcome; the snapshot after each; in and out appends.
    assertThat(meters.get("durablechat.turns.started").tag("agent", "echo").counter().count())
        .isEqualTo(2.0);
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              assertThat(
                      meters
                          .get("durablechat.turns")
                          .tag("agent", "echo")
                          .tag("outcome", "completed")
                          .timer()
                          .count())
                  .isEqualTo(2);
              assertThat(
                      meters
                          .get("durablechat.snapshot.writes")
                          .tag("outcome", "success")
                          .counter()
                          .count())
                  .isEqualTo(2.0);
            });
    assertThat(
            meters
                .get("durablechat.stream.append")
                .tag("stream", "in")
                .tag("outcome", "success")
                .timer()
                .count())
        .isEqualTo(2);
    assertThat(
            meters
                .get("durablechat.stream.append")
                .tag("stream", "out")
                .tag("outcome", "success")
                .timer()
                .count())
        .isGreaterThanOrEqualTo(4);
    // Creating a session starts its run: one for each chat, both waiting for their next message.
    assertThat(meters.get("durablechat.runs.live").gauge().value()).isEqualTo(2.0);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> meters.get("durablechat.sse.readers").gauge().value() == 0.0);
    assertThat(meters.find("durablechat.takeovers").counters()).isEmpty();
    // No meter of ours carries a session or run id.
    meters.getMeters().stream()
        .filter(m -> m.getId().getName().startsWith("durablechat."))
        .flatMap(m -> m.getId().getTags().stream())
        .forEach(
            tag ->
                assertThat(tag.getValue())
                    .as("tag [%s]", tag.getKey())
                    .doesNotStartWith("session_")
                    .doesNotStartWith("run_"));

    // One observation per turn, with the documented key values.
    Session session = chat.session("metrics-1");
    String runId = session.currentRunId();
    TestObservationRegistryAssert.assertThat((TestObservationRegistry) observations)
        .hasNumberOfObservationsWithNameEqualTo("durablechat.turn", 2)
        .hasObservationWithNameEqualTo("durablechat.turn")
        .that()
        .hasBeenStarted()
        .hasBeenStopped()
        .hasLowCardinalityKeyValue("agent", "echo")
        .hasLowCardinalityKeyValue("trigger", "submit-message")
        .hasLowCardinalityKeyValue("outcome", "completed")
        .hasHighCardinalityKeyValue("session.id", session.friendlyId())
        .hasHighCardinalityKeyValue("run.id", runId);

    // The agent's code saw the ids in the MDC.
    assertThat(TestAgents.MDC_SEEN.get("first metrics turn"))
        .containsEntry("durablechat.session", session.friendlyId())
        .containsEntry("durablechat.run", runId);
  }

  private static boolean readTurnComplete(Wire.Sse sse) {
    try {
      return sse.readUntil("turn-complete");
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
