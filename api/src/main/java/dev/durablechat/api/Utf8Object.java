package dev.durablechat.api;

import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * The index of an object kept as its canonical UTF-8 bytes: its top-level member names, the byte
 * range of each value, and the scalar values already bound (a message's {@code id} and {@code role}
 * are read on every turn; its parts are read only when something asks for them). Not public API.
 */
final class Utf8Object {
  private final String[] names;
  private final int[] spans;
  private final @Nullable JsonValue[] scalars;

  Utf8Object(String[] names, int[] spans, @Nullable JsonValue[] scalars) {
    this.names = names;
    this.spans = spans;
    this.scalars = scalars;
  }

  int size() {
    return names.length;
  }

  int indexOf(String name) {
    for (int i = 0; i < names.length; i++) {
      if (names[i].equals(name)) {
        return i;
      }
    }
    return -1;
  }

  /** The member's bound scalar value, or null when absent or composite. */
  @Nullable JsonValue scalar(String name) {
    int i = indexOf(name);
    return i < 0 ? null : scalars[i];
  }

  /** The member's value, read from the bytes when it is composite; null when absent. */
  @Nullable JsonValue get(byte[] utf8, String name) {
    int i = indexOf(name);
    if (i < 0) {
      return null;
    }
    JsonValue scalar = scalars[i];
    return scalar != null ? scalar : Utf8Json.read(utf8, spans[2 * i], spans[2 * i + 1]);
  }

  @Override
  public String toString() {
    return Arrays.toString(names);
  }
}
