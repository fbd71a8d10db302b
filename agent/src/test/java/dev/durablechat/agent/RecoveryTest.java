package dev.durablechat.agent;

import static dev.durablechat.agent.AgentFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.Environment;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.TriggerConfig;
import dev.durablechat.core.CreateSessionRequest;
import dev.durablechat.core.DurableChat;
import dev.durablechat.storage.memory.MemorySessionStore;
import dev.durablechat.storage.memory.MemorySnapshotStore;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Recovery without a new message (S12): the runtime's sweep takes over dead runs and serves
 * messages no run saw, a reader's connection triggers the same check, and each message's attempts
 * are counted durably up to {@code maxAttempts}.
 */
@DisplayName("recovery and attempts (S12)")
class RecoveryTest {
  private static final Duration LEASE = Duration.ofMillis(400);

  private final List<String> answered = new CopyOnWriteArrayList<>();

  private ChatAgent<?> recorder() {
    return ChatAgent.builder("echo")
        .idleTimeout(Duration.ofSeconds(10))
        .run(
            (turn, out) -> {
              answered.add(turn.message().text());
              out.text("re " + turn.message().text());
            })
        .build();
  }

  @ParameterizedTest(name = "on {0}")
  @EnumSource(Backend.class)
  @DisplayName(
      "a message appended while no run served the session (its appender died before booting one)"
          + " is answered by the sweep, with no further message and no resume")
  void sweepAnswersAnUnservedMessage(Backend backend) {
    Backend.Database db = backend.database();
    try (Backend.Node node = db.node()) {
      DurableChat chat = node.chat();
      chat.createSession(CreateSessionRequest.builder("echo").externalId("c1").build());
      SessionRun first = chat.ensureRun("c1", RunReason.INITIAL).run();
      chat.endRun("c1", first.runId(), "idle");
      long m1 = chat.appendIn("c1", AgentStoresTest.message("u1", "m1"), null).eventId();

      try (AgentRuntime runtime =
          AgentRuntime.builder(chat).leaseDuration(LEASE).register(recorder()).build()) {
        await("m1's turn-complete", () -> acknowledged(chat).contains(m1));
        assertThat(answered).containsExactly("m1");
        assertThat(chat.runs("c1"))
            .extracting(SessionRun::reason)
            .containsExactly(RunReason.INITIAL, RunReason.CONTINUATION);
        assertThat(runtime.runningRunId("c1")).isEqualTo(chat.runs("c1").get(1).runId());
      }
    }
  }

  @Test
  @DisplayName(
      "the sweep pages: 250 sessions whose messages wait with no run (more than two pages of the"
          + " store's answer) are each answered exactly once")
  void sweepPages() {
    var byChat = new java.util.concurrent.ConcurrentHashMap<String, Integer>();
    ChatAgent<?> agent =
        ChatAgent.builder("echo")
            .idleTimeout(Duration.ofMillis(200))
            .run(
                (turn, out) -> {
                  byChat.merge(turn.chatId(), 1, Integer::sum);
                  out.text("re " + turn.message().text());
                })
            .build();
    int sessions = RecoverySweep.BATCH * 2 + 50;
    try (var store = new MemorySessionStore();
        DurableChat chat =
            DurableChat.builder()
                .environment(new Environment("proj", "pages"))
                .sessionStore(store)
                .build()) {
      for (int i = 0; i < sessions; i++) {
        chat.createSession(CreateSessionRequest.builder("echo").externalId("c" + i).build());
        chat.appendIn("c" + i, AgentStoresTest.message("u1", "m"), null);
      }
      try (AgentRuntime runtime =
          AgentRuntime.builder(chat).leaseDuration(LEASE).register(agent).build()) {
        org.awaitility.Awaitility.await("every session answered")
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(20))
            .until(() -> byChat.size() == sessions);
        // A marker after the sweeps that could repeat one: the next message of the first chat.
        assertThat(
                AgentChat.builder(runtime, "echo")
                    .chatId("c0")
                    .build()
                    .sendMessage("again")
                    .text(AgentFixture.WAIT))
            .isEqualTo("re again");
        assertThat(byChat.remove("c0")).isEqualTo(2);
        assertThat(byChat.values()).as("each once").allMatch(n -> n == 1);
      }
    }
  }

  @Test
  @DisplayName(
      "a run whose owner stopped renewing is taken over by the sweep once its lease expired, and"
          + " its unanswered message answered once (S8, S12)")
  void sweepTakesOverADeadRun() {
    try (var f = new AgentFixture(b -> b.leaseDuration(LEASE), recorder())) {
      // A process that dispatched m1 and died: its run was never renewed.
      f.chat.createSession(CreateSessionRequest.builder("echo").externalId("c1").build());
      SessionRun dead = f.chat.ensureRun("c1", RunReason.INITIAL).run();
      long m1 = f.chat.appendIn("c1", AgentStoresTest.message("u1", "m1"), null).eventId();

      await("m1's turn-complete", () -> acknowledged(f.chat).contains(m1));
      List<SessionRun> runs = f.runs("c1");
      assertThat(runs)
          .extracting(SessionRun::reason)
          .containsExactly(RunReason.INITIAL, RunReason.CONTINUATION);
      assertThat(runs.get(0).endReason()).isEqualTo("superseded");
      assertThat(runs.get(1).startedAt()).isAfterOrEqualTo(dead.lastAliveAt().plus(LEASE));
      assertThat(answered).containsExactly("m1");
    }
  }

  @Test
  @DisplayName(
      "a reader connecting to a session whose run is dead triggers the check at once: the run is"
          + " taken over without waiting for the next sweep")
  void readerTriggersTheCheck() {
    var clock = new MovableClock(Instant.parse("2026-01-01T00:00:00Z"));
    Duration lease = Duration.ofMinutes(10); // the sweep comes every 5 minutes: not in this test
    try (var store = new MemorySessionStore();
        DurableChat chat =
            DurableChat.builder()
                .environment(new Environment("proj", "reader"))
                .sessionStore(store)
                .snapshotStore(new MemorySnapshotStore())
                .clock(clock)
                .build()) {
      chat.createSession(CreateSessionRequest.builder("echo").externalId("c1").build());
      SessionRun dead = chat.ensureRun("c1", RunReason.INITIAL).run();
      long m1 = chat.appendIn("c1", AgentStoresTest.message("u1", "m1"), null).eventId();
      try (AgentRuntime runtime =
          AgentRuntime.builder(chat).leaseDuration(lease).register(recorder()).build()) {
        // The run is alive by the clock: the check finds it so and watches its lease (the one
        // per-session entry the runtime then holds), taking nothing over.
        chat.readerConnected(dead.sessionId());
        await("the check to watch the live run", () -> runtime.sessionEntries() == 1);
        assertThat(chat.runs("c1")).hasSize(1);
        assertThat(answered).isEmpty();

        clock.advance(lease.plusSeconds(1));
        chat.readerConnected(dead.sessionId());
        await("m1's turn-complete", () -> acknowledged(chat).contains(m1));
        assertThat(chat.runs("c1"))
            .extracting(SessionRun::reason)
            .containsExactly(RunReason.INITIAL, RunReason.CONTINUATION);
        assertThat(answered).containsExactly("m1");
      }
    }
  }

  @Test
  @DisplayName(
      "a message whose turn always ends its run with an Error is tried exactly maxAttempts times"
          + " (the session's, over the agent's), then answered with an error chunk naming the cause"
          + " and its turn-complete; the next message is answered normally")
  void attemptsAreBounded() {
    var tries = new CopyOnWriteArrayList<String>();
    ChatAgent<?> agent =
        ChatAgent.builder("echo")
            .idleTimeout(Duration.ofSeconds(10))
            .maxAttempts(5)
            .run(
                (turn, out) -> {
                  String text = turn.message().text();
                  if (text.equals("boom")) {
                    tries.add(turn.runId());
                    out.text("about to die");
                    out.flush();
                    throw new StackOverflowError("boom always overflows");
                  }
                  answered.add(text);
                  out.text("re " + text);
                })
            .build();
    try (var f = new AgentFixture(b -> b.leaseDuration(LEASE), agent)) {
      var config = new TriggerConfig(null, 2, List.of(), null, null, JsonObject.empty());
      AgentChat client =
          AgentChat.builder(f.runtime, "echo").chatId("c1").triggerConfig(config).build();
      assertThat(client.sendMessage("m0").text(AgentFixture.WAIT)).isEqualTo("re m0");
      long boom = client.sendMessage("boom").inEventId();

      await("boom's turn-complete", () -> acknowledged(f.chat).contains(boom));
      assertThat(tries).as("exactly maxAttempts tries, each in its own run").hasSize(2);
      assertThat(tries).doesNotHaveDuplicates();
      String error = errorTexts(f.chat).get(0);
      assertThat(error)
          .contains("in record [" + boom + "]")
          .contains("[2] attempts")
          .contains("maxAttempts [2]")
          .contains("superseded");
      List<SessionRun> runs = f.runs("c1");
      assertThat(runs)
          .extracting(SessionRun::reason)
          .containsExactly(RunReason.INITIAL, RunReason.CONTINUATION, RunReason.CONTINUATION);

      assertThat(client.sendMessage("m2").text(AgentFixture.WAIT)).isEqualTo("re m2");
      assertThat(answered).containsExactly("m0", "m2");
      assertThat(tries).hasSize(2);
      assertThat(acknowledged(f.chat)).containsExactly(1L, boom, boom + 1);
    }
  }

  @Test
  @DisplayName(
      "an upgrade hand-over is not an attempt (L4): with maxAttempts 1 the upgrade run answers the"
          + " message it was handed")
  void upgradeIsNotAnAttempt() {
    ChatAgent<?> agent =
        ChatAgent.builder("echo")
            .idleTimeout(Duration.ofSeconds(10))
            .maxAttempts(1)
            .onTurnStart(
                t -> {
                  if (t.runReason() != RunReason.UPGRADE) {
                    t.requestUpgrade();
                  }
                })
            .run((turn, out) -> out.text("answered by " + turn.runReason().wireName()))
            .build();
    try (var f = new AgentFixture(b -> b.leaseDuration(LEASE), agent)) {
      assertThat(f.client("echo", "c1").sendMessage("hi").text(AgentFixture.WAIT))
          .isEqualTo("answered by upgrade");
      assertThat(errorTexts(f.chat)).isEmpty();
    }
  }

  @Test
  @DisplayName(
      "an exception thrown by the turn's code is its answer at once (an error chunk), not retried")
  void exceptionIsTheAnswer() {
    var tries = new CopyOnWriteArrayList<String>();
    ChatAgent<?> agent =
        ChatAgent.builder("echo")
            .idleTimeout(Duration.ofSeconds(10))
            .run(
                (turn, out) -> {
                  tries.add(turn.message().text());
                  throw new IllegalStateException("the model said no");
                })
            .build();
    try (var f = new AgentFixture(b -> b.leaseDuration(LEASE), agent)) {
      var client = f.client("echo", "c1");
      client.sendMessage("m0").records(AgentFixture.WAIT);
      assertThat(errorTexts(f.chat)).containsExactly("the model said no");
      assertThat(tries).containsExactly("m0");
      assertThat(f.runs("c1")).hasSize(1);
    }
  }

  static List<Long> acknowledged(DurableChat chat) {
    var ids = new ArrayList<Long>();
    for (StreamRecord<OutEvent> r : chat.readOut("c1", 0, 100_000)) {
      if (r.event() instanceof OutEvent.TurnComplete tc) {
        ids.add(tc.lastDispatchedInEventId());
      }
    }
    return ids;
  }

  static List<String> errorTexts(DurableChat chat) {
    var texts = new ArrayList<String>();
    for (StreamRecord<OutEvent> r : chat.readOut("c1", 0, 100_000)) {
      if (r.event() instanceof OutEvent.Chunk c && c.chunk().type().equals("error")) {
        texts.add(c.chunk().json().string("errorText").orElse(""));
      }
    }
    return texts;
  }
}
