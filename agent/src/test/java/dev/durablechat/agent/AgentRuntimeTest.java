package dev.durablechat.agent;

import static dev.durablechat.agent.AgentFixture.WAIT;
import static dev.durablechat.agent.AgentFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.InEvent;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.SessionClosedException;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("the agent runtime and the server-side chat client")
class AgentRuntimeTest {
  private static final Duration IDLE = Duration.ofMillis(200);
  // Tests that are not about idling keep runs alive however slow the machine: no test waits for
  // it (closing the runtime ends the runs), so it may be far beyond any scheduling delay.
  private static final Duration LONG_IDLE = Duration.ofMinutes(5);
  // A short lease for the tests of dead runs, so that their takeover comes soon.
  private static final Duration LEASE = Duration.ofMillis(500);

  /** Echoes the user's text through a scripted model with a tool call. */
  private static ChatAgent.Builder<dev.durablechat.api.JsonValue> echo(String id, Duration delay) {
    return ChatAgent.builder(id)
        .idleTimeout(LONG_IDLE)
        .run(
            (turn, out) ->
                ScriptedModel.builder()
                    .reasoning("echo it")
                    .toolCall(
                        "lookup",
                        JsonObject.builder().put("q", lastUserText(turn)).build(),
                        JsonObject.builder().put("hits", 1).build())
                    .text("you said " + lastUserText(turn))
                    .chunkDelay(delay)
                    .build()
                    .play(out));
  }

  private static String lastUserText(TurnContext<?> turn) {
    List<UIMessage> messages = turn.messages();
    for (int i = messages.size() - 1; i >= 0; i--) {
      if (messages.get(i).role().equals("user")) {
        return messages.get(i).text();
      }
    }
    return "";
  }

  @Test
  @DisplayName(
      "a message gets a streamed reply that ends on its own turn-complete (W6, W8), with"
          + " the hooks in L2 order")
  void sendAndReply() {
    var calls = new CopyOnWriteArrayList<String>();
    ChatAgent<?> agent =
        echo("echo", Duration.ZERO)
            .onBoot(b -> calls.add("boot:" + b.reason().wireName()))
            .onValidateMessages(t -> calls.add("validate"))
            .onChatStart(t -> calls.add("chatStart"))
            .onTurnStart(t -> calls.add("turnStart"))
            .onBeforeTurnComplete(t -> calls.add("beforeTurnComplete"))
            .onTurnComplete(t -> calls.add("turnComplete:" + t.messages().size()))
            .build();
    try (var f = new AgentFixture(agent)) {
      AgentChat chat = f.client("echo", "c1");
      Reply reply = chat.sendMessage("hello");
      List<StreamRecord<OutEvent>> records = reply.records(WAIT);
      assertThat(reply.isComplete()).isTrue();
      assertThat(records.get(records.size() - 1).event())
          .isEqualTo(new OutEvent.TurnComplete(reply.inEventId()));
      assertThat(ChunkFoldText.of(records)).isEqualTo("you said hello");
      await("onTurnComplete", () -> calls.size() == 6);
      assertThat(calls)
          .containsExactly(
              "boot:initial",
              "validate",
              "chatStart",
              "turnStart",
              "beforeTurnComplete",
              "turnComplete:2");
      assertThat(f.runs("c1")).extracting(SessionRun::reason).containsExactly(RunReason.INITIAL);
    }
  }

  @Test
  @DisplayName(
      "a reader that reconnects mid-reply from its last event id gets the rest, nothing"
          + " missing or repeated (W7)")
  void reconnectMidReply() {
    try (var f = new AgentFixture(echo("echo", Duration.ofMillis(3)).build())) {
      AgentChat chat = f.client("echo", "c1");
      Reply first = chat.sendMessage("one two three four five six seven eight nine ten");
      var seen = new ArrayList<Long>();
      for (int i = 0; i < 4; i++) {
        seen.add(first.next(WAIT).orElseThrow().eventId());
      }
      long bookmark = first.lastEventId();
      first.close();
      Reply resumed = chat.reconnect(bookmark);
      List<StreamRecord<OutEvent>> rest = resumed.records(WAIT);
      rest.forEach(r -> seen.add(r.eventId()));
      List<Long> all = f.chat.readOut("c1", 0, 10_000).stream().map(StreamRecord::eventId).toList();
      assertThat(seen).isEqualTo(all);
      assertThat(rest.get(0).eventId()).isEqualTo(bookmark + 1);
      assertThat(rest.get(rest.size() - 1).event()).isInstanceOf(OutEvent.TurnComplete.class);
    }
  }

  @Test
  @DisplayName(
      "eager preload creates the session and a preload run that boots before any message"
          + " (L1), and that run answers the first message")
  void eagerPreload() {
    var boots = new CopyOnWriteArrayList<String>();
    ChatAgent<?> agent =
        echo("echo", Duration.ZERO)
            .onBoot(b -> boots.add("boot:" + b.reason().wireName()))
            .onPreload(b -> boots.add("preload"))
            .build();
    try (var f = new AgentFixture(agent)) {
      AgentChat chat = f.client("echo", "c1");
      StartedSession started = chat.preload();
      assertThat(started.created()).isTrue();
      assertThat(f.runs("c1"))
          .singleElement()
          .satisfies(r -> assertThat(r.reason()).isEqualTo(RunReason.PRELOAD));
      await("the preloaded boot", () -> boots.size() == 2);
      assertThat(boots).containsExactly("boot:preload", "preload");
      assertThat(f.chat.lastEventId("c1", dev.durablechat.api.StreamKind.IN)).isZero();
      assertThat(chat.sendMessage("hi").text(WAIT)).isEqualTo("you said hi");
      assertThat(f.runs("c1")).extracting(SessionRun::runId).containsExactly(started.runId());
    }
  }

  @Test
  @DisplayName(
      "after the idle timeout the run suspends and ends (L3); the next message boots a"
          + " continuation run on the same session with the history intact (S7, H2); onChatStart"
          + " fires once while onBoot fires on every boot")
  void idleContinuation() {
    var boots = new CopyOnWriteArrayList<String>();
    var chatStarts = new AtomicInteger();
    var suspends = new AtomicInteger();
    var resumes = new AtomicInteger();
    var historySeen = new CopyOnWriteArrayList<List<String>>();
    ChatLocal<String> user = ChatLocal.of("user");
    ChatAgent<?> agent =
        echo("echo", Duration.ZERO)
            .idleTimeout(IDLE)
            .onBoot(
                b -> {
                  boots.add(b.reason().wireName());
                  user.init("ada@" + b.runId());
                })
            .onChatStart(t -> chatStarts.incrementAndGet())
            .onChatSuspend(b -> suspends.incrementAndGet())
            .onChatResume(b -> resumes.incrementAndGet())
            .onTurnStart(
                t -> {
                  assertThat(user.get()).isEqualTo("ada@" + t.runId());
                  historySeen.add(t.messages().stream().map(UIMessage::text).toList());
                })
            .build();
    try (var f = new AgentFixture(agent)) {
      AgentChat chat = f.client("echo", "c1");
      assertThat(chat.sendMessage("first").text(WAIT)).isEqualTo("you said first");
      await("the idle end", () -> !f.runs("c1").get(0).isRunning());
      SessionRun ended = f.runs("c1").get(0);
      assertThat(ended.endReason()).isEqualTo("idle");
      assertThat(suspends.get()).isEqualTo(1);
      // H1: the turn left a snapshot, which the continuation rebuilds from (plus the out tail).
      assertThat(
              f.snapshots.read(
                  new SnapshotKey(f.chat.environment(), f.chat.session("c1").friendlyId())))
          .isPresent();

      assertThat(chat.sendMessage("second").text(WAIT)).isEqualTo("you said second");
      List<SessionRun> runs = f.runs("c1");
      assertThat(runs).hasSize(2);
      assertThat(runs.get(1).reason()).isEqualTo(RunReason.CONTINUATION);
      assertThat(runs.get(1).previousRunId()).isEqualTo(ended.runId());
      assertThat(historySeen.get(1)).containsExactly("first", "you said first", "second");
      await("a third boot", () -> !f.runs("c1").get(1).isRunning());
      assertThat(chat.sendMessage("third").text(WAIT)).isEqualTo("you said third");
      assertThat(boots).containsExactly("initial", "continuation", "continuation");
      assertThat(chatStarts.get()).isEqualTo(1);
      assertThat(resumes.get()).isEqualTo(2);
    }
  }

  @Test
  @DisplayName(
      "32 turns with tool calls keep every in append body under 5 KB (W3: one message per"
          + " append, never the history) while the run sees the whole history")
  void manyTurnsSmallBodies() {
    var sizes = new CopyOnWriteArrayList<Integer>();
    ChatAgent<?> agent =
        echo("echo", Duration.ZERO).onTurnStart(t -> sizes.add(t.messages().size())).build();
    try (var f = new AgentFixture(agent)) {
      AgentChat chat = f.client("echo", "c1");
      for (int turn = 1; turn <= 32; turn++) {
        String text = "turn " + turn + " " + "lorem ipsum ".repeat(20);
        assertThat(chat.sendMessage(text).text(WAIT)).isEqualTo("you said " + text);
      }
      List<StreamRecord<InEvent>> in = f.chat.readIn("c1", 0, 1000);
      assertThat(in).hasSize(32);
      for (StreamRecord<InEvent> r : in) {
        int bytes = r.event().toJson().toString().getBytes(StandardCharsets.UTF_8).length;
        assertThat(bytes).as("in record %d", r.eventId()).isLessThan(5 * 1024);
      }
      assertThat(sizes).hasSize(32);
      assertThat(sizes.get(31)).isEqualTo(63);
      List<UIMessage> assistant =
          dev.durablechat.core.ChatHistory.of(f.chat).rebuild("c1").messages().stream()
              .filter(m -> m.role().equals("assistant"))
              .toList();
      assertThat(assistant).hasSize(32);
      assertThat(assistant.get(31).parts())
          .anySatisfy(p -> assertThat(p.string("state")).contains("output-available"));
    }
  }

  @Test
  @DisplayName(
      "a chat local read before onBoot initialised it fails the turn with a clear error"
          + " (L8), and the reply still ends")
  void localBeforeInit() {
    ChatLocal<String> user = ChatLocal.of("userContext");
    ChatAgent<?> agent =
        ChatAgent.builder("bad")
            .idleTimeout(LONG_IDLE)
            .run((turn, out) -> out.text("hello " + user.get()))
            .build();
    try (var f = new AgentFixture(agent)) {
      List<UIMessageChunk> chunks = f.client("bad", "c1").sendMessage("hi").chunks(WAIT);
      assertThat(chunks)
          .filteredOn(c -> c.type().equals("error"))
          .singleElement()
          .satisfies(
              c ->
                  assertThat(c.json().string("errorText").orElseThrow())
                      .contains("chat local [userContext] used before initialization")
                      .contains("initialize it in onBoot"));
    }
  }

  @Test
  @DisplayName(
      "requestUpgrade in onTurnStart skips run, writes upgrade-required and hands over to"
          + " a run with reason upgrade, which answers the message from in (L4)")
  void upgrade() {
    var runsCalled = new CopyOnWriteArrayList<String>();
    var chatStarts = new AtomicInteger();
    ChatAgent<?> agent =
        ChatAgent.builder("up")
            .idleTimeout(LONG_IDLE)
            .onChatStart(t -> chatStarts.incrementAndGet())
            .onTurnStart(
                t -> {
                  if (t.runReason() != RunReason.UPGRADE) {
                    t.requestUpgrade();
                  }
                })
            .run(
                (turn, out) -> {
                  runsCalled.add(turn.runId());
                  out.text("answered by " + turn.runReason().wireName());
                })
            .build();
    try (var f = new AgentFixture(agent)) {
      Reply reply = f.client("up", "c1").sendMessage("hi");
      List<StreamRecord<OutEvent>> records = reply.records(WAIT);
      assertThat(records.get(0).event()).isInstanceOf(OutEvent.UpgradeRequired.class);
      assertThat(ChunkFoldText.of(records)).isEqualTo("answered by upgrade");
      List<SessionRun> runs = f.runs("c1");
      assertThat(runs)
          .extracting(SessionRun::reason)
          .containsExactly(RunReason.INITIAL, RunReason.UPGRADE);
      assertThat(runs.get(0).isRunning()).isFalse();
      assertThat(runsCalled).containsExactly(runs.get(1).runId());
      assertThat(records).filteredOn(r -> r.event() instanceof OutEvent.TurnComplete).hasSize(1);
      assertThat(chatStarts.get()).isEqualTo(1);
    }
  }

  @Test
  @DisplayName(
      "stop mid-reply aborts the generation and keeps a clean partial (L7, H4) that the"
          + " next turn sees in its history")
  void stopMidReply() {
    var nextHistory = new CopyOnWriteArrayList<UIMessage>();
    ChatAgent<?> agent =
        ChatAgent.builder("slow")
            .idleTimeout(Duration.ofSeconds(5))
            .onTurnStart(t -> nextHistory.addAll(t.messages()))
            .run(
                (turn, out) -> {
                  if (turn.message() != null && turn.message().text().equals("again")) {
                    out.text("done");
                    return;
                  }
                  ScriptedModel.builder()
                      .text("word ".repeat(500))
                      .toolCall("never", JsonObject.empty(), JsonObject.empty())
                      .chunkDelay(Duration.ofMillis(5))
                      .build()
                      .play(out);
                })
            .build();
    try (var f = new AgentFixture(agent)) {
      AgentChat chat = f.client("slow", "c1");
      Reply reply = chat.sendMessage("go");
      int deltas = 0;
      while (deltas < 3) {
        StreamRecord<OutEvent> r = reply.next(WAIT).orElseThrow();
        if (r.event() instanceof OutEvent.Chunk c && c.chunk().type().equals("text-delta")) {
          deltas++;
        }
      }
      chat.stop();
      List<UIMessageChunk> rest = reply.chunks(WAIT);
      assertThat(rest).extracting(UIMessageChunk::type).contains("abort").doesNotContain("finish");
      List<UIMessage> folded = reply.messages(WAIT);
      assertThat(folded)
          .singleElement()
          .satisfies(
              m -> {
                assertThat(m.text()).startsWith("word word word ");
                assertThat(m.text().length()).isLessThan("word ".repeat(500).length());
                assertThat(m.parts())
                    .allSatisfy(p -> assertThat(p.string("state")).contains("done"));
              });

      nextHistory.clear();
      assertThat(chat.sendMessage("again").text(WAIT)).isEqualTo("done");
      assertThat(nextHistory)
          .extracting(UIMessage::role)
          .containsExactly("user", "assistant", "user");
      assertThat(nextHistory.get(1)).isEqualTo(folded.get(0));
    }
  }

  @Test
  @DisplayName("close ends the run and closes the session; a later message is refused")
  void close() {
    try (var f = new AgentFixture(echo("echo", Duration.ZERO).build())) {
      AgentChat chat = f.client("echo", "c1");
      assertThat(chat.sendMessage("hi").text(WAIT)).isEqualTo("you said hi");
      chat.close();
      // The loop closes the session, then ends its run.
      await("the session to close", () -> f.chat.session("c1").closedAt() != null);
      await("the run to end", () -> !f.runs("c1").get(0).isRunning());
      assertThat(f.runs("c1"))
          .singleElement()
          .satisfies(
              r -> {
                assertThat(r.isRunning()).isFalse();
                assertThat(r.endReason()).isEqualTo("closed");
              });
      assertThatThrownBy(() -> chat.sendMessage("again"))
          .isInstanceOf(SessionClosedException.class);
    }
  }

  @Test
  @DisplayName(
      "actions are not turns: onAction changes the history and may reply, a turn-complete"
          + " ends it, and no turn hook or run fires (L6, L10)")
  void actionsAreNotTurns() {
    var turnStarts = new AtomicInteger();
    var runs = new AtomicInteger();
    var historyAtRun = new CopyOnWriteArrayList<List<String>>();
    ChatAgent<?> agent =
        ChatAgent.builder("act")
            .idleTimeout(Duration.ofSeconds(5))
            .onTurnStart(t -> turnStarts.incrementAndGet())
            .onAction(
                (turn, out) -> {
                  // "undo": drop the last exchange
                  List<UIMessage> m = turn.messages();
                  turn.setMessages(m.subList(0, m.size() - 2));
                  out.text("undone " + turn.action());
                })
            .run(
                (turn, out) -> {
                  runs.incrementAndGet();
                  historyAtRun.add(turn.messages().stream().map(UIMessage::text).toList());
                  out.text("re: " + turn.message().text());
                })
            .build();
    try (var f = new AgentFixture(agent)) {
      AgentChat chat = f.client("act", "c1");
      chat.sendMessage("a").text(WAIT);
      chat.sendMessage("b").text(WAIT);
      Reply action = chat.sendAction(Json.parse("{\"type\":\"undo\"}"));
      List<StreamRecord<OutEvent>> records = action.records(WAIT);
      assertThat(ChunkFoldText.of(records)).isEqualTo("undone {\"type\":\"undo\"}");
      assertThat(turnStarts.get()).isEqualTo(2);
      assertThat(runs.get()).isEqualTo(2);
      chat.sendMessage("c").text(WAIT);
      assertThat(historyAtRun.get(2))
          .containsExactly("a", "re: a", "undone {\"type\":\"undo\"}", "c");
    }
  }

  @Test
  @DisplayName(
      "messages that arrive mid-turn queue and run as later turns in arrival order (L5);"
          + " each reply ends on its own turn-complete (W8)")
  void midTurnMessagesQueue() {
    var order = Collections.synchronizedList(new ArrayList<String>());
    try (var f =
        new AgentFixture(
            echo("echo", Duration.ofMillis(2))
                .onTurnStart(t -> order.add(t.message().text()))
                .build())) {
      AgentChat chat = f.client("echo", "c1");
      Reply r1 = chat.sendMessage("m1");
      Reply r2 = chat.sendMessage("m2");
      Reply r3 = chat.sendMessage("m3");
      assertThat(r3.text(WAIT)).endsWith("you said m3");
      assertThat(r1.text(WAIT)).isEqualTo("you said m1");
      assertThat(r2.text(WAIT)).endsWith("you said m2").doesNotContain("m3");
      assertThat(order).containsExactly("m1", "m2", "m3");
    }
  }

  @Test
  @DisplayName(
      "with retention on, 32 turns trim out to about one turn (H5) and a continuation"
          + " still rebuilds the whole history from the snapshot")
  void retentionKeepsHistory() {
    var historySizes = new CopyOnWriteArrayList<Integer>();
    ChatAgent<?> agent =
        echo("echo", Duration.ZERO)
            .idleTimeout(IDLE)
            .onTurnStart(t -> historySizes.add(t.messages().size()))
            .build();
    try (var f = new AgentFixture(b -> b.retention(true), agent)) {
      AgentChat chat = f.client("echo", "c1");
      for (int turn = 1; turn <= 32; turn++) {
        chat.sendMessage("t" + turn).text(WAIT);
      }
      long lastOut = f.chat.lastEventId("c1", dev.durablechat.api.StreamKind.OUT);
      assertThat(f.chat.readOut("c1", 0, 10_000).size()).isLessThan((int) lastOut / 10);
      await("the idle end", () -> !f.runs("c1").get(0).isRunning());
      assertThat(chat.sendMessage("after").text(WAIT)).isEqualTo("you said after");
      assertThat(f.runs("c1").get(1).reason()).isEqualTo(RunReason.CONTINUATION);
      assertThat(historySizes.get(32)).isEqualTo(65);
    }
  }

  @Test
  @DisplayName("deferred work is awaited before onTurnComplete (L9)")
  void deferredWork() throws Exception {
    var order = new CopyOnWriteArrayList<String>();
    var release = new java.util.concurrent.CountDownLatch(1);
    var executor = java.util.concurrent.Executors.newSingleThreadExecutor();
    ChatAgent<?> agent =
        ChatAgent.builder("defer")
            .idleTimeout(Duration.ofSeconds(5))
            // Far beyond the test: the turn waits for the work, not for the timeout.
            .deferTimeout(Duration.ofMinutes(5))
            .run(
                (turn, out) -> {
                  turn.defer(
                      java.util.concurrent.CompletableFuture.runAsync(
                          () -> {
                            try {
                              // The deferred work goes on until the test lets it finish.
                              release.await();
                            } catch (InterruptedException e) {
                              Thread.currentThread().interrupt();
                            }
                            order.add("deferred");
                          },
                          executor));
                  out.text("ok");
                })
            .onTurnComplete(t -> order.add("turnComplete"))
            .build();
    try (var f = new AgentFixture(agent)) {
      // The reply ends on the turn-complete record, which is written before the deferred work
      // is awaited: onTurnComplete is now waiting for the work the test still holds up.
      f.client("defer", "c1").sendMessage("hi").text(WAIT);
      assertThat(order).as("before the deferred work finished").isEmpty();
      release.countDown();
      await("onTurnComplete", () -> order.contains("turnComplete"));
      assertThat(order).containsExactly("deferred", "turnComplete");
    } finally {
      executor.shutdownNow();
    }
  }

  @Test
  @DisplayName(
      "concurrent first messages start exactly one run, which answers them all in order"
          + " (S7: one run executes a session at a time)")
  void oneRunPerSession() throws Exception {
    var running = new AtomicInteger();
    var maxRunning = new AtomicInteger();
    ChatAgent<?> agent =
        ChatAgent.builder("one")
            .idleTimeout(LONG_IDLE)
            .run(
                (turn, out) -> {
                  maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
                  out.pause(Duration.ofMillis(2));
                  out.text("ok");
                  running.decrementAndGet();
                })
            .build();
    try (var f = new AgentFixture(agent)) {
      var pool = java.util.concurrent.Executors.newFixedThreadPool(8);
      try {
        var replies = new ArrayList<java.util.concurrent.Future<Reply>>();
        for (int i = 0; i < 8; i++) {
          AgentChat chat = f.client("one", "c1");
          int n = i;
          replies.add(pool.submit(() -> chat.sendMessage("m" + n)));
        }
        for (var r : replies) {
          assertThat(r.get().text(WAIT)).endsWith("ok");
        }
      } finally {
        pool.shutdownNow();
      }
      assertThat(f.runs("c1")).hasSize(1);
      assertThat(maxRunning.get()).isEqualTo(1);
    }
  }

  @Test
  @DisplayName(
      "closing the runtime ends its runs with reason shutdown; the next message on a new"
          + " runtime boots a continuation")
  void runtimeClose() {
    ChatAgent<?> agent = echo("echo", Duration.ZERO).idleTimeout(Duration.ofSeconds(30)).build();
    var f = new AgentFixture(agent);
    try {
      f.client("echo", "c1").sendMessage("hi").text(WAIT);
      f.runtime.close();
      assertThat(f.runs("c1"))
          .singleElement()
          .satisfies(
              r -> {
                assertThat(r.isRunning()).isFalse();
                assertThat(r.endReason()).isEqualTo("shutdown");
              });
      try (var second = AgentRuntime.builder(f.chat).register(agent).build()) {
        String text =
            AgentChat.builder(second, "echo").chatId("c1").build().sendMessage("again").text(WAIT);
        assertThat(text).isEqualTo("you said again");
        assertThat(f.runs("c1"))
            .extracting(SessionRun::reason)
            .containsExactly(RunReason.INITIAL, RunReason.CONTINUATION);
      }
    } finally {
      f.close();
    }
  }

  @Test
  @DisplayName(
      "a run left mid-turn by a dead process is taken over once its lease expired by a"
          + " continuation run that cleans the partial reply (H4) and answers the unanswered"
          + " messages in order, each once")
  void takesOverADeadRun() {
    var answered = new CopyOnWriteArrayList<String>();
    var historyAtFirst = new CopyOnWriteArrayList<List<String>>();
    ChatAgent<?> agent =
        ChatAgent.builder("echo")
            .idleTimeout(Duration.ofSeconds(5))
            .run(
                (turn, out) -> {
                  if (historyAtFirst.isEmpty()) {
                    historyAtFirst.add(
                        turn.messages().stream().map(m -> m.role() + ":" + m.text()).toList());
                  }
                  answered.add(turn.message().text());
                  out.text("re " + turn.message().text());
                })
            .build();
    try (var f = new AgentFixture(b -> b.leaseDuration(LEASE), agent)) {
      // The dead process: a run that dispatched m1, wrote half a reply, and never finished.
      f.chat.createSession(
          dev.durablechat.core.CreateSessionRequest.builder("echo").externalId("c1").build());
      String dead = f.chat.ensureRun("c1", RunReason.INITIAL).run().runId();
      f.chat.appendIn(
          "c1",
          new InEvent.Message(
              dev.durablechat.api.WirePayload.submit("c1", UIMessage.userText("u1", "m1"))),
          null);
      f.chat.appendOut(
          "c1",
          dead,
          List.of(
              chunk("{\"type\":\"start\",\"messageId\":\"a1\"}"),
              chunk("{\"type\":\"text-start\",\"id\":\"t\"}"),
              chunk("{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"half\"}"),
              chunk("{\"type\":\"tool-input-start\",\"toolCallId\":\"c\",\"toolName\":\"x\"}")));

      Reply reply = f.client("echo", "c1").sendMessage("m2");
      assertThat(reply.text(WAIT)).contains("re m1").endsWith("re m2");
      assertThat(answered).containsExactly("m1", "m2");
      List<SessionRun> runs = f.runs("c1");
      assertThat(runs)
          .extracting(SessionRun::reason)
          .containsExactly(RunReason.INITIAL, RunReason.CONTINUATION);
      assertThat(runs.get(0).isRunning()).isFalse();
      assertThat(runs.get(0).endReason()).isEqualTo("superseded");
      assertThat(runs.get(1).startedAt())
          .as("taken over only once the dead run's lease expired")
          .isAfterOrEqualTo(runs.get(0).lastAliveAt().plus(LEASE));
      assertThat(historyAtFirst.get(0)).containsExactly("user:m1", "assistant:half");
    }
  }

  private static OutEvent chunk(String json) {
    return OutEvent.Chunk.of(UIMessageChunk.parse(json));
  }

  @Test
  @DisplayName("regenerate drops the trailing assistant message and answers again (H6)")
  void regenerate() {
    var seen = new CopyOnWriteArrayList<List<String>>();
    var count = new AtomicInteger();
    ChatAgent<?> agent =
        ChatAgent.builder("regen")
            .idleTimeout(LONG_IDLE)
            .run(
                (turn, out) -> {
                  seen.add(turn.messages().stream().map(UIMessage::text).toList());
                  out.text("answer " + count.incrementAndGet());
                })
            .build();
    try (var f = new AgentFixture(agent)) {
      AgentChat chat = f.client("regen", "c1");
      assertThat(chat.sendMessage("q").text(WAIT)).isEqualTo("answer 1");
      assertThat(chat.regenerate().text(WAIT)).isEqualTo("answer 2");
      assertThat(chat.sendMessage("next").text(WAIT)).isEqualTo("answer 3");
      assertThat(seen.get(1)).containsExactly("q");
      assertThat(seen.get(2)).containsExactly("q", "answer 2", "next");
    }
  }

  @Test
  @DisplayName(
      "with hydrateMessages the application gives the history and no snapshot is written" + " (H7)")
  void hydrateMessages() {
    var appHistory = new CopyOnWriteArrayList<UIMessage>();
    appHistory.add(UIMessage.userText("old", "from the app's database"));
    var seen = new CopyOnWriteArrayList<List<String>>();
    ChatAgent<?> agent =
        ChatAgent.builder("hyd")
            .idleTimeout(LONG_IDLE)
            .hydrateMessages(
                turn -> {
                  var all = new ArrayList<>(appHistory);
                  all.add(turn.message());
                  return all;
                })
            .run(
                (turn, out) -> {
                  seen.add(turn.messages().stream().map(UIMessage::text).toList());
                  out.text("ok");
                })
            .build();
    try (var f = new AgentFixture(agent)) {
      assertThat(f.client("hyd", "c1").sendMessage("new").text(WAIT)).isEqualTo("ok");
      assertThat(seen.get(0)).containsExactly("from the app's database", "new");
      assertThat(
              f.snapshots.read(
                  new SnapshotKey(f.chat.environment(), f.chat.session("c1").friendlyId())))
          .isEmpty();
    }
  }

  @Test
  @DisplayName(
      "compaction replaces the history on the server after a turn (L10), and a"
          + " continuation rebuilds the compacted history from the snapshot")
  void compaction() {
    var seen = new CopyOnWriteArrayList<List<String>>();
    ChatAgent<?> agent =
        echo("echo", Duration.ZERO)
            .idleTimeout(IDLE)
            .onTurnStart(t -> seen.add(t.messages().stream().map(UIMessage::text).toList()))
            .compaction(
                new ChatAgent.Compaction<>() {
                  @Override
                  public boolean shouldCompact(
                      TurnContext<dev.durablechat.api.JsonValue> turn, List<UIMessage> messages) {
                    return messages.size() > 4;
                  }

                  @Override
                  public List<UIMessage> summarize(
                      TurnContext<dev.durablechat.api.JsonValue> turn, List<UIMessage> messages) {
                    var kept = new ArrayList<UIMessage>();
                    kept.add(
                        UIMessage.of(
                            "summary-" + turn.inEventId(),
                            "system",
                            List.of(
                                JsonObject.builder()
                                    .put("type", "text")
                                    .put("text", "summary of " + (messages.size() - 2))
                                    .build())));
                    kept.addAll(messages.subList(messages.size() - 2, messages.size()));
                    return kept;
                  }
                })
            .build();
    try (var f = new AgentFixture(agent)) {
      AgentChat chat = f.client("echo", "c1");
      chat.sendMessage("a").text(WAIT);
      chat.sendMessage("b").text(WAIT);
      chat.sendMessage("c").text(WAIT);
      assertThat(seen.get(2)).containsExactly("a", "you said a", "b", "you said b", "c");
      await("the idle end", () -> !f.runs("c1").get(0).isRunning());
      chat.sendMessage("d").text(WAIT);
      assertThat(f.runs("c1").get(1).reason()).isEqualTo(RunReason.CONTINUATION);
      assertThat(seen.get(3)).containsExactly("summary of 4", "c", "you said c", "d");
    }
  }

  @Test
  @DisplayName(
      "a stop also stops the messages queued before it: their turns complete without"
          + " running (L7), and the next message runs normally")
  void stopReachesQueuedTurns() {
    var ran = new CopyOnWriteArrayList<String>();
    ChatAgent<?> agent =
        ChatAgent.builder("slow")
            .idleTimeout(LONG_IDLE)
            .run(
                (turn, out) -> {
                  ran.add(turn.message().text());
                  out.text("start ");
                  out.pause(Duration.ofSeconds(30));
                })
            .build();
    try (var f = new AgentFixture(agent)) {
      AgentChat chat = f.client("slow", "c1");
      Reply first = chat.sendMessage("m1");
      Reply second = chat.sendMessage("m2");
      await("m1 to run", () -> ran.contains("m1"));
      chat.stop();
      assertThat(first.text(WAIT)).isEqualTo("start ");
      // m2's reply stream starts with m1's tail (W8); after m1's turn-complete, nothing but its
      // own.
      List<StreamRecord<OutEvent>> records = second.records(WAIT);
      int firstTurn = 0;
      while (!(records.get(firstTurn).event() instanceof OutEvent.TurnComplete)) {
        firstTurn++;
      }
      assertThat(records.subList(firstTurn + 1, records.size()))
          .singleElement()
          .satisfies(
              r -> assertThat(r.event()).isEqualTo(new OutEvent.TurnComplete(second.inEventId())));
      assertThat(ran).containsExactly("m1");
      Reply third = chat.sendMessage("m3");
      await("m3 to run", () -> ran.contains("m3"));
      chat.stop();
      assertThat(third.text(WAIT)).isEqualTo("start ");
    }
  }

  /** Folds a reply's records to its text. */
  static final class ChunkFoldText {
    static String of(List<StreamRecord<OutEvent>> records) {
      var chunks = new ArrayList<UIMessageChunk>();
      for (StreamRecord<OutEvent> r : records) {
        if (r.event() instanceof OutEvent.Chunk c) {
          chunks.add(c.chunk());
        }
      }
      var text = new StringBuilder();
      dev.durablechat.core.fold.ChunkFold.foldTail(chunks).forEach(m -> text.append(m.text()));
      return text.toString();
    }
  }
}
