package dev.durablechat.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Messages read through an index of their offsets (a snapshot's message index, H1)")
class UIMessageReadWrittenTest {
  private static final String USER =
      "{\"id\":\"u1\",\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":\"hi\"}]}";
  private static final String ASSISTANT =
      "{\"id\":\"a1\",\"role\":\"assistant\",\"parts\":[{\"type\":\"text\",\"text\":\"yo\"}]}";

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** The messages laid out as an array after some other bytes, with their bounds. */
  private static byte[] buffer(int[] bounds, String... messages) {
    var text = new StringBuilder("{\"messages\":[");
    for (int i = 0; i < messages.length; i++) {
      if (i > 0) {
        text.append(',');
      }
      bounds[2 * i] = utf8(text.toString()).length;
      text.append(messages[i]);
      bounds[2 * i + 1] = utf8(text.toString()).length;
    }
    return utf8(text.append("]}").toString());
  }

  @Test
  @DisplayName("id and role are read at once; the parts when asked; equal to the parsed messages")
  void readsWhatWasWritten() {
    int[] bounds = new int[4];
    byte[] bytes = buffer(bounds, USER, ASSISTANT);

    List<UIMessage> read = UIMessage.readWritten(bytes, bounds, true);

    assertThat(read).containsExactly(UIMessage.parse(USER), UIMessage.parse(ASSISTANT));
    assertThat(read.get(1).id()).isEqualTo("a1");
    assertThat(read.get(1).role()).isEqualTo("assistant");
    assertThat(read.get(1).text()).isEqualTo("yo");
    assertThat(read.get(1).json().size()).isEqualTo(3);
    assertThat(read.get(0)).hasSameHashCodeAs(UIMessage.parse(USER));
  }

  @Test
  @DisplayName(
      "bytes with a valid head but broken parts: id and role read, anything past the head refused"
          + " with a clear error, never a wrong value")
  void brokenPartsAreRefusedWhenRead() {
    String broken = "{\"id\":\"u1\",\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":1,}]}";
    String wrongShape = "{\"id\":\"u2\",\"role\":\"user\",\"parts\":[{\"text\":\"no type\"}]}";
    int[] bounds = new int[4];
    byte[] bytes = buffer(bounds, broken, wrongShape);

    List<UIMessage> read = UIMessage.readWritten(bytes, bounds, true);

    assertThat(read.get(0).id()).isEqualTo("u1");
    assertThatThrownBy(() -> read.get(0).parts())
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageContaining("not a canonical message");
    assertThatThrownBy(() -> read.get(1).json().get("parts"))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageContaining("not a canonical message");
    assertThatThrownBy(() -> read.get(1).json().members())
        .isInstanceOf(InvalidPayloadException.class);
  }

  @Test
  @DisplayName(
      "a message whose head does not qualify (parts first, no role, a bad role) is checked in"
          + " full at once: kept when valid, refused by position when not")
  void headsThatDoNotQualifyAreCheckedAtOnce() {
    String partsFirst = "{\"parts\":[],\"id\":\"p\",\"role\":\"user\"}";
    int[] bounds = new int[2];
    byte[] bytes = buffer(bounds, partsFirst);
    assertThat(UIMessage.readWritten(bytes, bounds, false))
        .containsExactly(UIMessage.parse(partsFirst));

    int[] two = new int[4];
    byte[] badRole = buffer(two, USER, "{\"id\":\"x\",\"role\":\"robot\",\"parts\":[]}");
    assertThatThrownBy(() -> UIMessage.readWritten(badRole, two, true))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageStartingWith("messages[1] is invalid: message.role must be one of");
    int[] spaced = new int[2];
    byte[] withSpace = buffer(spaced, " " + USER);
    assertThat(UIMessage.readWritten(withSpace, spaced, true))
        .containsExactly(UIMessage.parse(USER));
  }

  @Test
  @DisplayName("bounds outside the bytes, or not in pairs, are refused naming the problem")
  void badBounds() {
    byte[] bytes = utf8(USER);
    assertThatThrownBy(() -> UIMessage.readWritten(bytes, new int[] {0, bytes.length + 1}, true))
        .isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> UIMessage.readWritten(bytes, new int[] {0}, true))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("bounds must hold (start, end) pairs, got [1] values");
    assertThatThrownBy(() -> UIMessage.readWritten(bytes, new int[] {0, bytes.length - 1}, true))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageStartingWith("messages[0] is invalid");
  }

  @Test
  @DisplayName("a message shared with its buffer keeps only its range: it prints and writes that")
  void sliceKeepsItsRange() {
    int[] bounds = new int[4];
    byte[] bytes = buffer(bounds, USER, ASSISTANT);

    UIMessage second = UIMessage.readWritten(bytes, bounds, true).get(1);

    assertThat(second.toString()).isEqualTo(ASSISTANT);
    assertThat(second.toJsonBytes()).isEqualTo(utf8(ASSISTANT));
    var out = java.nio.ByteBuffer.allocate(second.jsonByteLength());
    second.writeJson(out);
    assertThat(out.array()).isEqualTo(utf8(ASSISTANT));
    assertThat(second.jsonBuffer().isReadOnly()).isTrue();
    assertThat(Json.write(second.json())).isEqualTo(ASSISTANT);
  }
}
