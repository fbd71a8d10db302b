package dev.durablechat.api;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import org.jspecify.annotations.Nullable;

/**
 * JSON held as UTF-8 bytes, the form a {@link UIMessage} keeps: a validating scanner that checks a
 * whole value in one pass over the bytes without building anything (grammar, UTF-8, the depth and
 * number limits of {@link Json}), notes whether the bytes are exactly what {@link Json#write} would
 * write for the value they hold (canonical), and indexes a message's top-level members; and a
 * reader that binds bytes the scanner accepted into {@link JsonValue}s. Not public API.
 *
 * <p>The scanner accepts exactly the texts {@link Json#parse} accepts, except that a byte sequence
 * that is not UTF-8 is refused (a text has no such thing).
 */
final class Utf8Json {
  /**
   * Bytes that need no attention inside a string: printable ASCII other than quote and backslash.
   */
  private static final boolean[] PLAIN = new boolean[256];

  static {
    for (int c = 0x20; c < 0x80; c++) {
      PLAIN[c] = c != '"' && c != '\\';
    }
  }

  /** Reads eight bytes of an array as one little-endian long. */
  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  private static final long ONES = 0x0101010101010101L;
  private static final long HIGHS = 0x8080808080808080L;

  private final byte[] a;
  private final int end;
  private int pos;

  /** False once the scanner met anything {@link Json#write} would not have written. */
  private boolean canonical = true;

  /** The open objects' member names so far, as (start, length) pairs; see {@link #name}. */
  private int[] names = new int[32];

  private int top;

  private Utf8Json(byte[] a, int pos, int end) {
    this.a = a;
    this.pos = pos;
    this.end = end;
  }

  // ---------------------------------------------------------------------------------------------
  // messages

  /**
   * A message's bytes scanned once: its top-level members indexed (scalar values bound, composite
   * ones kept as byte ranges), and whether the bytes can be kept as they are: canonical, no name
   * twice at the top level, and the shape {@link UIMessage} requires (a string {@code id}, a string
   * {@code role}, {@code parts} an array of objects each with a string {@code type}; the role's
   * value is checked by the caller).
   */
  record Scanned(Utf8Object object, boolean keepable) {}

  /**
   * Scans the object that starts at {@code from} (white space before it allowed) and ends before
   * {@code to}; the index's ranges count from the object's first byte.
   *
   * @return the scan and the offset just past the object
   * @throws InvalidPayloadException if the bytes are not one valid JSON object, naming the offset
   */
  static Scanned scanMessage(byte[] a, int from, int to, int[] endOut) {
    var s = new Utf8Json(a, from, to);
    s.ws();
    if (s.pos >= to || a[s.pos] != '{') {
      if (s.pos < to) {
        s.value(0); // a clear error for malformed input; a valid non-object is refused below
      }
      throw s.error("a json object");
    }
    Scanned scanned = s.messageObject();
    endOut[0] = s.pos;
    return scanned;
  }

  /**
   * The head of the message object in {@code a[from, to)}: its members up to the first composite
   * value or until both {@code id} and {@code role} are read, each name and value checked (and
   * bound); null unless the object starts there, the head is canonical, holds no name twice, and
   * binds a string {@code id} and a string {@code role}. Nothing past the head is read: a caller
   * that has other grounds to trust the rest (a snapshot's message index and checksum) gets a
   * message's id and role without tokenizing its parts.
   */
  static @Nullable Utf8Object head(byte[] a, int from, int to) {
    var s = new Utf8Json(a, from, to);
    if (from >= to || a[from] != '{') {
      return null;
    }
    s.pos++;
    String[] names = new String[2];
    int[] spans = new int[4];
    JsonValue[] scalars = new JsonValue[2];
    int n = 0;
    boolean id = false;
    boolean role = false;
    try {
      while (!(id && role) && n < 8) {
        if (s.pos >= to || a[s.pos] != '"') {
          return null;
        }
        int nameStart = s.pos;
        s.string();
        String name = s.memberName(nameStart, s.pos);
        if (s.pos >= to || a[s.pos] != ':') {
          return null;
        }
        s.pos++;
        int valueStart = s.pos;
        if (valueStart >= to || a[valueStart] == '{' || a[valueStart] == '[') {
          return null; // a composite before id and role: the whole object is scanned instead
        }
        s.value(1);
        JsonValue value = read(a, valueStart, s.pos);
        for (int k = 0; k < n; k++) {
          if (names[k].equals(name)) {
            return null;
          }
        }
        if (n == names.length) {
          names = Arrays.copyOf(names, 2 * n);
          spans = Arrays.copyOf(spans, 4 * n);
          scalars = Arrays.copyOf(scalars, 2 * n);
        }
        names[n] = name;
        spans[2 * n] = valueStart - from;
        spans[2 * n + 1] = s.pos - from;
        scalars[n] = value;
        n++;
        id |= name.equals("id") && value instanceof JsonString;
        role |= name.equals("role") && value instanceof JsonString;
        if (s.pos >= to || a[s.pos] != ',') {
          return null; // '}' already: no parts, which the full scan refuses with its reason
        }
        s.pos++;
      }
    } catch (InvalidPayloadException e) {
      return null;
    }
    if (!(id && role) || !s.canonical) {
      return null;
    }
    return new Utf8Object(
        Arrays.copyOf(names, n), Arrays.copyOf(spans, 2 * n), Arrays.copyOf(scalars, n), false);
  }

  /** Checks that nothing but white space follows at {@code pos} before {@code to}. */
  static void requireEnd(byte[] a, int pos, int to) {
    var s = new Utf8Json(a, pos, to);
    s.ws();
    if (s.pos != to) {
      throw s.error("end of input");
    }
  }

  /**
   * Scans the array of messages in {@code a[from, to)} and returns each element's scan and range,
   * as {@code [start, end)} pairs in {@code ranges}.
   */
  static ArrayList<Scanned> scanMessageArray(byte[] a, int from, int to, ArrayList<int[]> ranges) {
    var s = new Utf8Json(a, from, to);
    s.ws();
    if (s.pos >= to || a[s.pos] != '[') {
      throw s.error("[[] opening an array of messages");
    }
    s.pos++;
    var out = new ArrayList<Scanned>();
    s.ws();
    if (s.pos < to && a[s.pos] == ']') {
      s.pos++;
    } else {
      while (true) {
        s.ws();
        int start = s.pos;
        if (start >= to || a[start] != '{') {
          if (start < to) {
            s.value(1);
          }
          throw new InvalidPayloadException(
              "messages[" + out.size() + "] must be an object, at offset " + start);
        }
        try {
          out.add(s.messageObject());
        } catch (InvalidPayloadException e) {
          throw new InvalidPayloadException(
              "messages[" + out.size() + "] is invalid: " + e.getMessage(), e);
        }
        ranges.add(new int[] {start, s.pos});
        s.ws();
        if (s.pos < to && a[s.pos] == ',') {
          s.pos++;
        } else if (s.pos < to && a[s.pos] == ']') {
          s.pos++;
          break;
        } else {
          throw s.error("[,] or []]");
        }
      }
    }
    s.ws();
    if (s.pos != to) {
      throw s.error("end of the array");
    }
    return out;
  }

  private Scanned messageObject() {
    int start = pos;
    pos++; // '{'
    var memberNames = new ArrayList<String>(4);
    var spans = new int[8];
    var scalars = new ArrayList<JsonValue>(4);
    boolean shape = true;
    boolean sawParts = false;
    ws();
    if (pos < end && a[pos] == '}') {
      pos++;
    } else {
      while (true) {
        ws();
        if (pos >= end || a[pos] != '"') {
          throw error("a member name");
        }
        int nameStart = pos;
        string();
        String name = memberName(nameStart, pos);
        ws();
        if (pos >= end || a[pos] != ':') {
          throw error("[:]");
        }
        pos++;
        ws();
        int valueStart = pos;
        if (name.equals("parts") && pos < end && a[pos] == '[') {
          shape &= partsArray();
          sawParts = true;
        } else {
          if (name.equals("parts")) {
            shape = false;
          }
          value(1);
        }
        int valueEnd = pos;
        if (memberNames.contains(name)) {
          canonical = false; // a name twice: JSON.parse keeps the last, Json.write writes it once
        }
        int i = memberNames.size();
        memberNames.add(name);
        if (spans.length < 2 * (i + 1)) {
          spans = Arrays.copyOf(spans, spans.length * 2);
        }
        spans[2 * i] = valueStart - start;
        spans[2 * i + 1] = valueEnd - start;
        byte first = a[valueStart];
        scalars.add(first == '{' || first == '[' ? null : read(a, valueStart, valueEnd));
        ws();
        if (pos < end && a[pos] == ',') {
          pos++;
        } else if (pos < end && a[pos] == '}') {
          pos++;
          break;
        } else {
          throw error("[,] or [}]");
        }
      }
    }
    int n = memberNames.size();
    var object =
        new Utf8Object(
            memberNames.toArray(new String[0]),
            Arrays.copyOf(spans, 2 * n),
            scalars.toArray(new JsonValue[0]));
    shape &=
        sawParts
            && object.scalar("id") instanceof JsonString
            && object.scalar("role") instanceof JsonString;
    return new Scanned(object, canonical && shape);
  }

  /**
   * The {@code parts} array: true if every element is an object whose last {@code type} is a
   * string.
   */
  private boolean partsArray() {
    pos++; // '['
    boolean ok = true;
    ws();
    if (pos < end && a[pos] == ']') {
      pos++;
      return true;
    }
    while (true) {
      ws();
      if (pos < end && a[pos] == '{') {
        ok &= partObject();
      } else {
        ok = false;
        value(2);
      }
      ws();
      if (pos < end && a[pos] == ',') {
        pos++;
      } else if (pos < end && a[pos] == ']') {
        pos++;
        return ok;
      } else {
        throw error("[,] or []]");
      }
    }
  }

  private static final byte[] TYPE = "\"type\"".getBytes(StandardCharsets.US_ASCII);

  private boolean partObject() {
    pos++; // '{'
    boolean typeIsString = false;
    ws();
    if (pos < end && a[pos] == '}') {
      pos++;
      return false;
    }
    int first = top;
    long seen = 0;
    while (true) {
      ws();
      if (pos >= end || a[pos] != '"') {
        throw error("a member name");
      }
      int nameStart = pos;
      string();
      seen = name(first, nameStart, pos, seen);
      boolean isType = pos - nameStart == TYPE.length && matches(nameStart, TYPE);
      ws();
      if (pos >= end || a[pos] != ':') {
        throw error("[:]");
      }
      pos++;
      ws();
      if (isType) {
        typeIsString = pos < end && a[pos] == '"';
      }
      value(3);
      ws();
      if (pos < end && a[pos] == ',') {
        pos++;
      } else if (pos < end && a[pos] == '}') {
        pos++;
        top = first;
        return typeIsString;
      } else {
        throw error("[,] or [}]");
      }
    }
  }

  private boolean matches(int at, byte[] expected) {
    for (int i = 0; i < expected.length; i++) {
      if (a[at + i] != expected[i]) {
        return false;
      }
    }
    return true;
  }

  /** A member name, sharing the strings of the names every message has. */
  private String memberName(int quote, int after) {
    int len = after - quote - 2;
    if (len == 2 && a[quote + 1] == 'i' && a[quote + 2] == 'd') {
      return "id";
    } else if (len == 4 && matches(quote, ROLE)) {
      return "role";
    } else if (len == 5 && matches(quote, PARTS)) {
      return "parts";
    } else if (len == 8 && matches(quote, METADATA)) {
      return "metadata";
    }
    return ((JsonString) read(a, quote, after)).value();
  }

  private static final byte[] ROLE = "\"role\"".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] PARTS = "\"parts\"".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] METADATA = "\"metadata\"".getBytes(StandardCharsets.US_ASCII);

  // ---------------------------------------------------------------------------------------------
  // validating scanner

  private InvalidPayloadException error(String expected) {
    String found;
    if (pos >= end) {
      found = "the end of input";
    } else {
      int c = a[pos] & 0xff;
      found =
          c >= 0x20 && c < 0x7f ? "[" + (char) c + "]" : "byte [0x" + Integer.toHexString(c) + "]";
    }
    return new InvalidPayloadException(
        "invalid json at offset " + pos + ": expected " + expected + ", found " + found);
  }

  private void ws() {
    if (pos < end && a[pos] > ' ') {
      return; // canonical bytes have none: the common case costs one test
    }
    int p = pos;
    while (p < end) {
      byte c = a[p];
      if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
        p++;
      } else {
        break;
      }
    }
    if (p != pos) {
      canonical = false;
      pos = p;
    }
  }

  /** Skips one value inside {@code depth} open arrays and objects, checking it. */
  private void value(int depth) {
    if (pos >= end) {
      throw error("a value");
    }
    byte c = a[pos];
    if ((c == '{' || c == '[') && depth >= Json.MAX_DEPTH) {
      throw new InvalidPayloadException(
          "invalid json at offset " + pos + ": nesting deeper than " + Json.MAX_DEPTH);
    }
    switch (c) {
      case '{' -> object(depth);
      case '[' -> array(depth);
      case '"' -> string();
      case 't' -> literal("true");
      case 'f' -> literal("false");
      case 'n' -> literal("null");
      default -> {
        if (c == '-' || (c >= '0' && c <= '9')) {
          number();
        } else {
          throw error("a value");
        }
      }
    }
  }

  private void object(int depth) {
    pos++;
    ws();
    if (pos < end && a[pos] == '}') {
      pos++;
      return;
    }
    int first = top;
    long seen = 0;
    while (true) {
      ws();
      if (pos >= end || a[pos] != '"') {
        throw error("a member name");
      }
      int nameStart = pos;
      string();
      seen = name(first, nameStart, pos, seen);
      ws();
      if (pos >= end || a[pos] != ':') {
        throw error("[:]");
      }
      pos++;
      ws();
      value(depth + 1);
      ws();
      if (pos < end && a[pos] == ',') {
        pos++;
      } else if (pos < end && a[pos] == '}') {
        pos++;
        top = first;
        return;
      } else {
        throw error("[,] or [}]");
      }
    }
  }

  /**
   * Notes a member name of the object whose names start at {@code first} on the stack: a name twice
   * in one object is not canonical (JSON.parse keeps the last, {@link Json#write} writes it once).
   * Canonical names have one spelling each, so comparing bytes is comparing names.
   */
  private long name(int first, int start, int stop, long seen) {
    int len = stop - start;
    // A 64-bit filter of the names so far (by length and the last character): only a name that
    // may have been seen is compared with the others.
    long bit = 1L << ((len * 7 + a[stop - 2]) & 63);
    if ((seen & bit) != 0) {
      for (int k = first; k < top; k += 2) {
        if (names[k + 1] == len && Arrays.equals(a, names[k], names[k] + len, a, start, stop)) {
          canonical = false;
          break;
        }
      }
    }
    if (top + 2 > names.length) {
      names = Arrays.copyOf(names, names.length * 2);
    }
    names[top] = start;
    names[top + 1] = len;
    top += 2;
    return seen | bit;
  }

  private void array(int depth) {
    pos++;
    ws();
    if (pos < end && a[pos] == ']') {
      pos++;
      return;
    }
    while (true) {
      ws();
      value(depth + 1);
      ws();
      if (pos < end && a[pos] == ',') {
        pos++;
      } else if (pos < end && a[pos] == ']') {
        pos++;
        return;
      } else {
        throw error("[,] or []]");
      }
    }
  }

  private void literal(String word) {
    for (int i = 0; i < word.length(); i++) {
      if (pos >= end || a[pos] != word.charAt(i)) {
        throw error("[" + word + "]");
      }
      pos++;
    }
  }

  private void number() {
    int start = pos;
    int digits = 0;
    if (a[pos] == '-') {
      pos++;
    }
    if (pos < end && a[pos] == '0') {
      pos++;
      digits++;
    } else if (pos < end && a[pos] >= '1' && a[pos] <= '9') {
      while (pos < end && a[pos] >= '0' && a[pos] <= '9') {
        pos++;
        digits++;
      }
    } else {
      pos = start;
      throw error("a number");
    }
    if (pos < end && a[pos] == '.') {
      pos++;
      int from = pos;
      while (pos < end && a[pos] >= '0' && a[pos] <= '9') {
        pos++;
      }
      if (pos == from) {
        pos = start;
        throw error("a number");
      }
      digits += pos - from;
    }
    if (pos < end && (a[pos] == 'e' || a[pos] == 'E')) {
      pos++;
      if (pos < end && (a[pos] == '+' || a[pos] == '-')) {
        pos++;
      }
      int from = pos;
      while (pos < end && a[pos] >= '0' && a[pos] <= '9') {
        pos++;
      }
      if (pos == from) {
        pos = start;
        throw error("a number");
      }
      digits += pos - from;
    }
    if (digits > Json.MAX_NUMBER_DIGITS) {
      pos = start;
      throw new InvalidPayloadException(
          "invalid json at offset "
              + pos
              + ": number with more than "
              + Json.MAX_NUMBER_DIGITS
              + " digits");
    }
  }

  /** Skips a string, checking its escapes and UTF-8; {@code pos} is at its opening quote. */
  private void string() {
    final byte[] b = a;
    final int n = end;
    int i = pos + 1;
    while (true) {
      // The common case, printable ASCII: eight bytes at a time while none of them needs
      // attention (a quote, a backslash, a control character or a non-ASCII byte), then byte by
      // byte up to the one that does. The word test may flag a byte that needs nothing (a borrow
      // from a flagged byte below it), never miss one: the byte loop decides.
      while (i + 8 <= n) {
        long w = (long) LONGS.get(b, i);
        long quote = w ^ 0x2222222222222222L;
        long backslash = w ^ 0x5C5C5C5C5C5C5C5CL;
        long flagged =
            ((quote - ONES) & ~quote)
                | ((backslash - ONES) & ~backslash)
                | ((w - 0x2020202020202020L) & ~w)
                | w;
        if ((flagged & HIGHS) != 0) {
          break;
        }
        i += 8;
      }
      while (i < n && PLAIN[b[i] & 0xff]) {
        i++;
      }
      if (i >= n) {
        pos = i;
        throw error("[\"] closing the string");
      }
      int c = b[i] & 0xff;
      if (c == '"') {
        pos = i + 1;
        return;
      } else if (c == '\\') {
        i = escape(i);
      } else if (c < 0x20) {
        pos = i;
        throw error("no raw control character in a string");
      } else {
        i = utf8(i, c);
      }
    }
  }

  private int escape(int i) {
    if (i + 1 >= end) {
      pos = i + 1;
      throw error("an escape");
    }
    byte e = a[i + 1];
    switch (e) {
      case '"', '\\', 'n', 'r', 't', 'b', 'f' -> {
        return i + 2;
      }
      case '/' -> {
        canonical = false;
        return i + 2;
      }
      case 'u' -> {
        int code = hex4(i + 2);
        if (code >= 0x20 && !Character.isSurrogate((char) code)
            || code == '\b'
            || code == '\t'
            || code == '\n'
            || code == '\f'
            || code == '\r') {
          canonical = false; // Json.write writes these as the character or a short escape
        } else if (Character.isHighSurrogate((char) code)
            && i + 11 < end
            && a[i + 6] == '\\'
            && a[i + 7] == 'u') {
          int next = hex4(i + 8);
          if (Character.isLowSurrogate((char) next)) {
            canonical = false; // a pair: Json.write writes the character
          }
        }
        return i + 6;
      }
      default -> {
        pos = i + 1;
        throw error("a valid escape");
      }
    }
  }

  private int hex4(int at) {
    if (at + 4 > end) {
      pos = at;
      throw error("four hex digits");
    }
    int code = 0;
    for (int k = 0; k < 4; k++) {
      int d = a[at + k];
      int digit;
      if (d >= '0' && d <= '9') {
        digit = d - '0';
      } else if (d >= 'a' && d <= 'f') {
        digit = d - 'a' + 10;
      } else if (d >= 'A' && d <= 'F') {
        digit = d - 'A' + 10;
        canonical = false; // Json.write writes lowercase hex
      } else {
        pos = at + k;
        throw error("a hex digit");
      }
      code = code * 16 + digit;
    }
    return code;
  }

  /** Checks the UTF-8 sequence whose lead byte {@code c} is at {@code i}; returns what follows. */
  private int utf8(int i, int c) {
    int need;
    int min = 0x80;
    int max = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      if (c == 0xE0) {
        min = 0xA0; // no overlong form
      } else if (c == 0xED) {
        max = 0x9F; // no encoded surrogate
      }
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      if (c == 0xF0) {
        min = 0x90;
      } else if (c == 0xF4) {
        max = 0x8F; // nothing past U+10FFFF
      }
    } else {
      pos = i;
      throw error("a utf-8 character");
    }
    if (i + need >= end) {
      pos = i;
      throw error("a whole utf-8 character");
    }
    int second = a[i + 1] & 0xff;
    if (second < min || second > max) {
      pos = i + 1;
      throw error("a utf-8 continuation byte");
    }
    for (int k = 2; k <= need; k++) {
      if ((a[i + k] & 0xC0) != 0x80) {
        pos = i + k;
        throw error("a utf-8 continuation byte");
      }
    }
    return i + need + 1;
  }

  // ---------------------------------------------------------------------------------------------
  // reader: binds bytes the scanner accepted

  /** The value in {@code a[from, to)}, which the scanner has accepted. */
  static JsonValue read(byte[] a, int from, int to) {
    var r = new Utf8Json(a, from, to);
    JsonValue value = r.readValue();
    if (r.pos != to) {
      throw r.error("end of input");
    }
    return value;
  }

  /** Checks the value in {@code a[from, to)} (nothing else may follow), then reads it. */
  static JsonValue parse(byte[] a, int from, int to) {
    var s = new Utf8Json(a, from, to);
    s.ws();
    int start = s.pos;
    s.value(0);
    int stop = s.pos;
    s.ws();
    if (s.pos != to) {
      throw s.error("end of input");
    }
    return read(a, start, stop);
  }

  private JsonValue readValue() {
    // The scanner accepted these bytes; the reader still never reads past them.
    ws();
    if (pos >= end) {
      throw error("a value");
    }
    byte c = a[pos];
    switch (c) {
      case '{' -> {
        pos++;
        var members = new LinkedHashMap<String, JsonValue>();
        ws();
        if (pos < end && a[pos] == '}') {
          pos++;
          return JsonObject.adopt(members);
        }
        while (true) {
          ws();
          String name = readString();
          ws();
          pos++; // ':'
          members.put(name, readValue());
          ws();
          if (pos < end && a[pos] == ',') {
            pos++;
          } else {
            pos++; // '}'
            return JsonObject.adopt(members);
          }
        }
      }
      case '[' -> {
        pos++;
        var elements = new ArrayList<JsonValue>();
        ws();
        if (pos < end && a[pos] == ']') {
          pos++;
          return JsonArray.adopt(elements);
        }
        while (true) {
          elements.add(readValue());
          ws();
          if (pos < end && a[pos] == ',') {
            pos++;
          } else {
            pos++; // ']'
            return JsonArray.adopt(elements);
          }
        }
      }
      case '"' -> {
        return new JsonString(readString());
      }
      case 't' -> {
        pos += 4;
        return JsonBoolean.TRUE;
      }
      case 'f' -> {
        pos += 5;
        return JsonBoolean.FALSE;
      }
      case 'n' -> {
        pos += 4;
        return JsonNull.INSTANCE;
      }
      default -> {
        int start = pos;
        while (pos < end) {
          byte d = a[pos];
          if ((d >= '0' && d <= '9') || d == '-' || d == '+' || d == '.' || d == 'e' || d == 'E') {
            pos++;
          } else {
            break;
          }
        }
        return new JsonNumber(new String(a, start, pos - start, StandardCharsets.ISO_8859_1));
      }
    }
  }

  private String readString() {
    if (pos >= end || a[pos] != '"') {
      throw error("a string");
    }
    int start = pos + 1;
    int i = start;
    while (i < end && a[i] != '"' && a[i] != '\\') {
      i++;
    }
    if (i < end && a[i] == '"') {
      pos = i + 1;
      return new String(a, start, i - start, StandardCharsets.UTF_8);
    }
    var out = new StringBuilder(i - start + 16);
    int run = start;
    while (true) {
      if (i >= end) {
        pos = i;
        throw error("[\"] closing the string");
      }
      byte c = a[i];
      if (c == '"') {
        out.append(new String(a, run, i - run, StandardCharsets.UTF_8));
        pos = i + 1;
        return out.toString();
      } else if (c == '\\') {
        out.append(new String(a, run, i - run, StandardCharsets.UTF_8));
        byte e = a[i + 1];
        switch (e) {
          case 'b' -> out.append('\b');
          case 'f' -> out.append('\f');
          case 'n' -> out.append('\n');
          case 'r' -> out.append('\r');
          case 't' -> out.append('\t');
          case 'u' -> {
            out.append((char) hex4(i + 2));
            i += 4;
          }
          default -> out.append((char) e); // '"', '\\', '/'
        }
        i += 2;
        run = i;
      } else {
        i++;
      }
    }
  }
}
