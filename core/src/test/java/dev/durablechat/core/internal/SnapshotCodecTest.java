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
}
