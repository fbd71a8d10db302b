package dev.durablechat.api;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** An immutable JSON array. */
public final class JsonArray implements JsonValue {
  private static final JsonArray EMPTY = new JsonArray(List.of());

  private final List<JsonValue> elements;

  private JsonArray(List<JsonValue> elements) {
    this.elements = elements;
  }

  /** An array of the given elements, copied. */
  public static JsonArray of(List<? extends JsonValue> elements) {
    if (elements.isEmpty()) {
      return EMPTY;
    }
    return new JsonArray(List.copyOf(elements));
  }

  /** An array of the given elements. */
  public static JsonArray of(JsonValue... elements) {
    return of(List.of(elements));
  }

  /**
   * An array that takes ownership of a list the caller built and will never touch again; it saves
   * the copy on hot paths (parsing, folding).
   */
  public static JsonArray adopt(ArrayList<JsonValue> elements) {
    return elements.isEmpty() ? EMPTY : new JsonArray(Collections.unmodifiableList(elements));
  }

  /** The elements, unmodifiable. */
  public List<JsonValue> elements() {
    return elements;
  }

  /** The number of elements. */
  public int size() {
    return elements.size();
  }

  /** The element at the index. */
  public JsonValue get(int index) {
    return elements.get(index);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof JsonArray other && elements.equals(other.elements);
  }

  @Override
  public int hashCode() {
    return elements.hashCode();
  }

  @Override
  public String toString() {
    return Json.write(this);
  }
}
