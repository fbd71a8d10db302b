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
   * The message whose scan is {@code scanned}, held in {@code a[from, to)}: the bytes are kept (a
   * copy of that range) if they are canonical and the shape is right, else the value is bound,
   * validated (failing with the same errors as the constructor) and encoded.
   */
  private static UIMessage of(byte[] a, int from, int to, Utf8Json.Scanned scanned) {
    if (scanned.keepable()
        && scanned.object().scalar("role") instanceof JsonString role
        && ROLES.contains(role.value())) {
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
    return of(utf8, from, end[0], scanned);
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
    Objects.checkFromIndexSize(offset, length, utf8.length);
    var ranges = new ArrayList<int[]>();
    List<Utf8Json.Scanned> scans = Utf8Json.scanMessageArray(utf8, offset, offset + length, ranges);
    var messages = new ArrayList<UIMessage>(scans.size());
    for (int i = 0; i < scans.size(); i++) {
      int[] range = ranges.get(i);
      try {
        messages.add(of(utf8, range[0], range[1], scans.get(i)));
      } catch (InvalidPayloadException e) {
        throw new InvalidPayloadException("messages[" + i + "] is invalid: " + e.getMessage(), e);
      }
    }
    return messages;
  }

  /** The number of bytes of the message's compact JSON in UTF-8 (see {@link #writeJson}). */
  public int jsonByteLength() {
    return bytes().length;
  }

  /**
   * Puts the message's compact JSON, UTF-8, into the buffer: the bytes the message keeps, copied
   * once (a snapshot is written by concatenating its messages this way).
   *
   * @throws java.nio.BufferOverflowException if fewer than {@link #jsonByteLength()} bytes remain
   */
  public void writeJson(ByteBuffer out) {
    out.put(bytes());
  }

  /** The message's compact JSON as UTF-8 bytes (a copy). */
  public byte[] toJsonBytes() {
    return bytes().clone();
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
