package dev.durablechat.api;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * An immutable JSON object that keeps its members in insertion order. Equality ignores order, as
 * JSON does.
 *
 * <p>The object of a {@link UIMessage} is held as its canonical UTF-8 bytes (what {@link
 * Json#write} writes for it) with an index of its top-level members: such an object binds a
 * composite member (the message's parts) from the bytes each time it is asked for, and keeps no
 * tree, so that a long history costs about its JSON bytes in memory. It behaves exactly as any
 * other object of the same members.
 */
public final class JsonObject implements JsonValue {
  private static final JsonObject EMPTY = new JsonObject(Map.of());

  /** The members; null when the object is held as bytes. */
  private final @Nullable Map<String, JsonValue> members;

  /** The canonical UTF-8 bytes, or null; never modified, never handed out. */
  private final byte @Nullable [] utf8;

  private final @Nullable Utf8Object index;

  /** The bytes form's hash code, computed once (0: not yet). */
  private int hash;

  private JsonObject(Map<String, JsonValue> members) {
    this.members = members;
    this.utf8 = null;
    this.index = null;
  }

  private JsonObject(byte[] utf8, Utf8Object index) {
    this.members = null;
    this.utf8 = utf8;
    this.index = index;
  }

  /** An object held as canonical bytes that {@link Utf8Json} scanned into {@code index}. */
  static JsonObject ofUtf8(byte[] utf8, Utf8Object index) {
    return new JsonObject(utf8, index);
  }

  /** The canonical UTF-8 bytes of an object held as bytes, else null. Never to be modified. */
  byte @Nullable [] utf8() {
    return utf8;
  }

  /** The top-level index of an object held as bytes, else null. */
  @Nullable Utf8Object index() {
    return index;
  }

  /** The members, bound from the bytes if the object is held as bytes. */
  private Map<String, JsonValue> map() {
    Map<String, JsonValue> m = members;
    if (m != null) {
      return m;
    }
    byte[] bytes = Objects.requireNonNull(utf8);
    return ((JsonObject) Utf8Json.read(bytes, 0, bytes.length)).map();
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
    return map();
  }

  /** The member's value, or null when absent. */
  public @Nullable JsonValue get(String name) {
    Utf8Object i = index;
    return i != null ? i.get(Objects.requireNonNull(utf8), name) : map().get(name);
  }

  /** Whether the member is present (even if it is JSON null). */
  public boolean has(String name) {
    Utf8Object i = index;
    return i != null ? i.indexOf(name) >= 0 : map().containsKey(name);
  }

  /** The member as a string, if it is one. */
  public Optional<String> string(String name) {
    return get(name) instanceof JsonString s ? Optional.of(s.value()) : Optional.empty();
  }

  /** A copy with the member set (replacing it in place, or appended at the end). */
  public JsonObject with(String name, JsonValue value) {
    var copy = new LinkedHashMap<>(map());
    copy.put(name, value);
    return new JsonObject(Collections.unmodifiableMap(copy));
  }

  /** A copy without the member. */
  public JsonObject without(String name) {
    if (!has(name)) {
      return this;
    }
    var copy = new LinkedHashMap<>(map());
    copy.remove(name);
    return adopt(copy);
  }

  /** The number of members. */
  public int size() {
    Utf8Object i = index;
    return i != null ? i.size() : map().size();
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof JsonObject other)) {
      return false;
    }
    byte[] mine = utf8;
    byte[] theirs = other.utf8;
    if (mine != null && theirs != null) {
      if (mine.length != theirs.length) {
        // Canonical bytes (no white space, one spelling per value, no name twice) of equal objects
        // differ at most in the order of members, which keeps the length.
        return false;
      }
      if (Arrays.equals(mine, theirs)) {
        return true; // the same canonical bytes hold the same members
      }
    }
    // Canonical bytes that differ may still hold equal objects (members in another order).
    return map().equals(other.map());
  }

  @Override
  public int hashCode() {
    if (utf8 == null) {
      return map().hashCode();
    }
    int h = hash;
    if (h == 0) {
      h = map().hashCode();
      hash = h; // a benign race: every thread computes the same value
    }
    return h;
  }

  @Override
  public String toString() {
    byte[] bytes = utf8;
    return bytes != null ? new String(bytes, StandardCharsets.UTF_8) : Json.write(this);
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
