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

  /** The snapshot's JSON document as UTF-8 bytes: the messages' own bytes, concatenated. */
  public static byte[] encode(Snapshot snapshot) {
    byte[] head =
        ("{\"version\":"
                + snapshot.version()
                + ",\"savedAt\":"
                + Json.write(new JsonString(snapshot.savedAt().toString()))
                + ",\"messages\":")
            .getBytes(StandardCharsets.UTF_8);
    byte[] tail =
        (",\"lastOutEventId\":"
                + snapshot.lastOutEventId()
                + ",\"lastInEventId\":"
                + snapshot.lastInEventId()
                + "}")
            .getBytes(StandardCharsets.UTF_8);
    List<UIMessage> messages = snapshot.messages();
    var out =
        ByteBuffer.allocate(Math.addExact(head.length + tail.length, messagesLength(messages)));
    out.put(head);
    writeMessages(messages, out);
    out.put(tail);
    return out.array();
  }

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
   * Reads a snapshot document.
   *
   * @throws InvalidPayloadException if the content is not a version {@value
   *     Snapshot#CURRENT_VERSION} snapshot, naming what is wrong
   */
  public static Snapshot decode(byte[] content) {
    int[] layout = writerLayout(content);
    if (layout != null) {
      try {
        return decodeAround(content, layout);
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
      return decode(parse(content), null);
    }
    return decodeAround(content, range);
  }

  /** Decodes the document whose messages array is exactly {@code content[range[0], range[1])}. */
  private static Snapshot decodeAround(byte[] content, int[] range) {
    // The document without its messages (an empty array in their place) is small: parse it as any
    // JSON; the messages are read straight from their bytes.
    int arrayLength = range[1] - range[0];
    byte[] header = new byte[content.length - arrayLength + 2];
    System.arraycopy(content, 0, header, 0, range[0]);
    header[range[0]] = '[';
    header[range[0] + 1] = ']';
    System.arraycopy(content, range[1], header, range[0] + 2, content.length - range[1]);
    return decode(parse(header), new int[] {range[0], arrayLength}, content);
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
   * Where the messages array lies if the document is laid out as {@link #encode} writes it ({@code
   * {"version":1,"savedAt":"…","messages":[…],"lastOutEventId":N,"lastInEventId":M}}), found from
   * both ends without reading the array; null otherwise. Only a guess: the array is then read as
   * exactly that range, which fails unless the guess was right.
   */
  private static int @Nullable [] writerLayout(byte[] c) {
    int p = startsWith(c, 0, HEAD_VERSION);
    p = digits(c, p);
    p = startsWith(c, p, HEAD_SAVED_AT);
    while (p >= 0 && p < c.length && c[p] != '"' && c[p] != '\\') {
      p++;
    }
    p = startsWith(c, p, HEAD_MESSAGES);
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

  private static Snapshot decode(JsonObject json, int @Nullable [] range) {
    return decode(json, range, new byte[0]);
  }

  private static Snapshot decode(JsonObject json, int @Nullable [] range, byte[] content) {
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
    if (range != null) {
      try {
        messages = UIMessage.parseArray(content, range[0], range[1]);
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
