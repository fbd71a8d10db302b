package dev.durablechat.core.fold;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.JsonObject;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The one segmenter of a chunk tail (H2, H4, F2)")
class TailFoldTest {

  private static List<UIMessageChunk> chunks(String... json) {
    var list = new ArrayList<UIMessageChunk>();
    for (String j : json) {
      list.add(UIMessageChunk.parse(j));
    }
    return list;
  }

  private static final UIMessage ANSWER =
      UIMessage.parse(
          "{\"id\":\"a1\",\"role\":\"assistant\",\"parts\":[{\"type\":\"text\",\"text\":\"one\","
              + "\"state\":\"done\"}]}");

  @Test
  @DisplayName("a segment whose start names no id continues the assistant message before it (F2)")
  void startWithoutIdContinues() {
    List<TailFold.Folded> folded =
        TailFold.fold(
            ANSWER,
            chunks(
                "{\"type\":\"start\"}",
                "{\"type\":\"text-start\",\"id\":\"t\"}",
                "{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"two\"}",
                "{\"type\":\"text-end\",\"id\":\"t\"}",
                "{\"type\":\"finish\"}"),
            TailFold.Unfinished.PARTIAL);
    assertThat(folded).hasSize(1);
    assertThat(folded.get(0).message().id()).isEqualTo("a1");
    assertThat(folded.get(0).message().text()).isEqualTo("onetwo");
  }

  @Test
  @DisplayName(
      "a start that names an older message starts it over: only the message before continues")
  void olderMessageStartsOver() {
    UIMessage question = UIMessage.userText("u2", "again?");
    List<TailFold.Folded> folded =
        TailFold.fold(
            question,
            chunks(
                "{\"type\":\"start\",\"messageId\":\"a1\"}",
                "{\"type\":\"text-start\",\"id\":\"t\"}",
                "{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"fresh\"}",
                "{\"type\":\"text-end\",\"id\":\"t\"}",
                "{\"type\":\"finish\"}"),
            TailFold.Unfinished.PARTIAL);
    assertThat(folded).hasSize(1);
    assertThat(folded.get(0).message().id()).isEqualTo("a1");
    assertThat(folded.get(0).message().text()).isEqualTo("fresh");
  }

  @Test
  @DisplayName(
      "a user message before the tail lends no id: the reply gets none until a start names one")
  void userMessageLendsNoId() {
    List<TailFold.Folded> folded =
        TailFold.fold(
            UIMessage.userText("u1", "hi"),
            chunks(
                "{\"type\":\"text-start\",\"id\":\"t\"}",
                "{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"hello\"}"),
            TailFold.Unfinished.STREAMING);
    assertThat(folded).hasSize(1);
    assertThat(folded.get(0).message().id()).isEmpty();
    assertThat(folded.get(0).message().role()).isEqualTo("assistant");
    assertThat(folded.get(0).firstChunk()).isZero();
  }

  @Test
  @DisplayName(
      "an unfinished segment stays as streamed (STREAMING) or is cleaned up as a partial (PARTIAL,"
          + " H4)")
  void unfinishedSegment() {
    List<UIMessageChunk> tail =
        chunks(
            "{\"type\":\"start\",\"messageId\":\"a1\"}",
            "{\"type\":\"finish\"}",
            "{\"type\":\"start\",\"messageId\":\"a2\"}",
            "{\"type\":\"text-start\",\"id\":\"t\"}",
            "{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"half\"}",
            "{\"type\":\"tool-input-start\",\"toolCallId\":\"c1\",\"toolName\":\"x\"}");
    List<TailFold.Folded> streamed = TailFold.fold(null, tail, TailFold.Unfinished.STREAMING);
    assertThat(streamed).extracting(f -> f.message().id()).containsExactly("a1", "a2");
    assertThat(streamed.get(1).firstChunk()).isEqualTo(2);
    List<JsonObject> parts = streamed.get(1).message().parts();
    assertThat(parts)
        .extracting(p -> p.string("state").orElseThrow())
        .containsExactly("streaming", "input-streaming");

    List<TailFold.Folded> replayed = TailFold.fold(null, tail, TailFold.Unfinished.PARTIAL);
    List<JsonObject> cleaned = replayed.get(1).message().parts();
    assertThat(cleaned).hasSize(1);
    assertThat(cleaned.get(0).string("state")).hasValue("done");
  }

  @Test
  @DisplayName("a chunk that cannot be folded is handed over and skipped when a handler is given")
  void skipsBadChunks() {
    var skipped = new ArrayList<Long>();
    List<TailFold.Folded> folded =
        TailFold.fold(
            null,
            chunks(
                "{\"type\":\"start\",\"messageId\":\"a1\"}",
                "{\"type\":\"text-delta\",\"id\":\"nope\",\"delta\":\"x\"}",
                "{\"type\":\"text-start\",\"id\":\"t\"}",
                "{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"kept\"}",
                "{\"type\":\"finish\"}"),
            TailFold.Unfinished.PARTIAL,
            e -> skipped.add(e.chunkIndex()));
    assertThat(skipped).containsExactly(1L);
    assertThat(folded.get(0).message().text()).isEqualTo("kept");
  }
}
