package dev.durablechat.agent;

import static dev.durablechat.agent.AgentFixture.WAIT;
import static dev.durablechat.agent.AgentFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.Environment;
import dev.durablechat.api.Json;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.Snapshot;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.UIMessage;
import dev.durablechat.core.ChatHistory;
import dev.durablechat.core.DurableChat;
import dev.durablechat.storage.memory.MemorySessionStore;
import dev.durablechat.storage.memory.MemorySnapshotStore;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

@DisplayName("run leases, and history that outlives the run")
class LeaseAndHistoryTest {
  private static final Duration IDLE = Duration.ofMillis(200);
  private static final Duration LEASE = Duration.ofMillis(600);

  private static List<String> texts(List<UIMessage> messages) {
    return messages.stream().map(UIMessage::text).toList();
  }

  private static @Nullable Snapshot snapshot(AgentFixture f, String chatId) {
    var key = new SnapshotKey(f.chat.environment(), f.chat.session(chatId).friendlyId());
    return ChatHistory.readSnapshot(f.snapshots, key).orElse(null);
  }

  private static List<Long> acknowledged(AgentFixture f, String chatId) {
    var ids = new ArrayList<Long>();
    for (StreamRecord<OutEvent> r : f.chat.readOut(chatId, 0, 100_000)) {
      if (r.event() instanceof OutEvent.TurnComplete tc) {
        ids.add(tc.lastDispatchedInEventId());
      }
    }
    return ids;
  }

  @Nested
  @DisplayName("leases")
  class Leases {

    @Test
    @DisplayName(
        "a run whose owner renews its lease is left to it: another runtime only appends, and the"
            + " owner answers, even when the run is older than a lease")
    void aLiveRunIsLeftToItsOwner() {
      var answeredBy = new CopyOnWriteArrayList<String>();
      // The engine's clock moves only when the test moves it: leases are judged by it, so a busy
      // machine that delays a renewal cannot make the live run look dead.
      var clock = new MovableClock(Instant.parse("2026-01-01T00:00:00Z"));
      try (var store = new MemorySessionStore();
          var chat =
              DurableChat.builder()
                  .environment(new Environment("proj", "test"))
                  .sessionStore(store)
                  .snapshotStore(new MemorySnapshotStore())
                  .clock(clock)
                  .build();
          var a =
              AgentRuntime.builder(chat)
                  .leaseDuration(LEASE)
                  .register(recorder("A", answeredBy))
                  .build();
          var b =
              AgentRuntime.builder(chat)
                  .leaseDuration(LEASE)
                  .register(recorder("B", answeredBy))
                  .build()) {
        AgentChat viaA = AgentChat.builder(a, "echo").chatId("c1").build();
        assertThat(viaA.sendMessage("one").text(WAIT)).isEqualTo("re one");
        SessionRun run = chat.runs("c1").get(0);
        // Two leases later: only a renewal since then keeps the run alive.
        clock.advance(LEASE.multipliedBy(2));
        await(
            "the owner's renewal after two leases",
            () -> !chat.runs("c1").get(0).lastAliveAt().isBefore(clock.instant()));
        assertThat(chat.runs("c1").get(0).renewedAt()).isAfter(run.startedAt().plus(LEASE));

        AgentChat viaB = AgentChat.builder(b, "echo").chatId("c1").build();
        assertThat(viaB.sendMessage("two").text(WAIT)).endsWith("re two");
        assertThat(answeredBy).containsExactly("A:one", "A:two");
        assertThat(chat.runs("c1")).hasSize(1);
        assertThat(b.runningRunId("c1")).isNull();
      }
    }

    @Test
    @DisplayName(
        "an owner whose run was superseded learns it at its next renewal: it cancels its turn and"
            + " writes no turn-complete, and the message is answered once by the run that takes"
            + " over after the lease (invariant 6, H4)")
    void aSupersededOwnerStops() {
      var answered = new CopyOnWriteArrayList<String>();
      var cancelled = new AtomicInteger();
      ChatAgent<?> agent =
          ChatAgent.builder("echo")
              .idleTimeout(Duration.ofSeconds(10))
              .run(
                  (turn, out) -> {
                    answered.add(turn.runId() + ":" + turn.message().text());
                    if (answered.size() == 1) {
                      out.text("start ");
                      try {
                        out.pause(Duration.ofSeconds(30));
                      } catch (TurnCancelledException e) {
                        cancelled.incrementAndGet();
                        throw e;
                      }
                    }
                    out.text("re " + turn.message().text());
                  })
              .build();
      try (var f = new AgentFixture(b -> b.leaseDuration(LEASE), agent)) {
        AgentChat chat = f.client("echo", "c1");
        Reply reply = chat.sendMessage("m1");
        // The turn is in its pause once its first text is on out (the pause flushes it).
        await(
            "the first turn to pause",
            () ->
                f.chat.readOut("c1", 0, 100).stream()
                    .anyMatch(r -> r.event().toString().contains("start ")));
        String owner = f.runs("c1").get(0).runId();
        // Another node's takeover, as the store sees it: a manual swap away from the owner. The
        // owner writes nothing meanwhile, so only its next lease renewal can tell it.
        f.chat.endAndContinue("c1", owner, RunReason.MANUAL);
        await("the owner to stop", () -> cancelled.get() == 1);
        await("the owner's loop to retire", () -> f.runtime.runningRunId("c1") == null);

        f.runtime.resume("c1");
        assertThat(reply.text(WAIT)).endsWith("re m1");
        assertThat(answered).hasSize(2);
        assertThat(answered.get(0)).isEqualTo(owner + ":m1");
        List<SessionRun> runs = f.runs("c1");
        assertThat(runs)
            .extracting(SessionRun::reason)
            .containsExactly(RunReason.INITIAL, RunReason.MANUAL, RunReason.CONTINUATION);
        assertThat(answered.get(1)).isEqualTo(runs.get(2).runId() + ":m1");
        assertThat(acknowledged(f, "c1")).as("m1 acknowledged once").containsExactly(1L);
      }
    }

    private ChatAgent<?> recorder(String node, List<String> answeredBy) {
      return ChatAgent.builder("echo")
          .idleTimeout(Duration.ofSeconds(10))
          .run(
              (turn, out) -> {
                answeredBy.add(node + ":" + turn.message().text());
                out.text("re " + turn.message().text());
              })
          .build();
    }
  }

  @Nested
  @DisplayName("history")
  class History {

    @Test
    @DisplayName(
        "onChatStart fires once per chat even when an action came first, and never again on a"
            + " continuation or in a new runtime (L2)")
    void chatStartAfterAnAction() {
      var chatStarts = new CopyOnWriteArrayList<String>();
      ChatAgent<?> agent =
          ChatAgent.builder("act")
              .idleTimeout(IDLE)
              .onChatStart(t -> chatStarts.add(t.message().text()))
              .onAction((turn, out) -> out.text("did " + turn.action()))
              .run((turn, out) -> out.text("re " + turn.message().text()))
              .build();
      try (var f = new AgentFixture(agent)) {
        AgentChat chat = f.client("act", "c1");
        chat.sendAction(Json.parse("{\"type\":\"warm-up\"}")).text(WAIT);
        assertThat(chat.sendMessage("first").text(WAIT)).endsWith("re first");
        await("the idle end", () -> !f.runs("c1").get(0).isRunning());
        assertThat(chat.sendMessage("second").text(WAIT)).isEqualTo("re second");
        f.runtime.close();
        try (var again = AgentRuntime.builder(f.chat).register(agent).build()) {
          AgentChat.builder(again, "act").chatId("c1").build().sendMessage("third").text(WAIT);
        }
        assertThat(chatStarts).containsExactly("first");
        // At least the first run, the continuation after the idle end and the new runtime's; a
        // busy machine may idle a run out between two sends too, which only adds continuations.
        List<SessionRun> runs = f.runs("c1");
        assertThat(runs).hasSizeGreaterThanOrEqualTo(3);
        assertThat(runs.subList(1, runs.size()))
            .extracting(SessionRun::reason)
            .containsOnly(RunReason.CONTINUATION);
      }
    }

    @Test
    @DisplayName(
        "an action's history change survives the run's idle end: the continuation sees it (L6:"
            + " no snapshot per action, one when the run ends)")
    void actionChangesSurviveAContinuation() {
      var seen = new CopyOnWriteArrayList<List<String>>();
      var fixture = new AtomicReference<AgentFixture>();
      // The snapshot as each idle end finds it, before the end writes the actions' changes.
      var atSuspend = new CopyOnWriteArrayList<List<String>>();
      ChatAgent<?> agent =
          ChatAgent.builder("act")
              .idleTimeout(IDLE)
              .onAction(
                  (turn, out) -> {
                    List<UIMessage> m = turn.messages();
                    turn.setMessages(m.subList(0, m.size() - 2)); // undo the last exchange
                  })
              .onChatSuspend(
                  boot -> {
                    Snapshot s = snapshot(fixture.get(), "c1");
                    atSuspend.add(s == null ? List.of() : texts(s.messages()));
                  })
              .run(
                  (turn, out) -> {
                    seen.add(texts(turn.messages()));
                    out.text("re " + turn.message().text());
                  })
              .build();
      try (var f = new AgentFixture(agent)) {
        fixture.set(f);
        AgentChat chat = f.client("act", "c1");
        chat.sendMessage("a").text(WAIT);
        chat.sendMessage("b").text(WAIT);
        chat.sendAction(Json.parse("{\"type\":\"undo\"}")).records(WAIT);
        await("the idle end", () -> f.runs("c1").stream().noneMatch(SessionRun::isRunning));
        assertThat(atSuspend.get(atSuspend.size() - 1))
            .as("no snapshot for the action itself")
            .containsExactly("a", "re a", "b", "re b");
        assertThat(texts(snapshot(f, "c1").messages()))
            .as("the idle end's snapshot")
            .containsExactly("a", "re a");

        chat.sendMessage("c").text(WAIT);
        assertThat(f.runs("c1").get(1).reason()).isEqualTo(RunReason.CONTINUATION);
        assertThat(seen.get(2)).containsExactly("a", "re a", "c");
      }
    }

    @Test
    @DisplayName(
        "history changes made in onTurnComplete are in that turn's snapshot (L2: turn-complete"
            + " → onTurnComplete → snapshot) and so in a continuation's history")
    void turnCompleteChangesAreSnapshotted() {
      var seen = new CopyOnWriteArrayList<List<String>>();
      ChatAgent<?> agent =
          ChatAgent.builder("note")
              .idleTimeout(IDLE)
              .run(
                  (turn, out) -> {
                    seen.add(texts(turn.messages()));
                    out.text("re " + turn.message().text());
                  })
              .onTurnComplete(
                  t -> {
                    var m = new ArrayList<>(t.messages());
                    m.add(UIMessage.userText("note-" + m.size(), "noted " + m.size()));
                    t.setMessages(m);
                  })
              .build();
      try (var f = new AgentFixture(agent)) {
        AgentChat chat = f.client("note", "c1");
        Reply reply = chat.sendMessage("a");
        reply.text(WAIT);
        await(
            "the snapshot of the turn",
            () -> {
              Snapshot s = snapshot(f, "c1");
              return s != null && s.lastOutEventId() == reply.lastEventId();
            });
        assertThat(texts(snapshot(f, "c1").messages())).containsExactly("a", "re a", "noted 2");
        await("the idle end", () -> !f.runs("c1").get(0).isRunning());
        chat.sendMessage("b").text(WAIT);
        assertThat(seen.get(1)).containsExactly("a", "re a", "noted 2", "b");
      }
    }
  }
}
