package dev.durablechat.agent;

import static dev.durablechat.agent.AgentFixture.WAIT;
import static dev.durablechat.agent.AgentFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.agent.AgentRuntimeTest.ChunkFoldText;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.InvalidInputException;
import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.Json;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.WirePayload;
import dev.durablechat.core.ChatHistory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

@DisplayName("typed actions, saved chat state, and messages injected at a step boundary")
class ActionsStateInjectionTest {

  /** The action schema of the tests: what Jackson binds an action to. */
  public record Undo(String type, int steps) {}

  @Nested
  @DisplayName("the action schema")
  class ActionSchema {
    private final List<Undo> seen = new CopyOnWriteArrayList<>();
    private final ChatAgent<?> agent =
        ChatAgent.builder("act")
            .actionType(Undo.class)
            .idleTimeout(Duration.ofSeconds(5))
            .onAction(
                (turn, out) -> {
                  Undo undo = turn.action(Undo.class);
                  seen.add(undo);
                  out.text("undid " + undo.steps());
                })
            .run((turn, out) -> out.text("re " + turn.message().text()))
            .build();

    @Test
    @DisplayName("an action binds to the agent's action type and onAction reads it typed (L6)")
    void bindsTyped() {
      try (var f = new AgentFixture(agent)) {
        AgentChat chat = f.client("act", "c1");
        Reply reply = chat.sendAction(Json.parse("{\"type\":\"undo\",\"steps\":2,\"extra\":1}"));
        assertThat(ChunkFoldText.of(reply.records(WAIT))).isEqualTo("undid 2");
        assertThat(seen).containsExactly(new Undo("undo", 2));
      }
    }

    @Test
    @DisplayName(
        "an action that does not bind is refused at send, naming the field, and nothing is"
            + " stored")
    void refusedAtSend() {
      try (var f = new AgentFixture(agent)) {
        AgentChat chat = f.client("act", "c1");
        chat.start();
        assertThatThrownBy(() -> chat.sendAction(Json.parse("{\"type\":\"undo\",\"steps\":\"x\"}")))
            .isInstanceOf(InvalidPayloadException.class)
            .hasMessageContaining("action field [action.steps]")
            .hasMessageContaining("[Undo]");
        assertThat(f.chat.lastEventId("c1", StreamKind.IN)).isZero();
        assertThat(seen).isEmpty();
      }
    }

    @Test
    @DisplayName(
        "an action appended by other means that does not bind ends in an error chunk and its"
            + " turn-complete; onAction is not called, and the chat goes on")
    void errorAtDispatch() {
      try (var f = new AgentFixture(agent)) {
        AgentChat chat = f.client("act", "c1");
        chat.start();
        long id =
            f.chat
                .appendIn(
                    "c1",
                    new InEvent.Message(
                        WirePayload.action("c1", Json.parse("{\"type\":\"undo\"}"))),
                    null)
                .eventId();
        Reply reply = chat.reconnect(0);
        List<StreamRecord<OutEvent>> records = reply.records(WAIT);
        assertThat(records.get(records.size() - 1).event())
            .isEqualTo(new OutEvent.TurnComplete(id));
        assertThat(records)
            .anySatisfy(r -> assertThat(r.event().toString()).contains("\"type\":\"error\""));
        assertThat(seen).isEmpty();
        assertThat(chat.sendMessage("still here").text(WAIT)).isEqualTo("re still here");
      }
    }
  }

  @Nested
  @DisplayName("saved chat state")
  class SavedState {

    @Test
    @DisplayName(
        "a reader that saved {chatId, lastEventId} as JSON mid-reply reconnects from it and gets"
            + " the rest, nothing missing or repeated (W7)")
    void reconnectFromSavedState() {
      ChatAgent<?> agent =
          ChatAgent.builder("echo")
              .idleTimeout(Duration.ofSeconds(5))
              .run(
                  (turn, out) ->
                      ScriptedModel.builder()
                          .text("one two three four five six seven eight")
                          .chunkDelay(Duration.ofMillis(2))
                          .build()
                          .play(out))
              .build();
      try (var f = new AgentFixture(agent)) {
        AgentChat chat = f.client("echo", "c1");
        Reply first = chat.sendMessage("go");
        var seen = new ArrayList<Long>();
        for (int i = 0; i < 3; i++) {
          seen.add(first.next(WAIT).orElseThrow().eventId());
        }
        String saved = chat.state(first).toJson().toString();
        first.close();

        ChatState state = ChatState.fromJson(Json.parse(saved));
        assertThat(state).isEqualTo(new ChatState("c1", seen.get(2)));
        AgentChat later = f.client("echo", "c1");
        later.reconnect(state).records(WAIT).forEach(r -> seen.add(r.eventId()));
        assertThat(seen)
            .isEqualTo(
                f.chat.readOut("c1", 0, 10_000).stream().map(StreamRecord::eventId).toList());
        assertThatThrownBy(() -> f.client("echo", "c2").reconnect(state))
            .isInstanceOf(InvalidInputException.class)
            .hasMessageContaining("chat state is for chat [c1], expected [c2]");
      }
    }

    @Test
    @DisplayName("a malformed state record is refused, naming the field")
    void malformedState() {
      assertThatThrownBy(() -> ChatState.fromJson(Json.parse("{\"chatId\":\"c1\"}")))
          .isInstanceOf(InvalidPayloadException.class)
          .hasMessageContaining("[lastEventId]");
      assertThatThrownBy(
              () -> ChatState.fromJson(Json.parse("{\"chatId\":\"c1\",\"lastEventId\":1.5}")))
          .isInstanceOf(InvalidPayloadException.class)
          .hasMessageContaining("whole number");
      assertThatThrownBy(() -> ChatState.fromJson(Json.parse("{\"lastEventId\":1}")))
          .isInstanceOf(InvalidPayloadException.class)
          .hasMessageContaining("[chatId]");
    }
  }

  @Nested
  @DisplayName("injection at a step boundary (L5)")
  class Injection {

    @Test
    @DisplayName(
        "a message that arrives mid-turn is taken in at the next step boundary: the running turn"
            + " answers it, its turn-complete names it, and it runs as no turn of its own")
    void injectedMessageJoinsTheTurn() throws Exception {
      var turns = new CopyOnWriteArrayList<String>();
      var histories = new CopyOnWriteArrayList<List<String>>();
      var secondSent = new CountDownLatch(1);
      ChatAgent<?> agent =
          ChatAgent.builder("steps")
              .idleTimeout(Duration.ofSeconds(5))
              .run(
                  (turn, out) -> {
                    turns.add(turn.message().text());
                    histories.add(turn.messages().stream().map(UIMessage::text).toList());
                    out.text("step one. ");
                    if (!turn.message().text().equals("m1")) {
                      return;
                    }
                    assertThat(secondSent.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
                    // The step boundary: take in what arrived, waiting for the tail to bring it.
                    List<UIMessage> injected = List.of();
                    long deadline = System.nanoTime() + WAIT.toNanos();
                    while (injected.isEmpty() && System.nanoTime() < deadline) {
                      injected = turn.injectQueuedMessages();
                      if (injected.isEmpty()) {
                        out.pause(Duration.ofMillis(5));
                      }
                    }
                    out.text(
                        "step two, also "
                            + injected.stream().map(UIMessage::text).toList()
                            + ", seeing "
                            + turn.messages().stream().map(UIMessage::text).toList());
                  })
              .build();
      try (var f = new AgentFixture(agent)) {
        AgentChat chat = f.client("steps", "c1");
        Reply r1 = chat.sendMessage("m1");
        Reply r2 = chat.sendMessage("m2");
        secondSent.countDown();
        String text = r2.text(WAIT);
        assertThat(text).isEqualTo("step one. step two, also [m2], seeing [m1, m2]");
        assertThat(r1.text(WAIT)).isEqualTo(text);
        List<Long> acknowledged =
            f.chat.readOut("c1", 0, 10_000).stream()
                .filter(r -> r.event() instanceof OutEvent.TurnComplete)
                .map(r -> ((OutEvent.TurnComplete) r.event()).lastDispatchedInEventId())
                .toList();
        assertThat(acknowledged).containsExactly(r2.inEventId());

        // The turn's snapshot names m2 as dispatched (H1): a continuation does not answer it again.
        var key = new SnapshotKey(f.chat.environment(), f.chat.session("c1").friendlyId());
        await(
            "the snapshot of the turn",
            () ->
                ChatHistory.readSnapshot(f.snapshots, key)
                    .map(s -> s.lastInEventId())
                    .orElse(0L)
                    .equals(r2.inEventId()));

        chat.sendMessage("m3").text(WAIT);
        assertThat(turns).containsExactly("m1", "m3");
        assertThat(histories.get(1))
            .containsExactly("m1", "m2", "step one. step two, also [m2], seeing [m1, m2]", "m3");
      }
    }
  }
}
