package dev.durablechat.agent;

import static dev.durablechat.agent.AgentFixture.WAIT;
import static dev.durablechat.agent.AgentFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.Environment;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.StreamKind;
import dev.durablechat.core.CreateSessionRequest;
import dev.durablechat.core.DurableChat;
import dev.durablechat.core.Telemetry;
import dev.durablechat.storage.memory.MemorySessionStore;
import dev.durablechat.storage.memory.MemorySnapshotStore;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * What the runtime reports to its engine's {@link Telemetry}: a span per turn with its outcome,
 * live runs, snapshot writes, appends, lease takeovers.
 */
@DisplayName("the runtime's telemetry")
class TelemetryTest {
  private static final Duration LEASE = Duration.ofSeconds(2);

  /** Records every call as one line. */
  private static final class Recording implements Telemetry {
    final List<String> events = new CopyOnWriteArrayList<>();
    final AtomicInteger liveRuns = new AtomicInteger();

    @Override
    public void append(StreamKind stream, long nanos, boolean succeeded) {
      events.add("append " + stream.name().toLowerCase() + " " + succeeded);
    }

    @Override
    public void snapshotWrite(boolean succeeded) {
      events.add("snapshot " + succeeded);
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
      events.add("takeover " + cause);
    }

    @Override
    public TurnSpan turnStarted(String agentId, String trigger, String sessionId, String runId) {
      events.add("turn " + agentId + " " + trigger);
      return (outcome, error) ->
          events.add("turn-end " + outcome + (error == null ? "" : " " + error.getMessage()));
    }
  }

  private static DurableChat engine(Recording telemetry, java.time.Clock clock) {
    return DurableChat.builder()
        .environment(new Environment("proj", "telemetry"))
        .sessionStore(new MemorySessionStore())
        .snapshotStore(new MemorySnapshotStore())
        .telemetry(telemetry)
        .clock(clock)
        .build();
  }

  @Test
  @DisplayName(
      "a completed turn and a failed one are spans with their outcomes, each followed by its"
          + " snapshot; live runs return to zero at close")
  void turnsAreSpansWithOutcomes() {
    var telemetry = new Recording();
    try (var chat = engine(telemetry, java.time.Clock.systemUTC())) {
      try (var runtime =
          AgentRuntime.builder(chat)
              .register(
                  ChatAgent.builder("echo")
                      .run(
                          (turn, out) -> {
                            out.text("re " + turn.message().text());
                          })
                      .build())
              .register(
                  ChatAgent.builder("failing")
                      .run(
                          (turn, out) -> {
                            throw new IllegalStateException("the model is unavailable");
                          })
                      .build())
              .build()) {
        AgentChat echo = AgentChat.builder(runtime, "echo").chatId("ok").build();
        assertThat(echo.sendMessage("hello").text(WAIT)).isEqualTo("re hello");
        AgentChat failing = AgentChat.builder(runtime, "failing").chatId("ko").build();
        failing.sendMessage("boom").text(WAIT);
        await(
            "both spans ended",
            () -> telemetry.events.stream().filter(e -> e.startsWith("turn-end")).count() == 2);
        assertThat(telemetry.events.stream().filter(e -> e.startsWith("turn")))
            .containsExactly(
                "turn echo submit-message",
                "turn-end completed",
                "turn failing submit-message",
                "turn-end failed the model is unavailable");
        await(
            "two snapshots",
            () -> telemetry.events.stream().filter(e -> e.equals("snapshot true")).count() == 2);
        assertThat(telemetry.events).contains("append in true", "append out true");
        assertThat(telemetry.liveRuns).hasValue(2);
        // The MDC of the turn's thread is checked by the starter's MetricsTest, under Logback:
        // slf4j-simple, this module's test binding, keeps no MDC.
      }
      assertThat(telemetry.liveRuns).hasValue(0);
    }
  }

  @Test
  @DisplayName(
      "a run whose lease expired is taken over once, by the next message (cause [lease]) or by the"
          + " recovery sweep (cause [recovery], S12), and the takeover is counted once (S8)")
  void deadRunTakeoverIsCountedOnce() {
    var telemetry = new Recording();
    var clock = new MovableClock(Instant.parse("2026-01-01T00:00:00Z"));
    try (var chat = engine(telemetry, clock);
        var runtime =
            AgentRuntime.builder(chat)
                .leaseDuration(LEASE)
                .register(
                    ChatAgent.builder("echo")
                        .run((turn, out) -> out.text("re " + turn.message().text()))
                        .build())
                .build()) {
      // A run that no process serves: as if its node died right after claiming it.
      chat.createSession(CreateSessionRequest.builder("echo").externalId("orphan").build());
      String dead = chat.ensureRun("orphan", RunReason.INITIAL).run().runId();
      clock.advance(LEASE.multipliedBy(2));
      assertThat(telemetry.events).doesNotContain("takeover lease");

      AgentChat chatting = AgentChat.builder(runtime, "echo").chatId("orphan").build();
      assertThat(chatting.sendMessage("anyone?").text(WAIT)).endsWith("re anyone?");
      // Which comes first is scheduling: the sweep runs at start and every half lease, on its own
      // thread, and may find the dead run before the message does.
      assertThat(telemetry.events.stream().filter(e -> e.startsWith("takeover ")))
          .singleElement()
          .isIn("takeover lease", "takeover recovery");
      @Nullable String current = chat.session("orphan").currentRunId();
      assertThat(current).isNotEqualTo(dead);
    }
  }
}
