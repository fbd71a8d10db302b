package dev.durablechat.core.fold;

import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonString;
import dev.durablechat.api.JsonValue;
import java.util.LinkedHashMap;
import org.jspecify.annotations.Nullable;

/**
 * One message part while it is being folded: a mutable member map (insertion order kept, as the
 * SDK's object literals keep theirs) and, for streaming text and reasoning, a text buffer, so that
 * a delta appends instead of rebuilding immutable JSON. The immutable object is built on read and
 * cached until the part changes again.
 */
final class Part {
  private static final JsonString TEXT_SLOT = new JsonString("");

  private final LinkedHashMap<String, JsonValue> fields;
  private @Nullable StringBuilder text;
  private @Nullable JsonObject built;

  private Part(LinkedHashMap<String, JsonValue> fields, @Nullable JsonObject built) {
    this.fields = fields;
    this.built = built;
  }

  /** A part of an existing message; nothing is copied until it changes. */
  static Part of(JsonObject json) {
    return new Part(new LinkedHashMap<>(json.members()), json);
  }

  /** A new part; null values (undefined) are left out, as JSON.stringify leaves them out. */
  static Part create(Object... namesAndValues) {
    var fields = new LinkedHashMap<String, JsonValue>(namesAndValues.length);
    for (int i = 0; i < namesAndValues.length; i += 2) {
      JsonValue value = (JsonValue) namesAndValues[i + 1];
      if (value != null) {
        fields.put((String) namesAndValues[i], value);
      }
    }
    return new Part(fields, null);
  }

  /** A text or reasoning part whose text streams into a buffer. */
  static Part streamingText(Object... namesAndValues) {
    Part part = create(namesAndValues);
    part.fields.put("text", TEXT_SLOT);
    part.text = new StringBuilder();
    return part;
  }

  /** The part's type, or "" if it has none that is a string. */
  String type() {
    return fields.get("type") instanceof JsonString s ? s.value() : "";
  }

  /** A member, or null (undefined). */
  @Nullable JsonValue get(String name) {
    return fields.get(name);
  }

  /** Whether the member is present. */
  boolean has(String name) {
    return fields.containsKey(name);
  }

  /** Sets a member; null (undefined) removes it. */
  void set(String name, @Nullable JsonValue value) {
    built = null;
    if (value == null) {
      fields.remove(name);
    } else {
      fields.put(name, value);
    }
  }

  void appendText(String delta) {
    built = null;
    if (text == null) {
      // not a streaming part: start buffering from the current text
      JsonValue current = fields.get("text");
      text = new StringBuilder(current instanceof JsonString s ? s.value() : Js.string(current));
      fields.put("text", TEXT_SLOT);
    }
    text.append(delta);
  }

  boolean isStaticTool() {
    return type().startsWith("tool-");
  }

  boolean isDynamicTool() {
    return type().equals("dynamic-tool");
  }

  boolean isTool() {
    return isStaticTool() || isDynamicTool();
  }

  /** The immutable JSON of the part. */
  JsonObject json() {
    JsonObject json = built;
    if (json == null) {
      var copy = new LinkedHashMap<String, JsonValue>(fields);
      if (text != null) {
        copy.put("text", new JsonString(text.toString()));
      }
      json = JsonObject.adopt(copy);
      built = json;
    }
    return json;
  }
}
