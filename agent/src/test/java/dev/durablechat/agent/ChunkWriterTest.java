package dev.durablechat.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.Environment;
import dev.durablechat.api.FencedException;
import dev.durablechat.api.Json;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.core.CreateSessionRequest;
import dev.durablechat.core.DurableChat;
import dev.durablechat.core.fold.ChunkFold;
import dev.durablechat.storage.memory.MemorySessionStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("the chunk writer and the scripted model")
class ChunkWriterTest {
  private final MemorySessionStore store = new MemorySessionStore();
  private final DurableChat chat =
      DurableChat.builder().environment(new Environment("p", "t")).sessionStore(store).build();

  @AfterEach
  void close() {
    chat.close();
    store.close();
  }

  private String session() {
    chat.createSession(CreateSessionRequest.builder("agent").externalId("c1").build());
    return chat.ensureRun("c1", RunReason.INITIAL).run().runId();
  }

  private ChunkWriter writer(String runId, Cancellation cancel, int maxBatch) {
    return new ChunkWriter(
        chat, "c1", runId, "msg_1", cancel, () -> 0L, maxBatch, Duration.ofDays(1));
  }

  private List<UIMessageChunk> outChunks() {
    var chunks = new ArrayList<UIMessageChunk>();
    for (StreamRecord<OutEvent> r : chat.readOut("c1", 0, 10_000)) {
      if (r.event() instanceof OutEvent.Chunk c) {
        chunks.add(c.chunk());
      }
    }
    return chunks;
  }

  private static ScriptedModel weather(Duration delay, Sleeper sleeper) {
    return ScriptedModel.builder()
        .reasoning("the user asks about Oslo")
        .toolCall("weather", Json.parse("{\"city\":\"Oslo\"}"), Json.parse("{\"tempC\":4}"))
        .text("It is 4 degrees in Oslo.")
        .chunkDelay(delay)
        .sleeper(sleeper)
        .build();
  }

  @Test
  @DisplayName(
      "a script writes start, reasoning, a tool call with input and output, text, finish"
          + " (F1), and the stream folds to the same message the writer folded in memory")
  void scriptFoldsToTheSameMessage() {
    String run = session();
    ChunkWriter out = writer(run, new Cancellation(), 32);
    weather(Duration.ZERO, d -> {}).play(out);
    out.finish();

    List<UIMessageChunk> chunks = outChunks();
    assertThat(chunks.get(0).type()).isEqualTo("start");
    assertThat(chunks.get(chunks.size() - 1).type()).isEqualTo("finish");
    assertThat(chunks)
        .extracting(UIMessageChunk::type)
        .contains("reasoning-delta", "tool-input-available", "tool-output-available", "text-delta");
    List<UIMessage> folded = ChunkFold.foldTail(chunks);
    assertThat(folded).hasSize(1);
    UIMessage message = out.message().orElseThrow();
    assertThat(folded.get(0)).isEqualTo(message);
    assertThat(message.id()).isEqualTo("msg_1");
    assertThat(message.text()).isEqualTo("It is 4 degrees in Oslo.");
    assertThat(message.parts())
        .anySatisfy(
            p -> {
              assertThat(p.string("type")).contains("tool-weather");
              assertThat(p.string("state")).contains("output-available");
            });
  }

  @Test
  @DisplayName("chunks are batched into few appends, and the writer flushes before every delay")
  void batchesAndFlushesBeforeDelays() {
    String run = session();
    ChunkWriter batched = writer(run, new Cancellation(), 32);
    weather(Duration.ZERO, d -> {}).play(batched);
    batched.finish();
    int chunkCount = outChunks().size();
    assertThat(batched.appendCount()).isLessThan(chunkCount).isEqualTo(1);

    var sleeps = new ArrayList<Duration>();
    var delayed =
        new ChunkWriter(
            chat, "c1", run, "msg_2", new Cancellation(), () -> 0L, 32, Duration.ofDays(1));
    long before = chat.readOut("c1", 0, 10_000).size();
    weather(Duration.ofMillis(7), sleeps::add).play(delayed);
    delayed.finish();
    assertThat(sleeps).isNotEmpty().allMatch(d -> d.equals(Duration.ofMillis(7)));
    // Each wait sends what came before it, so a reader sees chunks while the model "thinks".
    assertThat(delayed.appendCount()).isGreaterThan(sleeps.size() / 2);
    assertThat(chat.readOut("c1", 0, 10_000).size() - before).isEqualTo(chunkCount);
  }

  @Test
  @DisplayName("a run that is no longer current cannot write: the append is fenced (invariant 6)")
  void fenced() {
    String run = session();
    chat.endAndContinue("c1", run, RunReason.MANUAL);
    ChunkWriter out = writer(run, new Cancellation(), 1);
    assertThatThrownBy(() -> out.text("late")).isInstanceOf(FencedException.class);
  }

  @Test
  @DisplayName(
      "after a stop the writer refuses chunks and a pause ends at once (L7); the partial"
          + " keeps the finished parts and drops a dangling tool input (H4)")
  void stopEndsWritesAndPauses() {
    String run = session();
    var cancel = new Cancellation();
    ChunkWriter out = writer(run, cancel, 32);
    out.text("Hello");
    out.toolInputStart("call_0", "weather");
    cancel.cancel();
    assertThatThrownBy(() -> out.text("more")).isInstanceOf(TurnCancelledException.class);
    assertThatThrownBy(() -> out.pause(Duration.ofHours(1)))
        .isInstanceOf(TurnCancelledException.class);
    out.abort();
    UIMessage partial = out.message().orElseThrow();
    assertThat(partial.text()).isEqualTo("Hello");
    assertThat(partial.parts()).noneMatch(p -> p.string("type").orElse("").startsWith("tool-"));
    assertThat(ChunkFold.foldTail(outChunks())).containsExactly(partial);
  }

  @Test
  @DisplayName("the script's words concatenate back to its text exactly")
  void words() {
    assertThat(String.join("", ScriptedModel.words("a  b c "))).isEqualTo("a  b c ");
    assertThat(ScriptedModel.words("")).containsExactly("");
  }

  @Test
  @DisplayName(
      "continueMessage names the history's assistant message in start and folds onto it (F2, H3);"
          + " finishWith puts the finish reason and metadata on the runtime's finish")
  void continuesAMessageAndFinishesWithReasonAndMetadata() {
    String run = session();
    UIMessage earlier =
        UIMessage.parse(
            "{\"id\":\"a1\",\"role\":\"assistant\",\"parts\":[{\"type\":\"text\",\"text\":\"Hi. \",\"state\":\"done\"}]}");
    ChunkWriter out = writer(run, new Cancellation(), 32);
    out.continueMessage(earlier).text("Again.");
    out.finishWith("stop", Json.parse("{\"usage\":{\"inputTokens\":1}}"));
    out.finish();

    List<UIMessageChunk> chunks = outChunks();
    assertThat(chunks.get(0).json().string("messageId")).contains("a1");
    UIMessageChunk finish = chunks.get(chunks.size() - 1);
    assertThat(finish.json().string("finishReason")).contains("stop");
    assertThat(finish.json().get("messageMetadata"))
        .isEqualTo(Json.parse("{\"usage\":{\"inputTokens\":1}}"));
    UIMessage message = out.message().orElseThrow();
    assertThat(message.id()).isEqualTo("a1");
    assertThat(message.text()).isEqualTo("Hi. Again.");
    assertThat(ChunkFold.foldTail(earlier, chunks)).containsExactly(message);
  }

  @Test
  @DisplayName("continueMessage is refused once a chunk was written, and for a user message")
  void continueMessageRefusals() {
    String run = session();
    ChunkWriter out = writer(run, new Cancellation(), 32);
    assertThatThrownBy(() -> out.continueMessage(UIMessage.userText("u1", "hi")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("[u1] is a [user] message");
    out.text("x");
    assertThatThrownBy(
            () ->
                out.continueMessage(
                    UIMessage.parse("{\"id\":\"a1\",\"role\":\"assistant\",\"parts\":[]}")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already started");
  }
}
