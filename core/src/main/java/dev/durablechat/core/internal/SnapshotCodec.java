package dev.durablechat.core.internal;

import dev.durablechat.api.InvalidInputException;
import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonNumber;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.Snapshot;
import dev.durablechat.api.UIMessage;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import org.jspecify.annotations.Nullable;

/**
 * Reads and writes the snapshot document (PROTOCOL H1): {@code {"version":1,"savedAt":"<ISO-8601
 * instant>","messages":[...],"lastOutEventId":N,"lastInEventId":M}}. Not public API.
 *
 * <p>Decoding refuses anything it cannot vouch for (malformed JSON, an unknown version, a missing
 * or mistyped field, an invalid message) with an {@link InvalidPayloadException}, so that the
 * caller can log it and treat the snapshot as absent: the {@code out} stream is the truth.
 */
public final class SnapshotCodec {

  private SnapshotCodec() {}

  /** The snapshot's JSON document as UTF-8 bytes. */
  public static byte[] encode(Snapshot snapshot) {
    var messages = new ArrayList<JsonValue>(snapshot.messages().size());
    snapshot.messages().forEach(m -> messages.add(m.json()));
    JsonObject json =
        JsonObject.builder()
            .put("version", snapshot.version())
            .put("savedAt", snapshot.savedAt().toString())
            .put("messages", JsonArray.adopt(messages))
            .put("lastOutEventId", snapshot.lastOutEventId())
            .put("lastInEventId", snapshot.lastInEventId())
            .build();
    return JsonCodec.writeBytes(json);
  }

  /**
   * Reads a snapshot document.
   *
   * @throws InvalidPayloadException if the content is not a version {@value
   *     Snapshot#CURRENT_VERSION} snapshot, naming what is wrong
   */
  public static Snapshot decode(byte[] content) {
    JsonObject json;
    try {
      json = JsonCodec.parseObject(content);
    } catch (InvalidPayloadException e) {
      throw new InvalidPayloadException("snapshot is not readable: " + e.getMessage(), e);
    }
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
    var messages = new ArrayList<UIMessage>(array.size());
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
