package dev.durablechat.core.fold;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.DurableChatException;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

@DisplayName("ChunkFold")
class ChunkFoldTest {

  static UIMessageChunk chunk(String json) {
    return UIMessageChunk.parse(json);
  }

  static List<UIMessageChunk> chunks(String... json) {
    var list = new ArrayList<UIMessageChunk>();
    for (String j : json) {
      list.add(chunk(j));
    }
    return list;
  }

  @Nested
  @DisplayName("used incrementally, as a live stream needs (F1-F3)")
  class Incremental {

    @Test
    @DisplayName("has no message until a chunk changes something visible")
    void noMessageBeforeFirstWrite() {
      ChunkFold fold = ChunkFold.create();
      fold.accept(chunk("{\"type\":\"start\"}")).accept(chunk("{\"type\":\"start-step\"}"));
      assertThat(fold.message()).isEmpty();
      fold.accept(chunk("{\"type\":\"text-start\",\"id\":\"t\"}"));
      assertThat(fold.message()).isPresent();
      assertThat(fold.chunkCount()).isEqualTo(3);
    }

    @Test
    @DisplayName("shows streaming text after each delta and done after its end")
    void textStreamsThenDone() {
      ChunkFold fold = ChunkFold.create();
      fold.acceptAll(
          chunks(
              "{\"type\":\"start\",\"messageId\":\"m1\"}",
              "{\"type\":\"text-start\",\"id\":\"t\"}",
              "{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"Hel\"}"));
      UIMessage first = fold.message().orElseThrow();
      assertThat(first.id()).isEqualTo("m1");
      assertThat(first.text()).isEqualTo("Hel");
      assertThat(first.parts().get(0).string("state")).hasValue("streaming");

      fold.accept(chunk("{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"lo\"}"))
          .accept(chunk("{\"type\":\"text-end\",\"id\":\"t\"}"));
      UIMessage second = fold.message().orElseThrow();
      assertThat(second.text()).isEqualTo("Hello");
      assertThat(second.parts().get(0).string("state")).hasValue("done");
      // a message already read is immutable: folding on did not change it
      assertThat(first.text()).isEqualTo("Hel");
    }

    @Test
    @DisplayName(
        "reuses the message between reads and keeps unchanged parts (the hot path builds little)")
    void reusesUnchangedParts() {
      ChunkFold fold = ChunkFold.create();
      fold.acceptAll(
          chunks(
              "{\"type\":\"start\",\"messageId\":\"m1\"}",
              "{\"type\":\"source-url\",\"sourceId\":\"s\",\"url\":\"u\"}",
              "{\"type\":\"text-start\",\"id\":\"t\"}"));
      UIMessage first = fold.message().orElseThrow();
      assertThat(fold.message().orElseThrow()).isSameAs(first);
      fold.accept(chunk("{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"x\"}"));
      UIMessage second = fold.message().orElseThrow();
      assertThat(second.json().get("parts")).isNotEqualTo(first.json().get("parts"));
      // A message keeps its bytes, not its parts' objects (UIMessage): the unchanged part is equal.
      assertThat(second.parts().get(0)).isEqualTo(first.parts().get(0));
    }

    @Test
    @DisplayName("keeps unknown fields of a continued message and its parts (F2, F6)")
    void unknownFieldsSurvive() {
      UIMessage last =
          UIMessage.parse(
              "{\"id\":\"m1\",\"role\":\"assistant\",\"x-app\":{\"k\":1},\"parts\":[{\"type\":\"text\","
                  + "\"text\":\"a\",\"state\":\"done\",\"x-part\":true}]}");
      ChunkFold fold = ChunkFold.continuing(last);
      fold.acceptAll(
          chunks(
              "{\"type\":\"start\",\"messageId\":\"m1\",\"messageMetadata\":{\"n\":1}}",
              "{\"type\":\"text-start\",\"id\":\"t\"}",
              "{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"b\"}"));
      JsonObject json = fold.message().orElseThrow().json();
      assertThat(json.get("x-app").toString()).isEqualTo("{\"k\":1}");
      assertThat(json.get("metadata").toString()).isEqualTo("{\"n\":1}");
      assertThat(fold.message().orElseThrow().parts().get(0).get("x-part").toString())
          .isEqualTo("true");
      assertThat(fold.message().orElseThrow().text()).isEqualTo("ab");
    }

    @Test
    @DisplayName("records error chunks without failing and notes the finish")
    void errorChunksAndFinish() {
      ChunkFold fold = ChunkFold.create();
      fold.acceptAll(
          chunks(
              "{\"type\":\"error\",\"errorText\":\"rate limited\"}",
              "{\"type\":\"finish\",\"finishReason\":\"error\"}"));
      assertThat(fold.errors()).containsExactly("rate limited");
      assertThat(fold.finished()).isTrue();
      assertThat(fold.finishReason().orElseThrow().toString()).isEqualTo("\"error\"");
    }
  }

  @Nested
  @DisplayName("refuses chunks the AI SDK refuses (F3, F4)")
  class Errors {

    @Test
    @DisplayName(
        "a delta for an unknown text id fails with the chunk's index and leaves the fold as it was")
    void deltaForUnknownId() {
      ChunkFold fold = ChunkFold.create();
      fold.accept(chunk("{\"type\":\"start\",\"messageId\":\"m1\"}"));
      UIMessage before = fold.message().orElseThrow();
      assertThatThrownBy(
              () -> fold.accept(chunk("{\"type\":\"text-delta\",\"id\":\"t9\",\"delta\":\"x\"}")))
          .isInstanceOf(ChunkFoldException.class)
          .isInstanceOf(DurableChatException.class)
          .hasMessage(
              "chunk [1] text-delta: no text with id [t9] is streaming (expected a text-start"
                  + " for it first)")
          .satisfies(e -> assertThat(((ChunkFoldException) e).chunkIndex()).isEqualTo(1))
          .satisfies(e -> assertThat(((ChunkFoldException) e).chunkType()).isEqualTo("text-delta"));
      assertThat(fold.message()).containsSame(before);
    }

    @Test
    @DisplayName("an output for an unknown tool call fails")
    void outputForUnknownToolCall() {
      assertThatThrownBy(
              () ->
                  ChunkFold.create()
                      .accept(
                          chunk(
                              "{\"type\":\"tool-output-available\",\"toolCallId\":\"c9\","
                                  + "\"output\":1}")))
          .isInstanceOf(ChunkFoldException.class)
          .hasMessageContaining(
              "chunk [0] tool-output-available: no tool call with toolCallId [c9]");
    }
  }

  @Nested
  @DisplayName("refuses a start whose messageId is not a string (a UIMessage id is one)")
  class MessageId {

    @Test
    @DisplayName("a numeric messageId fails at the chunk, not at a later read")
    void numericMessageId() {
      ChunkFold fold = ChunkFold.create();
      assertThatThrownBy(() -> fold.accept(chunk("{\"type\":\"start\",\"messageId\":7}")))
          .isInstanceOf(ChunkFoldException.class)
          .hasMessage("chunk [0] start: messageId must be a string, got a number [7]");
      assertThat(fold.message()).isEmpty();
    }
  }

  @Nested
  @DisplayName("folds a replayed out tail (H2, H4)")
  class Tail {

    @Test
    @DisplayName("cuts segments at each start and folds each into its own message (H2)")
    void segmentsAtStart() {
      List<UIMessage> messages =
          ChunkFold.foldTail(
              chunks(
                  "{\"type\":\"start\",\"messageId\":\"a1\"}",
                  "{\"type\":\"text-start\",\"id\":\"t\"}",
                  "{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"one\"}",
                  "{\"type\":\"text-end\",\"id\":\"t\"}",
                  "{\"type\":\"finish\"}",
                  "{\"type\":\"start\",\"messageId\":\"a2\"}",
                  // the same part id in another message is another part
                  "{\"type\":\"text-start\",\"id\":\"t\"}",
                  "{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"two\"}",
                  "{\"type\":\"text-end\",\"id\":\"t\"}",
                  "{\"type\":\"finish\"}"));
      assertThat(messages).extracting(UIMessage::id).containsExactly("a1", "a2");
      assertThat(messages).extracting(UIMessage::text).containsExactly("one", "two");
    }

    @Test
    @DisplayName(
        "continues the message before it when start names its id (a reply resumed after approval)")
    void continuesNamedMessage() {
      UIMessage last =
          UIMessage.parse(
              "{\"id\":\"a1\",\"role\":\"assistant\",\"parts\":[{\"type\":\"tool-delete\","
                  + "\"toolCallId\":\"c1\",\"state\":\"approval-responded\",\"input\":{},"
                  + "\"approval\":{\"id\":\"ap\",\"approved\":true}}]}");
      List<UIMessage> messages =
          ChunkFold.foldTail(
              last,
              chunks(
                  "{\"type\":\"start\",\"messageId\":\"a1\"}",
                  "{\"type\":\"tool-output-available\",\"toolCallId\":\"c1\",\"output\":\"ok\"}",
                  "{\"type\":\"finish\"}"));
      assertThat(messages).hasSize(1);
      JsonObject tool = messages.get(0).parts().get(0);
      assertThat(tool.string("state")).hasValue("output-available");
      assertThat(tool.get("approval").toString()).isEqualTo("{\"id\":\"ap\",\"approved\":true}");
    }

    @Test
    @DisplayName("cleans up a trailing partial: input-* tools dropped, streaming text done (H4)")
    void trailingPartial() {
      List<UIMessage> messages =
          ChunkFold.foldTail(
              chunks(
                  "{\"type\":\"start\",\"messageId\":\"a1\"}",
                  "{\"type\":\"start-step\"}",
                  "{\"type\":\"reasoning-start\",\"id\":\"r\"}",
                  "{\"type\":\"reasoning-delta\",\"id\":\"r\",\"delta\":\"hmm\"}",
                  "{\"type\":\"text-start\",\"id\":\"t\"}",
                  "{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"part\"}",
                  "{\"type\":\"tool-input-start\",\"toolCallId\":\"c1\",\"toolName\":\"x\"}",
                  "{\"type\":\"tool-input-available\",\"toolCallId\":\"c2\",\"toolName\":\"y\","
                      + "\"input\":{}}",
                  "{\"type\":\"tool-input-available\",\"toolCallId\":\"c3\",\"toolName\":\"z\","
                      + "\"input\":{}}",
                  "{\"type\":\"tool-output-available\",\"toolCallId\":\"c3\",\"output\":1}"));
      assertThat(messages).hasSize(1);
      List<JsonObject> parts = messages.get(0).parts();
      assertThat(parts)
          .extracting(p -> p.string("type").orElseThrow())
          .containsExactly("step-start", "reasoning", "text", "tool-z");
      assertThat(parts.get(1).string("state")).hasValue("done");
      assertThat(parts.get(2).string("state")).hasValue("done");
      assertThat(parts.get(2).string("text")).hasValue("part");
    }

    @Test
    @DisplayName("drops a trailing partial with nothing left after the cleanup (H4)")
    void emptyPartialDropped() {
      List<UIMessage> messages =
          ChunkFold.foldTail(
              chunks(
                  "{\"type\":\"start\",\"messageId\":\"a1\"}",
                  "{\"type\":\"finish\"}",
                  "{\"type\":\"start\",\"messageId\":\"a2\"}",
                  "{\"type\":\"start-step\"}",
                  "{\"type\":\"tool-input-start\",\"toolCallId\":\"c1\",\"toolName\":\"x\"}",
                  "{\"type\":\"tool-input-delta\",\"toolCallId\":\"c1\",\"inputTextDelta\":\"{\"}"));
      assertThat(messages).extracting(UIMessage::id).containsExactly("a1");
    }

    @Test
    @DisplayName("reports a failing chunk by its index in the whole tail")
    void failureIndexIsGlobal() {
      assertThatThrownBy(
              () ->
                  ChunkFold.foldTail(
                      chunks(
                          "{\"type\":\"start\",\"messageId\":\"a1\"}",
                          "{\"type\":\"finish\"}",
                          "{\"type\":\"start\",\"messageId\":\"a2\"}",
                          "{\"type\":\"text-end\",\"id\":\"nope\"}")))
          .isInstanceOf(ChunkFoldException.class)
          .satisfies(e -> assertThat(((ChunkFoldException) e).chunkIndex()).isEqualTo(3));
    }
  }

  @Nested
  @DisplayName("repairs partial tool input JSON like the AI SDK's fixJson (F4)")
  class PartialJsonRepair {

    @Test
    @DisplayName("closes strings, arrays and objects, completes literals, drops dangling keys")
    void repairs() {
      assertThat(PartialJson.fix("{\"a\": \"hel")).isEqualTo("{\"a\": \"hel\"}");
      assertThat(PartialJson.fix("[1, tr")).isEqualTo("[1, true]");
      assertThat(PartialJson.fix("{\"a\": 1, \"b\"")).isEqualTo("{\"a\": 1}");
      assertThat(PartialJson.fix("{\"n\": 12.")).isEqualTo("{\"n\": 12}");
      assertThat(PartialJson.fix("\"a\\u00")).isEqualTo("\"a\"");
      assertThat(String.valueOf(PartialJson.parse("{\"a\": -"))).isEqualTo("{}");
      assertThat(PartialJson.parse("nope")).isNull();
      assertThat(String.valueOf(PartialJson.parse("{\"a\": [1, {\"b\": nu")))
          .isEqualTo("{\"a\":[1,{\"b\":null}]}");
    }
  }
}
