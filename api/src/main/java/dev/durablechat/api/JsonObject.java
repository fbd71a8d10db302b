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

  /**
   * The array that holds the canonical UTF-8 bytes at {@code [offset, offset + length)}, or null;
   * never modified, never handed out. It may be a larger buffer (the segment of a snapshot the
   * object was read from), shared with other objects read from it.
   */
  private final byte @Nullable [] utf8;

  private final int offset;
  private final int length;

  /**
   * The top-level index of an object held as bytes: complete, or a head (see {@link Utf8Object})
   * replaced by the complete index the first time a member past it is asked for. The replacement is
   * a benign race: every thread computes an equal index of immutable fields.
   */
  private @Nullable Utf8Object index;

  /** The bytes form's hash code, computed once (0: not yet). */
  private int hash;

  private JsonObject(Map<String, JsonValue> members) {
    this.members = members;
    this.utf8 = null;
    this.offset = 0;
    this.length = 0;
    this.index = null;
  }

  private JsonObject(byte[] utf8, int offset, int length, Utf8Object index) {
    this.members = null;
    this.utf8 = utf8;
    this.offset = offset;
    this.length = length;
    this.index = index;
  }

  /** An object held as canonical bytes that {@link Utf8Json} scanned into {@code index}. */
  static JsonObject ofUtf8(byte[] utf8, Utf8Object index) {
    return new JsonObject(utf8, 0, utf8.length, index);
  }

  /**
   * An object held as the canonical bytes {@code utf8[offset, offset + length)}, which the caller
   * never modifies: with a complete index (a scan checked them), or with a head whose bytes the
   * caller vouches for otherwise (the rest is scanned, and checked, when first needed).
   */
  static JsonObject ofUtf8(byte[] utf8, int offset, int length, Utf8Object index) {
    return new JsonObject(utf8, offset, length, index);
  }

  /** The array holding the bytes of an object held as bytes, else null. Never to be modified. */
  byte @Nullable [] utf8() {
    return utf8;
  }

  /** Where the bytes start in {@link #utf8()}. */
  int utf8Offset() {
    return offset;
  }

  /** How many bytes, from {@link #utf8Offset()}. */
  int utf8Length() {
    return length;
  }

  /**
   * The top-level index of an object held as bytes (perhaps only a head, see {@link Utf8Object}),
   * else null.
   */
  @Nullable Utf8Object index() {
    return index;
  }

  /**
   * The complete index of an object held as bytes: a head is completed by scanning the whole
   * object, which checks every byte.
   *
   * @throws InvalidPayloadException if the bytes a caller vouched for are not a canonical message
   */
  private Utf8Object complete() {
    Utf8Object i = Objects.requireNonNull(index);
    if (i.complete()) {
      return i;
    }
    byte[] bytes = Objects.requireNonNull(utf8);
    int[] end = new int[1];
    Utf8Json.Scanned scanned;
    try {
      scanned = Utf8Json.scanMessage(bytes, offset, offset + length, end);
    } catch (InvalidPayloadException e) {
      throw new InvalidPayloadException(
          "message bytes read by their index are not a canonical message: " + e.getMessage(), e);
    }
    if (!scanned.keepable() || end[0] != offset + length) {
      throw new InvalidPayloadException(
          "message bytes read by their index are not a canonical message: "
              + Json.abbreviate(toString()));
    }
    Utf8Object full = scanned.object();
    index = full;
    return full;
  }

  /** The members, bound from the bytes if the object is held as bytes. */
  private Map<String, JsonValue> map() {
    Map<String, JsonValue> m = members;
    if (m != null) {
      return m;
    }
    byte[] bytes = Objects.requireNonNull(utf8);
    complete(); // bytes vouched for by an index only are checked before anything is bound
    return ((JsonObject) Utf8Json.read(bytes, offset, offset + length)).map();
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
    if (i == null) {
      return map().get(name);
    }
    if (!i.complete()) {
      JsonValue scalar = i.scalar(name);
      if (scalar != null) {
        return scalar;
      }
      i = complete();
    }
    return i.get(Objects.requireNonNull(utf8), offset, name);
  }

  /** Whether the member is present (even if it is JSON null). */
  public boolean has(String name) {
    Utf8Object i = index;
    if (i == null) {
      return map().containsKey(name);
    }
    return (i.complete() ? i : complete()).indexOf(name) >= 0;
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
    return index != null ? complete().size() : map().size();
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
      if (length != other.length) {
        // Canonical bytes (no white space, one spelling per value, no name twice) of equal objects
        // differ at most in the order of members, which keeps the length.
        return false;
      }
      if (Arrays.equals(
          mine, offset, offset + length, theirs, other.offset, other.offset + length)) {
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
    return bytes != null
        ? new String(bytes, offset, length, StandardCharsets.UTF_8)
        : Json.write(this);
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
