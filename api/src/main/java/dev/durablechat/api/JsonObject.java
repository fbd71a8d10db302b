package dev.durablechat.api;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * An immutable JSON object that keeps its members in insertion order. Equality ignores order, as
 * JSON does.
 */
public final class JsonObject implements JsonValue {
  private static final JsonObject EMPTY = new JsonObject(Map.of());

  private final Map<String, JsonValue> members;

  private JsonObject(Map<String, JsonValue> members) {
    this.members = members;
  }

  /** The empty object. */
  public static JsonObject empty() {
    return EMPTY;
  }

  /** An object with the given members, copied in their iteration order. */
  public static JsonObject of(Map<String, ? extends JsonValue> members) {
    if (members.isEmpty()) {
      return EMPTY;
    }
    var copy = new LinkedHashMap<String, JsonValue>(members.size() * 2);
    members.forEach(
        (k, v) -> {
          if (k == null || v == null) {
            throw new NullPointerException("json object members must not be null");
          }
          copy.put(k, v);
        });
    return new JsonObject(Collections.unmodifiableMap(copy));
  }

  /**
   * An object that takes ownership of a map the caller built and will never touch again; it saves
   * the copy on hot paths (parsing, folding). The map must hold no null key or value.
   */
  public static JsonObject adopt(LinkedHashMap<String, JsonValue> members) {
    return members.isEmpty() ? EMPTY : new JsonObject(Collections.unmodifiableMap(members));
  }

  /** A builder that keeps insertion order. */
  public static Builder builder() {
    return new Builder();
  }

  /** The members, unmodifiable, in order. */
  public Map<String, JsonValue> members() {
    return members;
  }

  /** The member's value, or null when absent. */
  public @Nullable JsonValue get(String name) {
    return members.get(name);
  }

  /** Whether the member is present (even if it is JSON null). */
  public boolean has(String name) {
    return members.containsKey(name);
  }

  /** The member as a string, if it is one. */
  public Optional<String> string(String name) {
    return members.get(name) instanceof JsonString s ? Optional.of(s.value()) : Optional.empty();
  }

  /** A copy with the member set (replacing it in place, or appended at the end). */
  public JsonObject with(String name, JsonValue value) {
    var copy = new LinkedHashMap<>(members);
    copy.put(name, value);
    return new JsonObject(Collections.unmodifiableMap(copy));
  }

  /** A copy without the member. */
  public JsonObject without(String name) {
    if (!members.containsKey(name)) {
      return this;
    }
    var copy = new LinkedHashMap<>(members);
    copy.remove(name);
    return adopt(copy);
  }

  /** The number of members. */
  public int size() {
    return members.size();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof JsonObject other && members.equals(other.members);
  }

  @Override
  public int hashCode() {
    return members.hashCode();
  }

  @Override
  public String toString() {
    return Json.write(this);
  }

  /** Builds a {@link JsonObject} in insertion order. */
  public static final class Builder {
    private LinkedHashMap<String, JsonValue> members = new LinkedHashMap<>();

    private Builder() {}

    /** Sets a member. */
    public Builder put(String name, JsonValue value) {
      if (name == null || value == null) {
        throw new NullPointerException("json object members must not be null");
      }
      members.put(name, value);
      return this;
    }

    /** Sets a string member. */
    public Builder put(String name, String value) {
      return put(name, JsonValue.of(value));
    }

    /** Sets a number member. */
    public Builder put(String name, long value) {
      return put(name, JsonValue.of(value));
    }

    /** Sets a boolean member. */
    public Builder put(String name, boolean value) {
      return put(name, JsonValue.of(value));
    }

    /** Sets the member if the value is not null. */
    public Builder putIfNotNull(String name, @Nullable JsonValue value) {
      return value == null ? this : put(name, value);
    }

    /** Sets the string member if the value is not null. */
    public Builder putIfNotNull(String name, @Nullable String value) {
      return value == null ? this : put(name, value);
    }

    /** The object; the builder must not be used afterwards. */
    public JsonObject build() {
      var built = adopt(members);
      members = new LinkedHashMap<>();
      return built;
    }
  }
}
