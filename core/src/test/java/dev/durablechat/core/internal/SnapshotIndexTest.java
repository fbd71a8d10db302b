package dev.durablechat.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.Snapshot;
import dev.durablechat.api.UIMessage;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName(
    "A snapshot's message index (H1): read through when it agrees, ignored when it does not")
class SnapshotIndexTest {
  private static final String MARK = ",\"messageIndex\":{\"crc32c\":\"";

  /** Three messages, the middle one long, so that the document gets an index. */
  private static Snapshot large() {
    var messages = new ArrayList<UIMessage>();
    messages.add(UIMessage.userText("u1", "question"));
    messages.add(
        UIMessage.parse(
            "{\"id\":\"a1\",\"role\":\"assistant\",\"metadata\":{\"m\":[1,2]},\"parts\":"
                + "[{\"type\":\"text\",\"text\":\""
                + "é".repeat(SnapshotCodec.INDEX_MIN_BYTES / 2)
                + "\"},{\"type\":\"tool-x\",\"toolCallId\":\"c\",\"state\":\"input-available\","
                + "\"input\":{\"q\":\"[{\\\"]}\"}}]}"));
    messages.add(UIMessage.userText("u2", "and then?"));
    return new Snapshot(1, Instant.parse("2026-12-01T00:00:00Z"), messages, 12, 7);
  }

  private static String text(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** The document with its checksum recomputed over its (changed) messages array and lengths. */
  private static byte[] rechecked(byte[] doc) {
    String s = text(doc);
    int from = utf8(s.substring(0, s.indexOf("\"messages\":") + 11)).length;
    int to = utf8(s.substring(0, s.indexOf(",\"lastOutEventId\":"))).length;
    var crc = new CRC32C();
    crc.update(doc, from, to - from);
    int lengths = utf8(s.substring(0, s.lastIndexOf('[') + 1)).length;
    crc.update(doc, lengths, doc.length - 3 - lengths);
    String digits = String.format("%08x", crc.getValue());
    int at = utf8(s.substring(0, s.indexOf(MARK) + MARK.length())).length;
    byte[] out = doc.clone();
    System.arraycopy(utf8(digits), 0, out, at, 8);
    return out;
  }

  /** The document with the last digit of its checksum changed. */
  private static String otherChecksum(String doc) {
    int last = doc.indexOf(MARK) + MARK.length() + 7;
    char digit = Character.forDigit((Character.digit(doc.charAt(last), 16) + 1) % 16, 16);
    return doc.substring(0, last) + digit + doc.substring(last + 1);
  }

  @Test
  @DisplayName(
      "a large snapshot carries the lengths and a CRC-32C of its messages after the seed's"
          + " fields; a reader of the seed's layout sees the same document")
  void writesTheIndex() {
    Snapshot snapshot = large();

    byte[] bytes = SnapshotCodec.encode(snapshot);

    String doc = text(bytes);
    int[] lengths = snapshot.messages().stream().mapToInt(UIMessage::jsonByteLength).toArray();
    assertThat(doc)
        .startsWith("{\"version\":1,\"savedAt\":\"2026-12-01T00:00:00Z\",\"messages\":[{")
        .contains("],\"lastOutEventId\":12,\"lastInEventId\":7" + MARK)
        .endsWith(",\"lengths\":[" + lengths[0] + "," + lengths[1] + "," + lengths[2] + "]}}");
    JsonObject tree = Json.parseObject(doc);
    assertThat(tree.members().keySet())
        .containsExactly(
            "version", "savedAt", "messages", "lastOutEventId", "lastInEventId", "messageIndex");
    assertThat(SnapshotCodec.decode(bytes)).isEqualTo(snapshot);
    assertThat(rechecked(bytes)).as("the written checksum").isEqualTo(bytes);
  }

  @Test
  @DisplayName(
      "every indexed document is strict JSON, a checksum with leading zeros included (a string,"
          + " not a number)")
  void strictJson() {
    Snapshot base = large();
    int leadingZero = 0;
    for (int i = 0; i < 200; i++) {
      var messages = new ArrayList<>(base.messages());
      messages.set(2, UIMessage.userText("u2", "variant " + i));
      byte[] bytes = SnapshotCodec.encode(new Snapshot(1, Instant.EPOCH, messages, 12, 7));
      String doc = text(bytes);
      leadingZero += doc.charAt(doc.indexOf(MARK) + MARK.length()) == '0' ? 1 : 0;
      JsonObject index = (JsonObject) Json.parseObject(doc).get("messageIndex");
      assertThat(index.string("crc32c").orElseThrow()).matches("[0-9a-f]{8}");
      assertThat(SnapshotCodec.decode(bytes).messages()).isEqualTo(messages);
    }
    assertThat(leadingZero).as("checksums that start with a zero").isPositive();
  }

  @Test
  @DisplayName("the encoded length is known from the messages' lengths, with or without an index")
  void encodedLength() {
    Snapshot big = large();
    var small = new Snapshot(1, Instant.EPOCH, List.of(UIMessage.userText("u", "hi")), 3, 1);
    var none = new Snapshot(1, Instant.parse("2026-12-01T00:00:00.5Z"), List.of(), 0, 0);
    for (Snapshot s : List.of(big, small, none)) {
      assertThat(
              SnapshotCodec.encodedLength(
                  s.messages(), s.savedAt(), s.lastOutEventId(), s.lastInEventId()))
          .isEqualTo(SnapshotCodec.encode(s).length);
    }
  }

  @Test
  @DisplayName("a snapshot below the bound is written exactly as the seed's layout, no index")
  void smallHasNoIndex() {
    var small = new Snapshot(1, Instant.EPOCH, List.of(UIMessage.userText("u", "hi")), 3, 1);

    assertThat(text(SnapshotCodec.encode(small)))
        .doesNotContain("messageIndex")
        .endsWith("],\"lastOutEventId\":3,\"lastInEventId\":1}");
  }

  @Test
  @DisplayName(
      "an index that disagrees with the bytes (lengths moved, a checksum digit, a length missing,"
          + " a message byte changed) is ignored: every byte is read the checked way instead")
  void damagedIndexFallsBack() {
    Snapshot snapshot = large();
    String doc = text(SnapshotCodec.encode(snapshot));
    int[] l = snapshot.messages().stream().mapToInt(UIMessage::jsonByteLength).toArray();
    String lengths = "\"lengths\":[" + l[0] + "," + l[1] + "," + l[2] + "]";

    List<String> damaged =
        List.of(
            doc.replace(
                lengths, "\"lengths\":[" + (l[0] + 1) + "," + (l[1] - 1) + "," + l[2] + "]"),
            doc.replace(lengths, "\"lengths\":[" + l[0] + "," + (l[1] + l[2] + 1) + "]"),
            doc.replace(lengths, "\"lengths\":[" + l[0] + "," + l[1] + "]"),
            otherChecksum(doc),
            doc.replace(MARK, MARK + "1"));
    for (String d : damaged) {
      assertThat(d).isNotEqualTo(doc);
      assertThat(SnapshotCodec.decode(utf8(d)))
          .as(d.substring(d.indexOf(MARK)))
          .isEqualTo(snapshot);
    }

    // A byte of a message changed, still valid JSON: the checksum no longer agrees, so the
    // message is read (and checked) as it is stored, not as the index would have it.
    String changed = doc.replace("\"text\":\"question\"", "\"text\":\"questioN\"");
    Snapshot read = SnapshotCodec.decode(utf8(changed));
    assertThat(read.messages().get(0).text()).isEqualTo("questioN");
    assertThat(read.messages().subList(1, 3)).isEqualTo(snapshot.messages().subList(1, 3));

    // An index that is not JSON makes the document not JSON: refused, as any such document.
    String trailingComma =
        doc.replace(lengths, "\"lengths\":[" + l[0] + "," + l[1] + "," + l[2] + ",]");
    assertThatThrownBy(() -> SnapshotCodec.decode(utf8(trailingComma)))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageStartingWith("snapshot is not readable");
    // Cut inside the index: not a document at all.
    assertThatThrownBy(() -> SnapshotCodec.decode(utf8(doc.substring(0, doc.length() - 4))))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageStartingWith("snapshot is not readable");
  }

  @Test
  @DisplayName(
      "a message whose bytes were forged under a recomputed checksum: its id and role are read, its"
          + " parts are refused with a clear error when read, never a wrong value")
  void forgedUnderAValidChecksum() {
    Snapshot snapshot = large();
    String doc = text(SnapshotCodec.encode(snapshot));
    // Same length: the index's lengths still tile the array.
    byte[] forged =
        rechecked(
            utf8(
                doc.replace(
                        "\"type\":\"text\",\"text\":\"question\"}",
                        "\"type\":\"text\",\"text\":\"question\",}")
                    .replace(
                        "\"id\":\"u1\",\"role\":\"user\",\"parts\":[{",
                        "\"id\":\"u1\",\"role\":\"user\",\"parts\":[")));

    Snapshot read = SnapshotCodec.decode(forged);

    UIMessage first = read.messages().get(0);
    assertThat(first.id()).isEqualTo("u1");
    assertThat(first.role()).isEqualTo("user");
    assertThatThrownBy(first::parts)
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageContaining("not a canonical message");
    assertThat(read.messages().get(1)).isEqualTo(snapshot.messages().get(1));
  }

  @Test
  @DisplayName(
      "messages decoded without sharing own their bytes: the content may be reused afterwards;"
          + " shared ones are slices that equal and hash as their trees")
  void sharingAndCopying() {
    Snapshot snapshot = large();
    byte[] content = SnapshotCodec.encode(snapshot);

    List<UIMessage> shared = SnapshotCodec.decode(content, true).messages();
    List<UIMessage> copied = SnapshotCodec.decode(content, false).messages();
    Arrays.fill(content, (byte) ' ');

    assertThat(copied).isEqualTo(snapshot.messages());
    for (int i = 0; i < copied.size(); i++) {
      UIMessage tree =
          new UIMessage(
              snapshot.messages().get(i).json().members().isEmpty()
                  ? snapshot.messages().get(i).json()
                  : JsonObject.of(snapshot.messages().get(i).json().members()));
      assertThat(copied.get(i)).isEqualTo(tree).hasSameHashCodeAs(tree);
      assertThat(copied.get(i).parts()).isEqualTo(tree.parts());
    }
    assertThat(shared).hasSize(3);
  }

  @Test
  @DisplayName(
      "a kept array is charged what the collector rounds it to: small arrays as they are, an array"
          + " of half a region or more in whole regions")
  void footprint() {
    long mb = 1 << 20;
    assertThat(RetainedBytes.footprint(100_000, 4 * mb)).isEqualTo(100_000);
    assertThat(RetainedBytes.footprint(2 * mb, 4 * mb)).isEqualTo(4 * mb);
    assertThat(RetainedBytes.footprint(7 * mb, 16 * mb)).isEqualTo(7 * mb);
    assertThat(RetainedBytes.footprint(9 * mb, 16 * mb)).isEqualTo(16 * mb);
    assertThat(RetainedBytes.footprint(9 * mb, mb)).isEqualTo(9 * mb);
    assertThat(RetainedBytes.footprint(9 * mb + 1, mb)).isEqualTo(10 * mb);
    assertThat(RetainedBytes.keep(1000, 1000)).isTrue();
    assertThat(RetainedBytes.keep(1000, 700)).as("30% dead").isFalse();
  }
}
