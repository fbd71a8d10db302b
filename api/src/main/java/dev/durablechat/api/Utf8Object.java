package dev.durablechat.api;

import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * The index of an object kept as its canonical UTF-8 bytes: its top-level member names, the byte
 * range of each value (from the object's first byte), and the scalar values already bound (a
 * message's {@code id} and {@code role} are read on every turn; its parts are read only when
 * something asks for them). Not public API.
 *
 * <p>An index is complete (every member, after a scan that checked every byte of the object), or a
 * head: the scalar members that precede the first composite one, read from bytes whose whole was
 * vouched for by other means (a snapshot's message index and checksum), which is enough for a
 * message's {@code id} and {@code role} without reading its parts.
 */
final class Utf8Object {
  private final String[] names;
  private final int[] spans;
  private final @Nullable JsonValue[] scalars;
  private final boolean complete;

  Utf8Object(String[] names, int[] spans, @Nullable JsonValue[] scalars) {
    this(names, spans, scalars, true);
  }

  Utf8Object(String[] names, int[] spans, @Nullable JsonValue[] scalars, boolean complete) {
    this.names = names;
    this.spans = spans;
    this.scalars = scalars;
    this.complete = complete;
  }

  /** Whether every member is indexed (else only the leading scalars: a head). */
  boolean complete() {
    return complete;
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

  /** The member's bound scalar value, or null when absent (from this index) or composite. */
  @Nullable JsonValue scalar(String name) {
    int i = indexOf(name);
    return i < 0 ? null : scalars[i];
  }

  /**
   * The member's value, read from the bytes (the object's first byte at {@code offset}) when it is
   * composite; null when absent.
   */
  @Nullable JsonValue get(byte[] utf8, int offset, String name) {
    int i = indexOf(name);
    if (i < 0) {
      return null;
    }
    JsonValue scalar = scalars[i];
    return scalar != null
        ? scalar
        : Utf8Json.read(utf8, offset + spans[2 * i], offset + spans[2 * i + 1]);
  }

  @Override
  public String toString() {
    return Arrays.toString(names) + (complete ? "" : " (head)");
  }
}
