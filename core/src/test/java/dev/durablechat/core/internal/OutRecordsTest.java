package dev.durablechat.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.UIMessageChunk;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The one codec of out records (W6)")
class OutRecordsTest {

  @Test
  @DisplayName(
      "writes a chunk record as its JSON object {data, id}, byte for byte, and reads it back")
  void chunkRecordsRoundTrip() {
    for (String text :
        new String[] {
          "plain", "", "\"starts", "ends\n", "\ud83d", "x\ud83d", "\ude00y", "😀", "a\u001fb\\c"
        }) {
      var chunk =
          new UIMessageChunk(
              JsonObject.builder()
                  .put("type", "text-delta")
                  .put("id", "t0")
                  .put("delta", text)
                  .build());
      for (OutEvent.Chunk event :
          new OutEvent.Chunk[] {
            OutEvent.Chunk.of(chunk), new OutEvent.Chunk(chunk, "p\"" + text)
          }) {
        JsonObject json =
            JsonObject.builder()
                .put("data", chunk.json())
                .putIfNotNull("id", event.partId())
                .build();
        String stored = OutRecords.encode(event);
        assertThat(stored)
            .isEqualTo(Json.write(json))
            .isEqualTo(new String(JsonCodec.writeBytes(json), StandardCharsets.UTF_8));
        assertThat(OutRecords.decode(stored)).isEqualTo(event);
        assertThat(OutRecords.mayBeControl(stored)).isFalse();
      }
    }
    assertThat(OutRecords.encode(OutEvent.Chunk.of(UIMessageChunk.parse("{\"type\":\"start\"}"))))
        .isEqualTo("{\"data\":{\"type\":\"start\"}}");
  }

  @Test
  @DisplayName("writes the control records turn-complete and upgrade-required, and reads them back")
  void controlRecordsRoundTrip() {
    assertThat(OutRecords.encode(new OutEvent.TurnComplete(7)))
        .isEqualTo("{\"control\":\"turn-complete\",\"sessionInEventId\":7}");
    assertThat(OutRecords.encode(new OutEvent.UpgradeRequired()))
        .isEqualTo("{\"control\":\"upgrade-required\"}");
    for (OutEvent event :
        new OutEvent[] {new OutEvent.TurnComplete(7), new OutEvent.UpgradeRequired()}) {
      String stored = OutRecords.encode(event);
      assertThat(OutRecords.decode(stored)).isEqualTo(event);
      assertThat(OutRecords.mayBeControl(stored)).isTrue();
    }
  }

  @Test
  @DisplayName("refuses a record that is neither a chunk nor a known control record, naming why")
  void refusesUnknownRecords() {
    assertThatThrownBy(() -> OutRecords.decode("{\"x\":1}"))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessage("out record must have a data object or a control name, got [{\"x\":1}]");
    assertThatThrownBy(() -> OutRecords.decode("{\"control\":\"reboot\"}"))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessage("unknown out control record [reboot]");
    assertThatThrownBy(() -> OutRecords.decode("{\"control\":\"turn-complete\"}"))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessage("turn-complete needs a numeric sessionInEventId");
    assertThatThrownBy(() -> OutRecords.decode("{\"data\":{\"id\":\"t\"}}"))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageContaining("type");
    assertThatThrownBy(() -> OutRecords.decode("not json"))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageStartingWith("invalid json at offset 0");
  }
}
