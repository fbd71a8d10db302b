package dev.durablechat.core.internal;

import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.Json;
import java.nio.charset.StandardCharsets;
import org.jspecify.annotations.Nullable;

/**
 * Finds where JSON values lie in UTF-8 bytes by tracking strings, escapes and depth only: no token
 * is built and nothing else is checked, so it costs a fraction of parsing. It serves to cut a
 * snapshot into its parts before each part is read (and checked) by its own reader. Not public API.
 *
 * <p>Bytes it refuses are surely not JSON: a string or a value cut off by the end of input,
 * brackets that do not match, nesting deeper than {@link Json#MAX_DEPTH}; the error names the
 * offset. Bytes it accepts may still be invalid (a bad escape, a stray letter): the reader of the
 * part finds that.
 */
final class JsonScanner {
  private JsonScanner() {}

  /**
   * The range {@code [start, end)} of the value of the last top-level member called {@code name} in
   * the object that {@code utf8} holds, or null if the object has no member spelled exactly so (a
   * name written with escapes is not recognised).
   *
   * @throws InvalidPayloadException if the bytes are surely not one JSON object
   */
  static int @Nullable [] member(byte[] utf8, String name) {
    byte[] quoted = ("\"" + name + "\"").getBytes(StandardCharsets.UTF_8);
    int n = utf8.length;
    int pos = ws(utf8, 0);
    if (pos >= n || utf8[pos] != '{') {
      throw error(pos, n, "[{]");
    }
    pos = ws(utf8, pos + 1);
    int[] found = null;
    if (pos < n && utf8[pos] == '}') {
      pos++;
    } else {
      while (true) {
        if (pos >= n || utf8[pos] != '"') {
          throw error(pos, n, "a member name");
        }
        int nameStart = pos;
        pos = skipString(utf8, pos);
        boolean match =
            pos - nameStart == quoted.length
                && java.util.Arrays.equals(utf8, nameStart, pos, quoted, 0, quoted.length);
        pos = ws(utf8, pos);
        if (pos >= n || utf8[pos] != ':') {
          throw error(pos, n, "[:]");
        }
        pos = ws(utf8, pos + 1);
        int valueStart = pos;
        pos = skip(utf8, pos);
        if (match) {
          found = new int[] {valueStart, pos};
        }
        pos = ws(utf8, pos);
        if (pos < n && utf8[pos] == ',') {
          pos = ws(utf8, pos + 1);
        } else if (pos < n && utf8[pos] == '}') {
          pos++;
          break;
        } else {
          throw error(pos, n, "[,] or [}]");
        }
      }
    }
    if (ws(utf8, pos) != n) {
      throw error(ws(utf8, pos), n, "the end of input");
    }
    return found;
  }

  /**
   * The offset just past the value that starts at {@code pos}.
   *
   * @throws InvalidPayloadException if the value is cut off or its brackets do not match
   */
  static int skip(byte[] utf8, int pos) {
    int n = utf8.length;
    if (pos >= n) {
      throw error(pos, n, "a value");
    }
    byte c = utf8[pos];
    if (c == '"') {
      return skipString(utf8, pos);
    }
    if (c != '{' && c != '[') {
      // A scalar: it runs to the next delimiter; its reader checks its spelling.
      int i = pos;
      while (i < n) {
        byte d = utf8[i];
        if (d == ',' || d == '}' || d == ']' || d == ' ' || d == '\n' || d == '\r' || d == '\t') {
          break;
        }
        i++;
      }
      if (i == pos) {
        throw error(pos, n, "a value");
      }
      return i;
    }
    // Brackets: a stack of the open ones, so that a ']' closing a '{' is caught.
    byte[] open = new byte[Json.MAX_DEPTH];
    int depth = 0;
    int i = pos;
    while (true) {
      if (i >= n) {
        throw error(i, n, depth > 0 && open[depth - 1] == '{' ? "[}]" : "[]]");
      }
      byte b = utf8[i];
      if (b == '"') {
        i = skipString(utf8, i);
        continue;
      }
      if (b == '{' || b == '[') {
        if (depth >= Json.MAX_DEPTH) {
          throw new InvalidPayloadException(
              "invalid json at offset " + i + ": nesting deeper than " + Json.MAX_DEPTH);
        }
        open[depth++] = b;
      } else if (b == '}' || b == ']') {
        byte expected = b == '}' ? (byte) '{' : (byte) '[';
        if (open[depth - 1] != expected) {
          throw error(i, n, open[depth - 1] == '{' ? "[}]" : "[]]");
        }
        if (--depth == 0) {
          return i + 1;
        }
      }
      i++;
    }
  }

  /** The offset just past the string whose opening quote is at {@code pos}. */
  private static int skipString(byte[] utf8, int pos) {
    int n = utf8.length;
    int i = pos + 1;
    while (i < n) {
      byte b = utf8[i];
      if (b == '"') {
        return i + 1;
      }
      i += b == '\\' ? 2 : 1;
    }
    throw error(n, n, "[\"] closing the string");
  }

  private static int ws(byte[] utf8, int pos) {
    int n = utf8.length;
    while (pos < n) {
      byte c = utf8[pos];
      if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
        pos++;
      } else {
        break;
      }
    }
    return pos;
  }

  private static InvalidPayloadException error(int pos, int n, String expected) {
    return new InvalidPayloadException(
        "invalid json at offset "
            + pos
            + ": expected "
            + expected
            + ", found "
            + (pos >= n ? "the end of input" : "something else"));
  }
}
