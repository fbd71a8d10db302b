package dev.durablechat.api;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * A message in the AI SDK's UI shape: {@code id}, {@code role}, optional {@code metadata}, and
 * {@code parts} (text, reasoning, tool parts and their states, files, sources, data parts). The
 * whole JSON object is kept, so fields durablechat does not know survive (F6).
 */
public record UIMessage(JsonObject json) {
  private static final Set<String> ROLES = Set.of("system", "user", "assistant");

  /**
   * Validates the shape: a string id, a known role, and an array of parts that each have a type.
   */
  public UIMessage {
    if (json == null) {
      throw new NullPointerException("message json must not be null");
    }
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
    return ((JsonString) json.get("id")).value();
  }

  /** {@code system}, {@code user} or {@code assistant}. */
  public String role() {
    return ((JsonString) json.get("role")).value();
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
