package dev.durablechat.agent;

import static dev.durablechat.agent.AgentFixture.WAIT;
import static dev.durablechat.agent.AgentFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.agent.AgentRuntimeTest.ChunkFoldText;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.api.WirePayload;
import dev.durablechat.core.CreateSessionRequest;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

@DisplayName("the runtime's key scenarios on memory, H2 and PostgreSQL")
class AgentStoresTest {
  private static final Duration IDLE = Duration.ofMillis(300);
  private static final Duration LEASE = Duration.ofMillis(600);

  /** Answers through a scripted model: reasoning, a tool call, then the text. */
  private static ChatAgent<?> echo(Duration idle, List<List<String>> historySeen) {
    return ChatAgent.builder("echo")
        .idleTimeout(idle)
        .run(
            (turn, out) -> {
              historySeen.add(turn.messages().stream().map(UIMessage::text).toList());
              ScriptedModel.builder()
                  .reasoning("think")
                  .toolCall(
                      "lookup",
                      JsonObject.builder().put("q", turn.message().text()).build(),
                      JsonObject.builder().put("hits", 1).build())
                  .text("you said " + turn.message().text())
                  .chunkDelay(Duration.ofMillis(1))
                  .build()
                  .play(out);
            })
        .build();
  }

  private static AgentRuntime runtime(Backend.Node node, ChatAgent<?> agent) {
    return AgentRuntime.builder(node.chat()).leaseDuration(LEASE).register(agent).build();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Backend.class)
  @DisplayName(
      "a message gets a streamed reply in many records that ends on its own turn-complete (W6,"
          + " W8); the first run is initial")
  void sendAndStreamedReply(Backend backend) {
    var seen = new CopyOnWriteArrayList<List<String>>();
    try (Backend.Node node = backend.database().node();
        AgentRuntime runtime = runtime(node, echo(Duration.ofSeconds(10), seen))) {
      AgentChat chat = AgentChat.builder(runtime, "echo").chatId("c1").build();
      Reply reply = chat.sendMessage("hello");
      List<StreamRecord<OutEvent>> records = reply.records(WAIT);
      assertThat(records.size()).as("streamed in several records").isGreaterThan(3);
      assertThat(records.get(records.size() - 1).event())
          .isEqualTo(new OutEvent.TurnComplete(reply.inEventId()));
      assertThat(ChunkFoldText.of(records)).isEqualTo("you said hello");
      assertThat(node.chat().runs("c1"))
          .extracting(SessionRun::reason)
          .containsExactly(RunReason.INITIAL);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Backend.class)
  @DisplayName(
      "after the idle timeout the run ends (L3) and the next message boots a continuation with"
          + " the history intact, rebuilt from the snapshot (S7, H1, H2)")
  void idleContinuation(Backend backend) {
    var seen = new CopyOnWriteArrayList<List<String>>();
    try (Backend.Node node = backend.database().node();
        AgentRuntime runtime = runtime(node, echo(IDLE, seen))) {
      AgentChat chat = AgentChat.builder(runtime, "echo").chatId("c1").build();
      assertThat(chat.sendMessage("first").text(WAIT)).isEqualTo("you said first");
      await("the idle end", () -> !node.chat().runs("c1").get(0).isRunning());
      assertThat(node.chat().runs("c1").get(0).endReason()).isEqualTo("idle");
      assertThat(
              node.snapshots()
                  .read(
                      new SnapshotKey(
                          node.chat().environment(), node.chat().session("c1").friendlyId())))
          .isPresent();

      assertThat(chat.sendMessage("second").text(WAIT)).isEqualTo("you said second");
      List<SessionRun> runs = node.chat().runs("c1");
      assertThat(runs)
          .extracting(SessionRun::reason)
          .containsExactly(RunReason.INITIAL, RunReason.CONTINUATION);
      assertThat(runs.get(1).previousRunId()).isEqualTo(runs.get(0).runId());
      assertThat(seen.get(1)).containsExactly("first", "you said first", "second");
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Backend.class)
  @DisplayName(
      "a run that died mid-reply is taken over once its lease expired: the partial reply is"
          + " cleaned (H4), the unanswered messages are answered in order, each once, and the"
          + " acknowledged turn stays")
  void crashRecovery(Backend backend) {
    var seen = new CopyOnWriteArrayList<List<String>>();
    var answered = new CopyOnWriteArrayList<String>();
    ChatAgent<?> agent =
        ChatAgent.builder("echo")
            .idleTimeout(Duration.ofSeconds(10))
            .run(
                (turn, out) -> {
                  seen.add(turn.messages().stream().map(m -> m.role() + ":" + m.text()).toList());
                  answered.add(turn.message().text());
                  out.text("re " + turn.message().text());
                })
            .build();
    Backend.Database db = backend.database();
    try (Backend.Node node = db.node();
        AgentRuntime runtime = runtime(node, agent)) {
      var chat = node.chat();
      // The dead process: it answered m0, dispatched m1, wrote half a reply, and died.
      chat.createSession(CreateSessionRequest.builder("echo").externalId("c1").build());
      String dead = chat.ensureRun("c1", RunReason.INITIAL).run().runId();
      long m0 = chat.appendIn("c1", message("u0", "m0"), null).lastEventId();
      chat.appendOut(
          "c1",
          dead,
          List.of(
              chunk("{\"type\":\"start\",\"messageId\":\"a0\"}"),
              chunk("{\"type\":\"text-start\",\"id\":\"t0\"}"),
              chunk("{\"type\":\"text-delta\",\"id\":\"t0\",\"delta\":\"re m0\"}"),
              chunk("{\"type\":\"text-end\",\"id\":\"t0\"}"),
              chunk("{\"type\":\"finish\"}"),
              new OutEvent.TurnComplete(m0)));
      chat.appendIn("c1", message("u1", "m1"), null);
      chat.appendOut(
          "c1",
          dead,
          List.of(
              chunk("{\"type\":\"start\",\"messageId\":\"a1\"}"),
              chunk("{\"type\":\"text-start\",\"id\":\"t1\"}"),
              chunk("{\"type\":\"text-delta\",\"id\":\"t1\",\"delta\":\"half\"}"),
              chunk("{\"type\":\"tool-input-start\",\"toolCallId\":\"c\",\"toolName\":\"x\"}")));

      Reply reply = AgentChat.builder(runtime, "echo").chatId("c1").build().sendMessage("m2");
      assertThat(reply.text(WAIT)).endsWith("re m2");
      assertThat(answered).containsExactly("m1", "m2");
      assertThat(seen.get(0))
          .containsExactly("user:m0", "assistant:re m0", "user:m1", "assistant:half");
      List<SessionRun> runs = chat.runs("c1");
      assertThat(runs)
          .extracting(SessionRun::reason)
          .containsExactly(RunReason.INITIAL, RunReason.CONTINUATION);
      assertThat(runs.get(0).endReason()).isEqualTo("superseded");
      assertThat(runs.get(1).startedAt()).isAfterOrEqualTo(runs.get(0).lastAliveAt().plus(LEASE));
      List<Long> acknowledged =
          chat.readOut("c1", 0, 10_000).stream()
              .filter(r -> r.event() instanceof OutEvent.TurnComplete)
              .map(r -> ((OutEvent.TurnComplete) r.event()).lastDispatchedInEventId())
              .toList();
      assertThat(acknowledged).as("each message acknowledged once").containsExactly(1L, 2L, 3L);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Backend.class)
  @DisplayName(
      "eager preload creates the session and a preload run that boots before any message (L1),"
          + " and that run answers the first message")
  void eagerPreload(Backend backend) {
    var boots = new CopyOnWriteArrayList<String>();
    ChatAgent<?> agent =
        ChatAgent.builder("echo")
            .idleTimeout(Duration.ofSeconds(10))
            .onBoot(b -> boots.add(b.reason().wireName()))
            .onPreload(b -> boots.add("preload"))
            .run((turn, out) -> out.text("re " + turn.message().text()))
            .build();
    try (Backend.Node node = backend.database().node();
        AgentRuntime runtime = runtime(node, agent)) {
      AgentChat chat = AgentChat.builder(runtime, "echo").chatId("c1").build();
      assertThat(chat.preload().created()).isTrue();
      await("the preload boot", () -> boots.size() == 2);
      assertThat(boots).containsExactly("preload", "preload");
      assertThat(chat.sendMessage("hi").text(WAIT)).isEqualTo("re hi");
      assertThat(node.chat().runs("c1"))
          .extracting(SessionRun::reason)
          .containsExactly(RunReason.PRELOAD);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Backend.class)
  @DisplayName(
      "requestUpgrade in onTurnStart hands over to a run with reason upgrade, which answers the"
          + " message from in after upgrade-required (L4)")
  void upgrade(Backend backend) {
    ChatAgent<?> agent =
        ChatAgent.builder("echo")
            .idleTimeout(Duration.ofSeconds(10))
            .onTurnStart(
                t -> {
                  if (t.runReason() != RunReason.UPGRADE) {
                    t.requestUpgrade();
                  }
                })
            .run((turn, out) -> out.text("answered by " + turn.runReason().wireName()))
            .build();
    try (Backend.Node node = backend.database().node();
        AgentRuntime runtime = runtime(node, agent)) {
      Reply reply = AgentChat.builder(runtime, "echo").chatId("c1").build().sendMessage("hi");
      List<StreamRecord<OutEvent>> records = reply.records(WAIT);
      assertThat(records.get(0).event()).isInstanceOf(OutEvent.UpgradeRequired.class);
      assertThat(ChunkFoldText.of(records)).isEqualTo("answered by upgrade");
      assertThat(node.chat().runs("c1"))
          .extracting(SessionRun::reason)
          .containsExactly(RunReason.INITIAL, RunReason.UPGRADE);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Backend.class)
  @DisplayName(
      "stop mid-reply keeps a clean partial (L7, H4); an action changes the history without"
          + " being a turn (L6); close ends the run and closes the session (S5)")
  void stopActionClose(Backend backend) {
    var turnStarts = new CopyOnWriteArrayList<List<String>>();
    ChatAgent<?> agent =
        ChatAgent.builder("echo")
            .idleTimeout(Duration.ofSeconds(10))
            .onTurnStart(t -> turnStarts.add(t.messages().stream().map(UIMessage::text).toList()))
            .onAction(
                (turn, out) -> {
                  var m = turn.messages();
                  turn.setMessages(m.subList(0, m.size() - 1)); // drop the partial
                })
            .run(
                (turn, out) -> {
                  if (turn.message().text().equals("long")) {
                    out.text("part ");
                    out.pause(Duration.ofSeconds(30));
                  }
                  out.text("re " + turn.message().text());
                })
            .build();
    try (Backend.Node node = backend.database().node();
        AgentRuntime runtime = runtime(node, agent)) {
      AgentChat chat = AgentChat.builder(runtime, "echo").chatId("c1").build();
      Reply reply = chat.sendMessage("long");
      reply.next(WAIT).orElseThrow(); // the reply has begun: the turn is in its pause
      chat.stop();
      List<UIMessage> folded = reply.messages(WAIT);
      assertThat(folded).singleElement().satisfies(m -> assertThat(m.text()).isEqualTo("part "));
      assertThat(folded.get(0).parts())
          .allSatisfy(p -> assertThat(p.string("state")).contains("done"));

      chat.sendAction(dev.durablechat.api.Json.parse("{\"type\":\"drop\"}")).records(WAIT);
      assertThat(chat.sendMessage("next").text(WAIT)).isEqualTo("re next");
      assertThat(turnStarts.get(1)).containsExactly("long", "next");

      chat.close();
      // The loop closes the session, then ends its run.
      await("the session to close", () -> node.chat().session("c1").closedAt() != null);
      await("the run to end", () -> !node.chat().runs("c1").get(0).isRunning());
      assertThat(node.chat().runs("c1"))
          .singleElement()
          .satisfies(r -> assertThat(r.endReason()).isEqualTo("closed"));
    }
  }

  static InEvent message(String id, String text) {
    return new InEvent.Message(WirePayload.submit("c1", UIMessage.userText(id, text)));
  }

  static OutEvent chunk(String json) {
    return OutEvent.Chunk.of(UIMessageChunk.parse(json));
  }
}
