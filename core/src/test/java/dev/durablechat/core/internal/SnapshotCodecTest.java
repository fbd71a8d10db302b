package dev.durablechat.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.Environment;
import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.Snapshot;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.UIMessage;
import dev.durablechat.storage.memory.MemorySnapshotStore;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("The snapshot codec (H1)")
class SnapshotCodecTest {

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  @DisplayName("writes the H1 document and reads it back unchanged, unknown message fields too")
  void roundTrip() {
    UIMessage user = UIMessage.userText("u1", "hello");
    UIMessage assistant =
        UIMessage.parse(
            "{\"id\":\"a1\",\"role\":\"assistant\",\"x-new\":1.50,"
                + "\"parts\":[{\"type\":\"text\",\"text\":\"hi\",\"state\":\"done\"}]}");
    var snapshot =
        new Snapshot(1, Instant.parse("2026-11-29T04:00:00.123Z"), List.of(user, assistant), 7, 3);

    byte[] bytes = SnapshotCodec.encode(snapshot);

    assertThat(new String(bytes, StandardCharsets.UTF_8))
        .startsWith("{\"version\":1,\"savedAt\":\"2026-11-29T04:00:00.123Z\",\"messages\":[")
        .endsWith("],\"lastOutEventId\":7,\"lastInEventId\":3}")
        .contains("\"x-new\":1.50");
    assertThat(SnapshotCodec.decode(bytes)).isEqualTo(snapshot);
  }

  @Test
  @DisplayName("a snapshot written to a snapshot store reads back equal")
  void throughStore() {
    var snapshot =
        new Snapshot(
            1, Instant.parse("2026-11-29T04:00:00Z"), List.of(UIMessage.userText("u", "é")), 4, 2);
    var key = new SnapshotKey(new Environment("proj", "test"), "session_abc");
    try (var store = new MemorySnapshotStore()) {
      store.write(key, SnapshotCodec.encode(snapshot), null);

      assertThat(SnapshotCodec.decode(store.read(key).orElseThrow().content())).isEqualTo(snapshot);
    }
  }

  @Test
  @DisplayName("refuses an unknown version clearly, so the caller treats it as no snapshot")
  void unknownVersion() {
    byte[] v2 =
        utf8(
            "{\"version\":2,\"savedAt\":\"2026-11-29T04:00:00Z\",\"messages\":[],"
                + "\"lastOutEventId\":0,\"lastInEventId\":0}");

    assertThatThrownBy(() -> SnapshotCodec.decode(v2))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessage("snapshot version [2] is not supported, expected [1]");
  }

  @ParameterizedTest(name = "{0}")
  @DisplayName("refuses malformed or mistyped content as an invalid payload")
  @ValueSource(
      strings = {
        "not json",
        "[]",
        "{\"version\":1}",
        "{\"version\":1,\"savedAt\":\"yesterday\",\"messages\":[],\"lastOutEventId\":0,"
            + "\"lastInEventId\":0}",
        "{\"version\":1,\"savedAt\":\"2026-11-29T04:00:00Z\",\"messages\":{},"
            + "\"lastOutEventId\":0,\"lastInEventId\":0}",
        "{\"version\":1,\"savedAt\":\"2026-11-29T04:00:00Z\",\"messages\":[{\"id\":\"m\"}],"
            + "\"lastOutEventId\":0,\"lastInEventId\":0}",
        "{\"version\":1,\"savedAt\":\"2026-11-29T04:00:00Z\",\"messages\":[],"
            + "\"lastOutEventId\":-1,\"lastInEventId\":0}",
        "{\"version\":1,\"savedAt\":\"2026-11-29T04:00:00Z\",\"messages\":[],"
            + "\"lastOutEventId\":1.5,\"lastInEventId\":0}",
      })
  void malformed(String content) {
    assertThatThrownBy(() -> SnapshotCodec.decode(utf8(content)))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageStartingWith("snapshot");
  }

  private static Snapshot sample() {
    return new Snapshot(
        1,
        Instant.parse("2026-11-29T04:00:00.123Z"),
        List.of(
            UIMessage.userText("u1", "héllo \"quoted\" [{]} 😀 \ud83d"),
            UIMessage.parse(
                "{\"id\":\"a1\",\"role\":\"assistant\",\"metadata\":{\"n\":1.50},"
                    + "\"parts\":[{\"type\":\"tool-search\",\"toolCallId\":\"c\","
                    + "\"state\":\"output-available\",\"input\":{\"q\":[\"a\",{\"b\":null}]},"
                    + "\"output\":{\"hits\":[1,2,3]}}]}"),
            UIMessage.userText("u2", "")),
        9,
        4);
  }

  @Test
  @DisplayName("writes the same bytes as encoding the whole document as one tree")
  void sameBytesAsTheTree() {
    Snapshot snapshot = sample();
    var messages = new java.util.ArrayList<dev.durablechat.api.JsonValue>();
    snapshot
        .messages()
        .forEach(m -> messages.add(m.json().members().isEmpty() ? m.json() : tree(m)));
    var tree =
        dev.durablechat.api.JsonObject.builder()
            .put("version", 1)
            .put("savedAt", "2026-11-29T04:00:00.123Z")
            .put("messages", dev.durablechat.api.JsonArray.adopt(messages))
            .put("lastOutEventId", 9)
            .put("lastInEventId", 4)
            .build();

    assertThat(SnapshotCodec.encode(snapshot)).isEqualTo(JsonCodec.writeBytes(tree));
    assertThat(SnapshotCodec.encodeMessages(snapshot.messages()))
        .isEqualTo(JsonCodec.writeBytes(dev.durablechat.api.JsonArray.adopt(messages)));
    assertThat(SnapshotCodec.encodeMessages(List.of())).isEqualTo(utf8("[]"));
  }

  /** The message as a plain tree, bound again from its text. */
  private static dev.durablechat.api.JsonObject tree(UIMessage m) {
    return (dev.durablechat.api.JsonObject) dev.durablechat.api.Json.parse(m.toString());
  }

  @Test
  @DisplayName("reads a snapshot written with white space and members in another order (H1)")
  void nonCanonical() {
    Snapshot snapshot = sample();
    String compact = new String(SnapshotCodec.encode(snapshot), StandardCharsets.UTF_8);
    String spaced =
        "{ \"lastInEventId\" : 4,\n \"messages\" : [ "
            + String.join(" ,\n ", snapshot.messages().stream().map(UIMessage::toString).toList())
            + " ] , \"savedAt\":\"2026-11-29T04:00:00.123Z\", \"version\":1,\"lastOutEventId\":9 }";

    assertThat(SnapshotCodec.decode(utf8(spaced))).isEqualTo(snapshot);
    assertThat(SnapshotCodec.encode(SnapshotCodec.decode(utf8(spaced)))).isEqualTo(utf8(compact));
  }

  @Test
  @DisplayName("refuses every truncation of a snapshot as unreadable, building nothing (H1)")
  void truncated() {
    byte[] whole = SnapshotCodec.encode(sample());
    for (int length = 0; length < whole.length; length++) {
      byte[] cut = java.util.Arrays.copyOf(whole, length);
      assertThatThrownBy(() -> SnapshotCodec.decode(cut))
          .as("cut at %d", length)
          .isInstanceOf(InvalidPayloadException.class)
          .hasMessageStartingWith("snapshot");
    }
    assertThat(SnapshotCodec.decode(whole)).isEqualTo(sample());
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @DisplayName("refuses a message that is not valid json, naming the message (H1)")
  @ValueSource(
      strings = {
        "{\"id\":\"m\",\"role\":\"user\",\"parts\":[x]}",
        "{\"id\":\"m\",\"role\":\"user\",\"parts\":[],\"x\":\"\\q\"}",
        "{\"id\":\"m\",\"role\":\"user\",\"parts\":[],\"x\":01}",
        "{\"id\":\"m\",\"role\":\"user\",\"parts\":[{}]}"
      })
  void invalidMessage(String message) {
    byte[] content =
        utf8(
            "{\"version\":1,\"savedAt\":\"2026-11-29T04:00:00Z\",\"messages\":["
                + UIMessage.userText("ok", "fine")
                + ","
                + message
                + "],\"lastOutEventId\":0,\"lastInEventId\":0}");

    assertThatThrownBy(() -> SnapshotCodec.decode(content))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageStartingWith("snapshot.messages[1] is invalid: ");
  }

  @Test
  @DisplayName("refuses bytes that are not UTF-8 inside a message (H1)")
  void notUtf8() {
    byte[] content = SnapshotCodec.encode(sample());
    String text = new String(content, StandardCharsets.UTF_8);
    // the byte offset of the last message's id (the text before it has multi-byte characters)
    int at = text.substring(0, text.indexOf("\"u2\"") + 1).getBytes(StandardCharsets.UTF_8).length;
    content[at] = (byte) 0xC3; // a lead byte without its continuation

    assertThatThrownBy(() -> SnapshotCodec.decode(content))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageContaining("utf-8");
  }

  @Test
  @DisplayName("a document that only looks like the writer's layout is read by its members")
  void looksLikeTheLayout() {
    String user = UIMessage.userText("u", "],\"lastOutEventId\":5,\"lastInEventId\":6}").toString();
    byte[] content =
        utf8(
            "{\"version\":1,\"savedAt\":\"2026-11-29T04:00:00Z\",\"messages\":["
                + user
                + "],\"x-extra\":[1],\"lastOutEventId\":3,\"lastInEventId\":2}");

    Snapshot snapshot = SnapshotCodec.decode(content);

    assertThat(snapshot.messages()).containsExactly(UIMessage.parse(user));
    assertThat(snapshot.lastOutEventId()).isEqualTo(3);
    assertThat(snapshot.lastInEventId()).isEqualTo(2);
  }
}
