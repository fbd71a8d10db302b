package dev.durablechat.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.UIMessageChunk;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The hub writes a chunk's batch frame straight as text; it must be the very bytes of the frame
 * built from the record's wire object, which every reader that catches up from the store gets (W6:
 * one wire form, whichever way a record reaches a reader).
 */
@DisplayName(
    "A chunk's SSE frame written as text is the frame of its wire record, byte for byte (W6)")
class ChunkFrameTest {
  private static final Instant AT = Instant.parse("2026-12-01T21:00:00.123456Z");

  @Test
  @DisplayName(
      "for text that needs escaping twice (quotes, backslashes, newlines, control characters, non-ASCII, emoji, a lone surrogate), with and without a part id")
  void sameBytes() {
    String[] deltas = {
      "plain",
      "",
      "quote \" backslash \\ slash /",
      "line\nbreak\r\ttab\b\f",
      "control \u0001\u001f",
      "é ü ß ж 中文",
      "emoji \uD83D\uDE00 pair",
      "lone \uD800 surrogate",
      "t=123456789; lorem ipsum"
    };
    for (String delta : deltas) {
      var chunk =
          new UIMessageChunk(
              JsonObject.builder()
                  .put("type", "text-delta")
                  .put("id", "t0")
                  .put("delta", delta)
                  .put("providerMetadata", JsonObject.builder().put("n", 7).put("b", true).build())
                  .build());
      for (String partId : new String[] {null, "part-1", "p\"art"}) {
        var c = new OutEvent.Chunk(chunk, partId);
        var r = new StreamRecord<OutEvent>(42, AT, c);
        long tail = AT.toEpochMilli() + 5;
        String expected =
            OutStreams.frame(
                JsonObject.builder()
                    .put("records", JsonArray.of(OutStreams.chunkWireRecord(r, c, "session_x")))
                    .put(
                        "tail",
                        JsonObject.builder()
                            .put("seq_num", JsonValue.of(43))
                            .put("timestamp", tail)
                            .build())
                    .build());
        assertThat(
                new String(OutStreams.chunkFrame(r, c, "session_x", tail), StandardCharsets.UTF_8))
            .as("delta [%s], part id [%s]", delta, partId)
            .isEqualTo(expected);
      }
    }
  }
}
