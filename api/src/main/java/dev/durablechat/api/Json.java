package dev.durablechat.api;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;

/**
 * Reads and writes JSON text for {@link JsonValue}s without any third-party library, so that
 * storage backends can persist JSON columns without depending on the engine's codec.
 *
 * <p>The engine itself uses a faster streaming codec; both agree on every value.
 */
public final class Json {
  /**
   * The most arrays and objects open at once; deeper nesting is refused rather than risking the
   * caller's stack. The engine's codec allows exactly as many.
   */
  public static final int MAX_DEPTH = 512;

  /**
   * The most digits a number literal may have, counting those of its integer part, fraction and
   * exponent (not the signs, point or {@code e}): a longer one is refused, here and by the engine's
   * codec alike (Jackson counts the same way), because turning it into a {@link
   * java.math.BigDecimal} later would cost time quadratic in its length. JavaScript never writes
   * more than 21.
   */
  public static final int MAX_NUMBER_DIGITS = 1000;

  private Json() {}

  /**
   * Parses one JSON value; the whole text must be that value (surrounding white space aside).
   *
   * @throws InvalidPayloadException naming the offset and what was expected
   */
  public static JsonValue parse(CharSequence text) {
    var parser = new Parser(text);
    parser.skipWhitespace();
    JsonValue value = parser.value(0);
    parser.skipWhitespace();
    if (parser.pos != text.length()) {
      throw parser.error("end of input");
    }
    return value;
  }

  /** Parses a JSON object, failing clearly if the text holds any other kind of value. */
  public static JsonObject parseObject(CharSequence text) {
    JsonValue value = parse(text);
    if (value instanceof JsonObject object) {
      return object;
    }
    throw new InvalidPayloadException(
        "expected a json object, got " + kindOf(value) + " [" + abbreviate(value.toString()) + "]");
  }

  /** The compact JSON text of a value. */
  public static String write(JsonValue value) {
    var out = new StringBuilder(64);
    write(value, out);
    return out.toString();
  }

  /** Appends the compact JSON text of a value. */
  public static void write(JsonValue value, StringBuilder out) {
    if (value instanceof JsonObject object) {
      byte[] utf8 = object.utf8();
      if (utf8 != null) {
        // already what this method writes
        out.append(
            new String(utf8, object.utf8Offset(), object.utf8Length(), StandardCharsets.UTF_8));
        return;
      }
      out.append('{');
      int open = out.length();
      // forEach, not entrySet(): the unmodifiable map wraps every entry it iterates.
      object
          .members()
          .forEach(
              (name, member) -> {
                if (out.length() != open) {
                  out.append(',');
                }
                writeString(name, out);
                out.append(':');
                write(member, out);
              });
      out.append('}');
    } else if (value instanceof JsonArray array) {
      out.append('[');
      for (int i = 0; i < array.size(); i++) {
        if (i > 0) {
          out.append(',');
        }
        write(array.get(i), out);
      }
      out.append(']');
    } else if (value instanceof JsonString string) {
      writeString(string.value(), out);
    } else {
      out.append(value.toString());
    }
  }

  /** A short name of the value's kind, for error messages. */
  public static String kindOf(JsonValue value) {
    if (value instanceof JsonObject) {
      return "an object";
    } else if (value instanceof JsonArray) {
      return "an array";
    } else if (value instanceof JsonString) {
      return "a string";
    } else if (value instanceof JsonNumber) {
      return "a number";
    } else if (value instanceof JsonBoolean) {
      return "a boolean";
    }
    return "null";
  }

  static String abbreviate(String text) {
    return text.length() <= 80 ? text : text.substring(0, 77) + "...";
  }

  /** Escapes the way JavaScript's JSON.stringify does, so both sides write the same bytes. */
  static void writeString(String s, StringBuilder out) {
    out.append('"');
    int n = s.length();
    // Characters that need no escape are copied in runs, not one append per character: most
    // strings (keys, text deltas) have few or none to escape, and a whole clean string is one copy.
    int run = 0;
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c >= 0x20 && c != '"' && c != '\\' && !Character.isSurrogate(c)) {
        continue;
      }
      if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
        i++; // a valid pair is kept as it is
        continue;
      }
      if (i > run) {
        out.append(s, run, i);
      }
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        default -> appendUnicodeEscape(c, out); // a control character or a lone surrogate
      }
      run = i + 1;
    }
    if (run == 0) {
      out.append(s); // nothing escaped: one bulk copy
    } else if (run < n) {
      out.append(s, run, n);
    }
    out.append('"');
  }

  private static void appendUnicodeEscape(char c, StringBuilder out) {
    out.append("\\u");
    String hex = Integer.toHexString(c);
    for (int pad = hex.length(); pad < 4; pad++) {
      out.append('0');
    }
    out.append(hex);
  }

  static boolean isNumberLiteral(String s) {
    int i = 0;
    int n = s.length();
    if (i < n && s.charAt(i) == '-') {
      i++;
    }
    if (i >= n) {
      return false;
    }
    if (s.charAt(i) == '0') {
      i++;
    } else if (isDigit19(s.charAt(i))) {
      while (i < n && isDigit(s.charAt(i))) {
        i++;
      }
    } else {
      return false;
    }
    if (i < n && s.charAt(i) == '.') {
      i++;
      int start = i;
      while (i < n && isDigit(s.charAt(i))) {
        i++;
      }
      if (i == start) {
        return false;
      }
    }
    if (i < n && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
      i++;
      if (i < n && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
        i++;
      }
      int start = i;
      while (i < n && isDigit(s.charAt(i))) {
        i++;
      }
      if (i == start) {
        return false;
      }
    }
    return i == n;
  }

  /** The number of digits in a literal: integer part, fraction and exponent. */
  static int digits(String literal) {
    int digits = 0;
    for (int i = 0; i < literal.length(); i++) {
      if (isDigit(literal.charAt(i))) {
        digits++;
      }
    }
    return digits;
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private static boolean isDigit19(char c) {
    return c >= '1' && c <= '9';
  }

  private static final class Parser {
    private final CharSequence text;
    private int pos;

    Parser(CharSequence text) {
      this.text = text;
    }

    InvalidPayloadException error(String expected) {
      String found = pos < text.length() ? "[" + text.charAt(pos) + "]" : "the end of input";
      return new InvalidPayloadException(
          "invalid json at offset " + pos + ": expected " + expected + ", found " + found);
    }

    void skipWhitespace() {
      while (pos < text.length()) {
        char c = text.charAt(pos);
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
          pos++;
        } else {
          break;
        }
      }
    }

    /** A value inside {@code depth} open arrays and objects. */
    JsonValue value(int depth) {
      if (pos >= text.length()) {
        throw error("a value");
      }
      char c = text.charAt(pos);
      if ((c == '{' || c == '[') && depth >= MAX_DEPTH) {
        throw new InvalidPayloadException(
            "invalid json at offset " + pos + ": nesting deeper than " + MAX_DEPTH);
      }
      switch (c) {
        case '{':
          return object(depth);
        case '[':
          return array(depth);
        case '"':
          return new JsonString(string());
        case 't':
          literal("true");
          return JsonBoolean.TRUE;
        case 'f':
          literal("false");
          return JsonBoolean.FALSE;
        case 'n':
          literal("null");
          return JsonNull.INSTANCE;
        default:
          if (c == '-' || isDigit(c)) {
            return number();
          }
          throw error("a value");
      }
    }

    private void literal(String word) {
      for (int i = 0; i < word.length(); i++) {
        if (pos >= text.length() || text.charAt(pos) != word.charAt(i)) {
          throw error("[" + word + "]");
        }
        pos++;
      }
    }

    private JsonObject object(int depth) {
      pos++;
      var members = new LinkedHashMap<String, JsonValue>();
      skipWhitespace();
      if (pos < text.length() && text.charAt(pos) == '}') {
        pos++;
        return JsonObject.adopt(members);
      }
      while (true) {
        skipWhitespace();
        if (pos >= text.length() || text.charAt(pos) != '"') {
          throw error("a member name");
        }
        String name = string();
        skipWhitespace();
        if (pos >= text.length() || text.charAt(pos) != ':') {
          throw error("[:]");
        }
        pos++;
        skipWhitespace();
        // Last one wins on duplicate names, as in JavaScript's JSON.parse.
        members.put(name, value(depth + 1));
        skipWhitespace();
        if (pos < text.length() && text.charAt(pos) == ',') {
          pos++;
        } else if (pos < text.length() && text.charAt(pos) == '}') {
          pos++;
          return JsonObject.adopt(members);
        } else {
          throw error("[,] or [}]");
        }
      }
    }

    private JsonArray array(int depth) {
      pos++;
      var elements = new ArrayList<JsonValue>();
      skipWhitespace();
      if (pos < text.length() && text.charAt(pos) == ']') {
        pos++;
        return JsonArray.adopt(elements);
      }
      while (true) {
        skipWhitespace();
        elements.add(value(depth + 1));
        skipWhitespace();
        if (pos < text.length() && text.charAt(pos) == ',') {
          pos++;
        } else if (pos < text.length() && text.charAt(pos) == ']') {
          pos++;
          return JsonArray.adopt(elements);
        } else {
          throw error("[,] or []]");
        }
      }
    }

    private String string() {
      pos++;
      var out = new StringBuilder();
      while (true) {
        if (pos >= text.length()) {
          throw error("[\"] closing the string");
        }
        char c = text.charAt(pos++);
        if (c == '"') {
          return out.toString();
        } else if (c == '\\') {
          if (pos >= text.length()) {
            throw error("an escape");
          }
          char e = text.charAt(pos++);
          switch (e) {
            case '"' -> out.append('"');
            case '\\' -> out.append('\\');
            case '/' -> out.append('/');
            case 'b' -> out.append('\b');
            case 'f' -> out.append('\f');
            case 'n' -> out.append('\n');
            case 'r' -> out.append('\r');
            case 't' -> out.append('\t');
            case 'u' -> {
              if (pos + 4 > text.length()) {
                throw error("four hex digits");
              }
              int code = 0;
              for (int i = 0; i < 4; i++) {
                int digit = Character.digit(text.charAt(pos++), 16);
                if (digit < 0) {
                  pos--;
                  throw error("a hex digit");
                }
                code = code * 16 + digit;
              }
              out.append((char) code);
            }
            default -> {
              pos--;
              throw error("a valid escape");
            }
          }
        } else if (c < 0x20) {
          pos--;
          throw error("no raw control character in a string");
        } else {
          out.append(c);
        }
      }
    }

    private JsonNumber number() {
      int start = pos;
      while (pos < text.length()) {
        char c = text.charAt(pos);
        if (isDigit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
          pos++;
        } else {
          break;
        }
      }
      String literal = text.subSequence(start, pos).toString();
      if (!isNumberLiteral(literal)) {
        pos = start;
        throw error("a number");
      }
      if (digits(literal) > MAX_NUMBER_DIGITS) {
        pos = start;
        throw new InvalidPayloadException(
            "invalid json at offset "
                + pos
                + ": number with more than "
                + MAX_NUMBER_DIGITS
                + " digits");
      }
      return new JsonNumber(literal);
    }
  }
}
