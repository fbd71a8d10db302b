package dev.durablechat.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.Snapshot;
import dev.durablechat.core.internal.SnapshotManifest.Segment;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The version 2 snapshot.json: a manifest of segments (H1)")
class SnapshotManifestTest {
  private static final Instant AT = Instant.parse("2026-12-01T18:00:00Z");

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  @DisplayName(
      "a manifest reads back as written, and is told from a version 1 document by its start")
  void roundTrip() {
    var manifest =
        new SnapshotManifest(
            AT,
            42,
            7,
            5,
            List.of(
                new Segment("1-base", 0, 4, 1000, 2, 120), new Segment("42-delta", 3, 2, 300, 0)));

    byte[] bytes = manifest.encode();

    assertThat(SnapshotManifest.isManifest(bytes)).isTrue();
    assertThat(SnapshotManifest.decode(bytes)).isEqualTo(manifest);
    assertThat(new String(bytes, StandardCharsets.UTF_8))
        .startsWith("{\"version\":2,")
        .contains("\"dead\":120")
        .doesNotContain("\"dead\":0");
    byte[] v1 = SnapshotCodec.encode(new Snapshot(1, AT, List.of(), 0, 0));
    assertThat(SnapshotManifest.isManifest(v1)).isFalse();
    assertThat(SnapshotManifest.isManifest(utf8("{\"version\":2"))).isFalse();
  }

  @Test
  @DisplayName("a manifest that does not add up is refused, naming what is wrong")
  void refusals() {
    String head =
        "{\"version\":2,\"savedAt\":\"2026-12-01T18:00:00Z\",\"lastOutEventId\":1,"
            + "\"lastInEventId\":1,";
    assertThatThrownBy(
            () ->
                SnapshotManifest.decode(
                    utf8(
                        head
                            + "\"messages\":3,\"segments\":[{\"name\":\"a\",\"from\":0,"
                            + "\"count\":2,\"bytes\":10,\"tier\":2}]}")))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageContaining("give [2] messages, the manifest says [3]");
    assertThatThrownBy(
            () ->
                SnapshotManifest.decode(
                    utf8(
                        head
                            + "\"messages\":2,\"segments\":[{\"name\":\"a\",\"from\":1,"
                            + "\"count\":2,\"bytes\":10,\"tier\":2}]}")))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageContaining("segments[0] truncates to [1] of [0]");
    assertThatThrownBy(
            () ->
                SnapshotManifest.decode(
                    utf8(
                        head
                            + "\"messages\":1,\"segments\":[{\"name\":\"../x\",\"from\":0,"
                            + "\"count\":1,\"bytes\":10,\"tier\":2}]}")))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageContaining("name [../x] is not a segment name");
    assertThatThrownBy(() -> SnapshotManifest.decode(utf8("{\"version\":2,")))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageContaining("not readable");
  }
}
