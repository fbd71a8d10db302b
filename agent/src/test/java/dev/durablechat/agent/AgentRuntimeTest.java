package dev.durablechat.agent;

import static dev.durablechat.agent.AgentFixture.WAIT;
import static dev.durablechat.agent.AgentFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.JsonObject;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("the agent runtime and the server-side chat client")
class AgentRuntimeTest {
  private static final Duration IDLE = Duration.ofMillis(200);

  /** Echoes the user's text through a scripted model with a tool call. */
  private static ChatAgent.Builder<dev.durablechat.api.JsonValue> echo(String id, Duration delay) {
    return ChatAgent.builder(id)
        .idleTimeout(IDLE)
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
