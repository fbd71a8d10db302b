package dev.durablechat.api;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * A message in the AI SDK's UI shape: {@code id}, {@code role}, optional {@code metadata}, and
 * {@code parts} (text, reasoning, tool parts and their states, files, sources, data parts). The
 * whole JSON object is kept, so fields durablechat does not know survive (F6).
 *
 * <p>A message keeps its JSON as canonical UTF-8 bytes (exactly what {@link Json#write} writes for
 * it) with its top-level members indexed: {@link #id()} and {@link #role()} cost nothing, {@link
 * #parts()} binds the parts from the bytes each time it is called, and no tree is kept, so a
 * history costs about its JSON bytes in memory. {@link #json()} is that object; it equals (and
 * hashes as) any {@link JsonObject} of the same members, as before.
 */
public record UIMessage(JsonObject json) {
  private static final Set<String> ROLES = Set.of("system", "user", "assistant");

  /**
   * Validates the shape: a string id, a known role, and an array of parts that each have a type.
   * The object is encoded once into the message's bytes (an object a message already holds is kept
   * as it is).
   */
  public UIMessage {
    if (json == null) {
      throw new NullPointerException("message json must not be null");
    }
    if (json.utf8() == null) {
      validate(json);
      json = encode(json);
    }
  }

  private static void validate(JsonObject json) {
    if (!(json.get("id") instanceof JsonString)) {
      throw new InvalidPayloadException(
          "message.id must be a string, got " + describe(json.get("id")));
    }
    if (!(json.get("role") instanceof JsonString role) || !ROLES.contains(role.value())) {
      throw new InvalidPayloadException(
          "message.role must be one of [system, user, assistant], got "
              + describe(json.get("role")));
    }
    if (!(json.get("parts") instanceof JsonArray parts)) {
      throw new InvalidPayloadException(
          "message.parts must be an array, got " + describe(json.get("parts")));
    }
    for (int i = 0; i < parts.size(); i++) {
      if (!(parts.get(i) instanceof JsonObject part) || !(part.get("type") instanceof JsonString)) {
        throw new InvalidPayloadException(
            "message.parts["
                + i
                + "] must be an object with a string type, got "
                + describe(parts.get(i)));
      }
    }
  }

  /** The validated tree as its canonical bytes, indexed. */
  private static JsonObject encode(JsonObject tree) {
    byte[] utf8 = Json.write(tree).getBytes(StandardCharsets.UTF_8);
    Utf8Json.Scanned scanned = Utf8Json.scanMessage(utf8, 0, utf8.length, new int[1]);
    if (!scanned.keepable()) {
      throw new IllegalStateException("json.write produced bytes that are not canonical");
    }
    return JsonObject.ofUtf8(utf8, scanned.object());
  }

  /**
   * The message whose scan is {@code scanned}, held in {@code a[from, to)}: the bytes are kept if
   * they are canonical and the shape is right (the range of {@code a} itself when {@code share},
   * else a copy of it), else the value is bound, validated (failing with the same errors as the
   * constructor) and encoded.
   */
  private static UIMessage of(byte[] a, int from, int to, Utf8Json.Scanned scanned, boolean share) {
    if (scanned.keepable()
        && scanned.object().scalar("role") instanceof JsonString role
        && ROLES.contains(role.value())) {
      if (share) {
        return new UIMessage(JsonObject.ofUtf8(a, from, to - from, scanned.object()));
      }
      byte[] utf8 = from == 0 && to == a.length ? a.clone() : Arrays.copyOfRange(a, from, to);
      return new UIMessage(JsonObject.ofUtf8(utf8, scanned.object()));
    }
    return new UIMessage((JsonObject) Utf8Json.read(a, from, to));
  }

  /**
   * Parses and validates a message from UTF-8 JSON bytes (white space around it allowed). The
   * message keeps a copy; bytes that are already canonical are copied, not re-encoded.
   *
   * @throws InvalidPayloadException naming the byte offset and what was wrong, or the field the
   *     shape lacks
   */
  public static UIMessage parse(byte[] utf8) {
    int[] end = new int[1];
    Utf8Json.Scanned scanned = Utf8Json.scanMessage(utf8, 0, utf8.length, end);
    Utf8Json.requireEnd(utf8, end[0], utf8.length);
    int from = 0;
    while (utf8[from] != '{') {
      from++; // white space the scan accepted
    }
    return of(utf8, from, end[0], scanned, false);
  }

  /**
   * Parses and validates a JSON array of messages held in {@code utf8[offset, offset + length)}
   * (white space allowed), in one pass over the bytes: each message keeps a copy of its own range,
   * so the array's bytes are not kept. A snapshot's messages are read this way.
   *
   * @throws InvalidPayloadException naming the message ({@code messages[i]}) and what was wrong;
   *     nothing is returned for a partly valid array
   */
  public static List<UIMessage> parseArray(byte[] utf8, int offset, int length) {
    return parseArray(utf8, offset, length, false);
  }

  /**
   * As {@link #parseArray(byte[], int, int)}, but with {@code share} each canonical message keeps
   * its range of {@code utf8} itself instead of a copy (no byte is copied, and the whole array
   * stays reachable while any of them is): for a buffer that nothing modifies afterwards and whose
   * bytes are mostly messages that stay live (a snapshot segment just read).
   *
   * @throws InvalidPayloadException naming the message ({@code messages[i]}) and what was wrong;
   *     nothing is returned for a partly valid array
   */
  public static List<UIMessage> parseArray(byte[] utf8, int offset, int length, boolean share) {
    Objects.checkFromIndexSize(offset, length, utf8.length);
    var ranges = new ArrayList<int[]>();
    List<Utf8Json.Scanned> scans = Utf8Json.scanMessageArray(utf8, offset, offset + length, ranges);
    var messages = new ArrayList<UIMessage>(scans.size());
    for (int i = 0; i < scans.size(); i++) {
      int[] range = ranges.get(i);
      try {
        messages.add(of(utf8, range[0], range[1], scans.get(i), share));
      } catch (InvalidPayloadException e) {
        throw new InvalidPayloadException("messages[" + i + "] is invalid: " + e.getMessage(), e);
      }
    }
    return messages;
  }

  /**
   * Reads messages whose bytes are known to be exactly what {@link #writeJson} wrote for valid
   * messages (a snapshot whose index of message offsets and checksum the caller has verified), at
   * {@code utf8[bounds[2i], bounds[2i + 1])}, without tokenizing them: only the head of each (its
   * members before the first composite one, which must include a string {@code id} and a known
   * {@code role}) is read and checked now; the rest is checked in full the first time something
   * past the head is read, and bytes that are then not a canonical message fail that read with an
   * {@link InvalidPayloadException} (never a wrong value). A message whose head does not qualify is
   * parsed and checked in full at once, as {@link #parseArray} does. With {@code share} the
   * messages keep their ranges of {@code utf8} itself (which nothing may modify afterwards), else a
   * copy each.
   *
   * @throws InvalidPayloadException naming the message ({@code messages[i]}) that a full check
   *     refused
   * @throws IndexOutOfBoundsException if a range is not inside {@code utf8}
   */
  public static List<UIMessage> readWritten(byte[] utf8, int[] bounds, boolean share) {
    if (bounds.length % 2 != 0) {
      throw new IllegalArgumentException(
          "bounds must hold (start, end) pairs, got [" + bounds.length + "] values");
    }
    var messages = new ArrayList<UIMessage>(bounds.length / 2);
    for (int i = 0; i < bounds.length; i += 2) {
      int from = bounds[i];
      int to = bounds[i + 1];
      Objects.checkFromToIndex(from, to, utf8.length);
      // A range that does not end its object is surely not a message: the full check says why.
      Utf8Object head = to > from && utf8[to - 1] == '}' ? Utf8Json.head(utf8, from, to) : null;
      if (head != null
          && head.scalar("role") instanceof JsonString role
          && ROLES.contains(role.value())) {
        messages.add(
            share
                ? new UIMessage(JsonObject.ofUtf8(utf8, from, to - from, head))
                : new UIMessage(
                    JsonObject.ofUtf8(Arrays.copyOfRange(utf8, from, to), 0, to - from, head)));
        continue;
      }
      try {
        int[] end = new int[1];
        Utf8Json.Scanned scanned = Utf8Json.scanMessage(utf8, from, to, end);
        Utf8Json.requireEnd(utf8, end[0], to);
        messages.add(of(utf8, from, end[0], scanned, share));
      } catch (InvalidPayloadException e) {
        throw new InvalidPayloadException(
            "messages[" + i / 2 + "] is invalid: " + e.getMessage(), e);
      }
    }
    return messages;
  }

  /** The number of bytes of the message's compact JSON in UTF-8 (see {@link #writeJson}). */
  public int jsonByteLength() {
    return json.utf8Length();
  }

  /**
   * Puts the message's compact JSON, UTF-8, into the buffer: the bytes the message keeps, copied
   * once (a snapshot is written by concatenating its messages this way).
   *
   * @throws java.nio.BufferOverflowException if fewer than {@link #jsonByteLength()} bytes remain
   */
  public void writeJson(ByteBuffer out) {
    out.put(bytes(), json.utf8Offset(), json.utf8Length());
  }

  /** The message's compact JSON as UTF-8 bytes (a copy). */
  public byte[] toJsonBytes() {
    int from = json.utf8Offset();
    return Arrays.copyOfRange(bytes(), from, from + json.utf8Length());
  }

  /**
   * The message's compact JSON as UTF-8 bytes, without a copy: a read-only buffer over the bytes
   * the message keeps, from its position to its limit (to hash or write them).
   */
  public ByteBuffer jsonBuffer() {
    return ByteBuffer.wrap(bytes(), json.utf8Offset(), json.utf8Length())
        .slice()
        .asReadOnlyBuffer();
  }

  private byte[] bytes() {
    return Objects.requireNonNull(json.utf8());
  }

  private static String describe(@Nullable JsonValue value) {
    return value == null
        ? "nothing"
        : Json.kindOf(value) + " [" + Json.abbreviate(value.toString()) + "]";
  }

  /** Parses and validates a message from JSON text. */
  public static UIMessage parse(String json) {
    return new UIMessage(Json.parseObject(json));
  }

  /** A message with the given id, role and parts. */
  public static UIMessage of(String id, String role, List<JsonObject> parts) {
    return new UIMessage(
        JsonObject.builder()
            .put("id", id)
            .put("role", role)
            .put("parts", JsonArray.of(parts))
            .build());
  }

  /** A user message with one text part. */
  public static UIMessage userText(String id, String text) {
    return of(
        id, "user", List.of(JsonObject.builder().put("type", "text").put("text", text).build()));
  }

  /** The message id. */
  public String id() {
    return ((JsonString) Objects.requireNonNull(json.index()).scalar("id")).value();
  }

  /** {@code system}, {@code user} or {@code assistant}. */
  public String role() {
    return ((JsonString) Objects.requireNonNull(json.index()).scalar("role")).value();
  }

  /** The parts, in order. */
  public List<JsonObject> parts() {
    JsonArray array = (JsonArray) json.get("parts");
    var parts = new ArrayList<JsonObject>(array.size());
    for (JsonValue v : array.elements()) {
      parts.add((JsonObject) v);
    }
    return parts;
  }

  /** The metadata, or null. */
  public @Nullable JsonValue metadata() {
    return json.get("metadata");
  }

  /** The concatenated text of the text parts. */
  public String text() {
    var out = new StringBuilder();
    for (JsonValue v : ((JsonArray) json.get("parts")).elements()) {
      JsonObject part = (JsonObject) v;
      if (part.string("type").orElse("").equals("text")) {
        out.append(part.string("text").orElse(""));
      }
    }
    return out.toString();
  }

  @Override
  public String toString() {
    return json.toString();
  }
}
