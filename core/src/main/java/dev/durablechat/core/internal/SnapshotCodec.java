package dev.durablechat.core.internal;

import dev.durablechat.api.InvalidInputException;
import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonNumber;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonString;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.Snapshot;
import dev.durablechat.api.UIMessage;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;
import org.jspecify.annotations.Nullable;

/**
 * Reads and writes the snapshot document (PROTOCOL H1): {@code {"version":1,"savedAt":"<ISO-8601
 * instant>","messages":[...],"lastOutEventId":N,"lastInEventId":M}}. Not public API.
 *
 * <p>Messages are kept as their canonical JSON bytes ({@link UIMessage}), so writing the document
 * concatenates them (a message is never re-encoded). Reading it cuts the {@code messages} array out
 * without reading it: found from both ends when the document is laid out as this class writes it,
 * else by a structural scan ({@link JsonScanner}); the array goes to {@link UIMessage#parseArray},
 * which checks every byte of every message in one pass and binds only the ids and roles (a wrong
 * guess of the range fails there, and the scan takes over). The rest of the document is parsed as
 * before.
 *
 * <p>Decoding refuses anything it cannot vouch for (malformed JSON anywhere, bytes that are not
 * UTF-8, an unknown version, a missing or mistyped field, an invalid message) with an {@link
 * InvalidPayloadException}, so that the caller can log it and treat the snapshot as absent: the
 * {@code out} stream is the truth. A decoded message is fully checked, so reading its parts later
 * cannot fail.
 */
public final class SnapshotCodec {
  private static final byte COMMA = ',';

  private SnapshotCodec() {}

  /**
   * The snapshot's JSON document as UTF-8 bytes: the messages' own bytes, concatenated, and when
   * they are {@value #INDEX_MIN_BYTES} bytes or more, after the fields the seed wrote, an index of
   * where each message lies with a checksum of the array, {@code
   * "messageIndex":{"crc32c":"C","lengths":[l0,l1,...]}} (l: each message's length in bytes; C: the
   * CRC-32C of the array's bytes followed by the bytes between the lengths' brackets, as eight
   * lowercase hex digits, so that neither can change unnoticed). Readers that do not know the index
   * ignore it; this one reads the messages through it without tokenizing them.
   */
  public static byte[] encode(Snapshot snapshot) {
    byte[] head =
        ("{\"version\":"
                + snapshot.version()
                + ",\"savedAt\":"
                + Json.write(new JsonString(snapshot.savedAt().toString()))
                + ",\"messages\":")
            .getBytes(StandardCharsets.UTF_8);
    List<UIMessage> messages = snapshot.messages();
    int arrayLength = messagesLength(messages);
    var index = new StringBuilder(32 + 6 * messages.size());
    index
        .append(",\"lastOutEventId\":")
        .append(snapshot.lastOutEventId())
        .append(",\"lastInEventId\":")
        .append(snapshot.lastInEventId());
    int tailStart = index.length();
    boolean indexed = arrayLength >= INDEX_MIN_BYTES;
    if (!indexed) {
      index.append('}');
    } else {
      index.append(",\"messageIndex\":{\"crc32c\":\"00000000\",\"lengths\":[");
      for (int i = 0; i < messages.size(); i++) {
        if (i > 0) {
          index.append(',');
        }
        index.append(messages.get(i).jsonByteLength());
      }
      index.append("]}}");
    }
    byte[] tail = index.toString().getBytes(StandardCharsets.US_ASCII);
    var out = ByteBuffer.allocate(Math.addExact(head.length + tail.length, arrayLength));
    out.put(head);
    writeMessages(messages, out);
    if (!indexed) {
      out.put(tail);
      return out.array();
    }
    var crc = new CRC32C();
    crc.update(out.array(), head.length, arrayLength);
    int lengthsFrom = tailStart + CRC_AT + 8 + INDEX_LENGTHS.length;
    crc.update(tail, lengthsFrom, tail.length - 3 - lengthsFrom);
    // The checksum as eight lowercase hex digits in a string (a JSON number may not start with a
    // zero), written in place.
    long value = crc.getValue();
    for (int i = 7; i >= 0; i--) {
      tail[tailStart + CRC_AT + i] = (byte) Character.forDigit((int) (value & 0xf), 16);
      value >>>= 4;
    }
    out.put(tail);
    return out.array();
  }

  /**
   * The length of {@link #encode}'s result for a snapshot of these fields, computed from the
   * messages' lengths without encoding anything (to size a segment before choosing it).
   */
  public static long encodedLength(
      List<UIMessage> messages, Instant savedAt, long lastOutEventId, long lastInEventId) {
    long head =
        ("{\"version\":"
                + Snapshot.CURRENT_VERSION
                + ",\"savedAt\":"
                + Json.write(new JsonString(savedAt.toString()))
                + ",\"messages\":")
            .getBytes(StandardCharsets.UTF_8)
            .length;
    long array = messagesLength(messages);
    long tail =
        (",\"lastOutEventId\":" + lastOutEventId + ",\"lastInEventId\":" + lastInEventId + "}")
            .length();
    if (array >= INDEX_MIN_BYTES) {
      tail += CRC_AT + 8 + INDEX_LENGTHS.length + Math.max(0, messages.size() - 1) + 2;
      for (UIMessage m : messages) {
        tail += Integer.toString(m.jsonByteLength()).length();
      }
    }
    return head + array + tail;
  }

  /**
   * A messages array this long or longer gets a message index: below it, tokenizing the array costs
   * about as little as reading an index would (some microseconds), and a small segment's bytes stay
   * what the seed's layout writes.
   */
  public static final int INDEX_MIN_BYTES = 16 * 1024;

  /** Where the checksum's eight hex digits start in the index member. */
  private static final int CRC_AT = ",\"messageIndex\":{\"crc32c\":\"".length();

  /**
   * The JSON array of the messages as UTF-8 bytes, {@code [m1,m2,...]}, each message's own bytes
   * copied once.
   */
  public static byte[] encodeMessages(List<UIMessage> messages) {
    var out = ByteBuffer.allocate(messagesLength(messages));
    writeMessages(messages, out);
    return out.array();
  }

  /** The length in bytes of {@link #encodeMessages}' result. */
  public static int messagesLength(List<UIMessage> messages) {
    long length = 2 + Math.max(0, messages.size() - 1);
    for (UIMessage m : messages) {
      length += m.jsonByteLength();
    }
    return Math.toIntExact(length);
  }

  /** Puts {@link #encodeMessages}' bytes into the buffer. */
  public static void writeMessages(List<UIMessage> messages, ByteBuffer out) {
    out.put((byte) '[');
    for (int i = 0; i < messages.size(); i++) {
      if (i > 0) {
        out.put(COMMA);
      }
      messages.get(i).writeJson(out);
    }
    out.put((byte) ']');
  }

  /**
   * Reads a JSON array of messages from {@code utf8[offset, offset + length)} (see {@link
   * UIMessage#parseArray}).
   *
   * @throws InvalidPayloadException naming the message and what is wrong with it
   */
  public static List<UIMessage> decodeMessages(byte[] utf8, int offset, int length) {
    return UIMessage.parseArray(utf8, offset, length);
  }

  /**
   * Reads a snapshot document; its messages keep their ranges of {@code content} when keeping the
   * whole array costs little more heap than its bytes ({@link RetainedBytes}), else a copy each
   * (see {@link #decode(byte[], boolean)}).
   *
   * @throws InvalidPayloadException if the content is not a version {@value
   *     Snapshot#CURRENT_VERSION} snapshot, naming what is wrong
   */
  public static Snapshot decode(byte[] content) {
    return decode(content, RetainedBytes.keep(content.length, content.length));
  }

  /**
   * Reads a snapshot document. Laid out as {@link #encode} writes it, with a message index whose
   * lengths and checksum agree with the bytes, the messages are read through the index: each one's
   * id and role now, the rest when first used ({@link UIMessage#readWritten}); otherwise (the
   * seed's layout, another writer's, a damaged index) every byte is checked as before. With {@code
   * share} the messages keep their ranges of {@code content} (which must never be modified), else a
   * copy each: sharing costs no copy when most of the content stays live, copying lets go of
   * content whose messages mostly die.
   *
   * @throws InvalidPayloadException if the content is not a version {@value
   *     Snapshot#CURRENT_VERSION} snapshot, naming what is wrong
   */
  public static Snapshot decode(byte[] content, boolean share) {
    Indexed indexed = indexed(content);
    if (indexed != null) {
      try {
        return decode(
            parse(indexed.header(content)),
            null,
            content,
            UIMessage.readWritten(content, indexed.bounds(), share),
            share);
      } catch (InvalidPayloadException e) {
        // Not what it looked like: the general path below says what is wrong, and why.
      }
    }
    int[] layout = writerLayout(content);
    if (layout != null) {
      try {
        return decodeAround(content, layout, share);
      } catch (InvalidPayloadException e) {
        // Not what it looked like, or invalid: the general path below says which, and why.
      }
    }
    int[] range;
    try {
      range = JsonScanner.member(content, "messages");
    } catch (InvalidPayloadException e) {
      throw new InvalidPayloadException("snapshot is not readable: " + e.getMessage(), e);
    }
    if (range == null || content[range[0]] != '[') {
      // No array spelled plainly: the whole document goes the slow way, which names the problem.
      return decode(parse(content), null, new byte[0], null, false);
    }
    return decodeAround(content, range, share);
  }

  /**
   * A document laid out as {@link #encode} writes it: the messages array at {@code [from, to)}, the
   * watermarks' digits, and the message index, whose lengths and checksum agree with the array.
   */
  private record Indexed(int from, int to, int tailFrom, int tailTo, int[] bounds) {
    /** The document with an empty array for the messages and without the index: small. */
    byte[] header(byte[] c) {
      byte[] h = new byte[from + 2 + (tailTo - tailFrom) + 1];
      System.arraycopy(c, 0, h, 0, from);
      h[from] = '[';
      h[from + 1] = ']';
      System.arraycopy(c, tailFrom, h, from + 2, tailTo - tailFrom);
      h[h.length - 1] = '}';
      return h;
    }
  }

  private static final byte[] INDEX_CRC = ascii(",\"messageIndex\":{\"crc32c\":\"");
  private static final byte[] INDEX_LENGTHS = ascii("\",\"lengths\":[");

  /**
   * The layout and message bounds of a document written by {@link #encode}, or null if it is not
   * laid out so or its index does not agree with its bytes (lengths that do not tile the array with
   * commas between objects, or a checksum that differs): such a document is read the checked way,
   * so a damaged index never yields a wrong message.
   */
  private static @Nullable Indexed indexed(byte[] c) {
    int p = messagesStart(c);
    int n = c.length;
    if (p < 0 || n < 3 || c[n - 1] != '}' || c[n - 2] != '}' || c[n - 3] != ']') {
      return null;
    }
    int open = n - 3;
    while (open > p && (c[open - 1] == ',' || (c[open - 1] >= '0' && c[open - 1] <= '9'))) {
      open--;
    }
    int q = endsWith(c, open, INDEX_LENGTHS);
    int crcDigits = q - 8;
    int indexStart = q < 0 ? -1 : endsWith(c, crcDigits, INDEX_CRC);
    int tailTo = indexStart;
    q = digitsBack(c, indexStart);
    q = endsWith(c, q, TAIL_IN);
    q = digitsBack(c, q);
    q = endsWith(c, q, TAIL_OUT);
    if (q <= p || crcDigits < q || c[p] != '[' || c[q - 1] != ']') {
      return null;
    }
    long crc = 0;
    for (int i = crcDigits; i < crcDigits + 8; i++) {
      int digit = Character.digit(c[i], 16);
      if (digit < 0 || (c[i] >= 'A' && c[i] <= 'F')) {
        return null;
      }
      crc = crc << 4 | digit;
    }
    // The lengths tile the array: '[' m0 ',' m1 ... ']', each message an object.
    var bounds = new int[16];
    int count = 0;
    int at = p + 1;
    int i = open;
    while (i < n - 3) {
      long length = 0;
      int start = i;
      while (i < n - 3 && c[i] >= '0' && c[i] <= '9' && i - start < 10) {
        length = length * 10 + (c[i] - '0');
        i++;
      }
      if (i == start || (i < n - 3 && c[i] != ',')) {
        return null;
      }
      if (i < n - 3) {
        i++; // ','
        if (i == n - 3) {
          return null; // a trailing comma
        }
      }
      if (count > 0) {
        if (at >= q || c[at] != ',') {
          return null;
        }
        at++;
      }
      if (length < 2 || at + length > q - 1 || c[at] != '{' || c[at + (int) length - 1] != '}') {
        return null;
      }
      if (2 * count + 2 > bounds.length) {
        bounds = Arrays.copyOf(bounds, bounds.length * 2);
      }
      bounds[2 * count] = at;
      bounds[2 * count + 1] = at + (int) length;
      count++;
      at += (int) length;
    }
    if (at != q - 1) {
      return null; // the lengths do not reach the array's end
    }
    var check = new CRC32C();
    check.update(c, p, q - p);
    check.update(c, open, n - 3 - open);
    if (check.getValue() != crc) {
      return null;
    }
    return new Indexed(p, q, q, tailTo, Arrays.copyOf(bounds, 2 * count));
  }

  /** Decodes the document whose messages array is exactly {@code content[range[0], range[1])}. */
  private static Snapshot decodeAround(byte[] content, int[] range, boolean share) {
    // The document without its messages (an empty array in their place) is small: parse it as any
    // JSON; the messages are read straight from their bytes.
    int arrayLength = range[1] - range[0];
    byte[] header = new byte[content.length - arrayLength + 2];
    System.arraycopy(content, 0, header, 0, range[0]);
    header[range[0]] = '[';
    header[range[0] + 1] = ']';
    System.arraycopy(content, range[1], header, range[0] + 2, content.length - range[1]);
    return decode(parse(header), new int[] {range[0], arrayLength}, content, null, share);
  }

  private static final byte[] HEAD_VERSION = ascii("{\"version\":");
  private static final byte[] HEAD_SAVED_AT = ascii(",\"savedAt\":\"");
  private static final byte[] HEAD_MESSAGES = ascii("\",\"messages\":");
  private static final byte[] TAIL_OUT = ascii(",\"lastOutEventId\":");
  private static final byte[] TAIL_IN = ascii(",\"lastInEventId\":");

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * Where the messages array starts if the document begins as {@link #encode} writes it ({@code
   * {"version":1,"savedAt":"…","messages":}), else a negative number.
   */
  private static int messagesStart(byte[] c) {
    int p = startsWith(c, 0, HEAD_VERSION);
    p = digits(c, p);
    p = startsWith(c, p, HEAD_SAVED_AT);
    while (p >= 0 && p < c.length && c[p] != '"' && c[p] != '\\') {
      p++;
    }
    return startsWith(c, p, HEAD_MESSAGES);
  }

  /**
   * Where the messages array lies if the document is laid out as {@link #encode} writes it ({@code
   * {"version":1,"savedAt":"…","messages":[…],"lastOutEventId":N,"lastInEventId":M}}), found from
   * both ends without reading the array; null otherwise. Only a guess: the array is then read as
   * exactly that range, which fails unless the guess was right.
   */
  private static int @Nullable [] writerLayout(byte[] c) {
    int p = messagesStart(c);
    int q = c.length - 1;
    if (p < 0 || q <= p || c[q] != '}') {
      return null;
    }
    q = digitsBack(c, q);
    q = endsWith(c, q, TAIL_IN);
    q = digitsBack(c, q);
    q = endsWith(c, q, TAIL_OUT);
    return q > p ? new int[] {p, q} : null;
  }

  /** The offset after {@code expected} if it is at {@code p}, else -1. */
  private static int startsWith(byte[] c, int p, byte[] expected) {
    if (p < 0 || p + expected.length > c.length) {
      return -1;
    }
    return Arrays.equals(c, p, p + expected.length, expected, 0, expected.length)
        ? p + expected.length
        : -1;
  }

  private static int digits(byte[] c, int p) {
    int start = p;
    while (p >= 0 && p < c.length && c[p] >= '0' && c[p] <= '9') {
      p++;
    }
    return p > start ? p : -1;
  }

  /** The offset of the first of the digits that end just before {@code q}, else -1. */
  private static int digitsBack(byte[] c, int q) {
    int p = q;
    while (p > 0 && c[p - 1] >= '0' && c[p - 1] <= '9') {
      p--;
    }
    return q > 0 && p < q ? p : -1;
  }

  /** The offset where {@code expected} starts if it ends just before {@code q}, else -1. */
  private static int endsWith(byte[] c, int q, byte[] expected) {
    if (q < expected.length) {
      return -1;
    }
    int p = q - expected.length;
    return Arrays.equals(c, p, q, expected, 0, expected.length) ? p : -1;
  }

  private static JsonObject parse(byte[] content) {
    try {
      return JsonCodec.parseObject(content);
    } catch (InvalidPayloadException e) {
      throw new InvalidPayloadException("snapshot is not readable: " + e.getMessage(), e);
    }
  }

  /**
   * The snapshot whose fields {@code json} holds, its messages either {@code read} already, or the
   * array at {@code content[range[0], range[0] + range[1])}, or the array in {@code json}.
   */
  private static Snapshot decode(
      JsonObject json,
      int @Nullable [] range,
      byte[] content,
      @Nullable List<UIMessage> read,
      boolean share) {
    long version = number(json, "version");
    if (version != Snapshot.CURRENT_VERSION) {
      throw new InvalidPayloadException(
          "snapshot version ["
              + version
              + "] is not supported, expected ["
              + Snapshot.CURRENT_VERSION
              + "]");
    }
    Instant savedAt;
    String rawSavedAt = json.string("savedAt").orElse(null);
    if (rawSavedAt == null) {
      throw new InvalidPayloadException(
          "snapshot.savedAt must be an ISO-8601 string, got " + describe(json.get("savedAt")));
    }
    try {
      savedAt = Instant.parse(rawSavedAt);
    } catch (DateTimeParseException e) {
      throw new InvalidPayloadException(
          "snapshot.savedAt [" + rawSavedAt + "] is not an ISO-8601 instant", e);
    }
    if (!(json.get("messages") instanceof JsonArray array)) {
      throw new InvalidPayloadException(
          "snapshot.messages must be an array, got " + describe(json.get("messages")));
    }
    List<UIMessage> messages;
    if (read != null) {
      messages = read;
    } else if (range != null) {
      try {
        messages = UIMessage.parseArray(content, range[0], range[1], share);
      } catch (InvalidPayloadException e) {
        String reason = e.getMessage();
        throw new InvalidPayloadException(
            reason.startsWith("messages[")
                ? "snapshot." + reason
                : "snapshot is not readable: " + reason,
            e);
      }
    } else {
      messages = new ArrayList<>(array.size());
      for (int i = 0; i < array.size(); i++) {
        if (!(array.get(i) instanceof JsonObject object)) {
          throw new InvalidPayloadException(
              "snapshot.messages[" + i + "] must be an object, got " + describe(array.get(i)));
        }
        try {
          messages.add(new UIMessage(object));
        } catch (InvalidPayloadException e) {
          throw new InvalidPayloadException(
              "snapshot.messages[" + i + "] is invalid: " + e.getMessage(), e);
        }
      }
    }
    long lastOut = number(json, "lastOutEventId");
    long lastIn = number(json, "lastInEventId");
    try {
      return new Snapshot((int) version, savedAt, messages, lastOut, lastIn);
    } catch (InvalidInputException e) {
      throw new InvalidPayloadException("snapshot is invalid: " + e.getMessage(), e);
    }
  }

  private static long number(JsonObject json, String field) {
    if (json.get(field) instanceof JsonNumber n) {
      try {
        return n.longValue();
      } catch (ArithmeticException e) {
        throw new InvalidPayloadException(
            "snapshot." + field + " must be an integer, got [" + n.literal() + "]", e);
      }
    }
    throw new InvalidPayloadException(
        "snapshot." + field + " must be a number, got " + describe(json.get(field)));
  }

  private static String describe(@Nullable JsonValue value) {
    return value == null
        ? "nothing"
        : dev.durablechat.api.Json.kindOf(value)
            + " ["
            + JsonCodec.abbreviate(value.toString())
            + "]";
  }
}
