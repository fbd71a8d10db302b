package dev.durablechat.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonBoolean;
import dev.durablechat.api.JsonNull;
import dev.durablechat.api.JsonNumber;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonString;
import dev.durablechat.api.JsonValue;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Random;
import java.util.function.Supplier;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;

/**
 * The api's JSON reader and writer ({@link Json}, which backends use) and the engine's Jackson
 * codec ({@link JsonCodec}) must agree on every document: a record the engine wrote must read back
 * the same through a backend, and the other way round. Generated documents cover every escape,
 * surrogate pairs and lone surrogates, deep nesting, and big numbers, exponents and negative zero.
 *
 * <p>Lone surrogates (a high surrogate without its low half, or a low one alone) are kept as the
 * UTF-16 code units they are, as JavaScript's {@code JSON.parse} keeps them: both readers accept
 * them raw in text and as {@code \\u} escapes in text or UTF-8, and both writers escape them as
 * lowercase {@code \\u} escapes, as {@code JSON.stringify} does. They cannot appear raw in UTF-8.
 */
@Label("The api's JSON reader/writer and the engine's codec agree")
class JsonAgreementTest {
  /**
   * Fixed, so that the build is reproducible; change it (or raise {@code tries}) to explore other
   * documents. A failure prints the smallest document that still fails.
   */
  private static final String SEED = "20261201";

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  // ------------------------------------------------------------------------------- properties

  @Property(tries = 400, seed = SEED)
  @Label("both writers write the same text, byte for byte")
  void bothWritersAgree(@ForAll("documents") JsonValue value) {
    String text = Json.write(value);

    assertThat(JsonCodec.write(value)).isEqualTo(text);
    assertThat(JsonCodec.writeBytes(value)).isEqualTo(utf8(text));
  }

  @Property(tries = 400, seed = SEED)
  @Label("both readers read back what was written, as text and as UTF-8")
  void bothReadersReadWhatWasWritten(@ForAll("documents") JsonValue value) {
    String text = Json.write(value);

    assertThat(Json.parse(text)).isEqualTo(value);
    assertThat(JsonCodec.parse(text)).isEqualTo(value);
    assertThat(JsonCodec.parse(utf8(text))).isEqualTo(value);
    // Member order survives too: the text written again is the same text.
    assertThat(Json.write(JsonCodec.parse(utf8(text)))).isEqualTo(text);
    assertThat(Json.write(Json.parse(text))).isEqualTo(text);
  }

  @Property(tries = 400, seed = SEED)
  @Label("both readers read any spelling of a document (escapes, white space) as the same value")
  void bothReadersAgreeOnEverySpelling(@ForAll("spelled") Spelled doc) {
    assertThat(Json.parse(doc.text())).isEqualTo(doc.value());
    assertThat(JsonCodec.parse(doc.text())).isEqualTo(doc.value());
    if (isUtf8Safe(doc.text())) {
      assertThat(JsonCodec.parse(utf8(doc.text()))).isEqualTo(doc.value());
    }
  }

  @Property(tries = 1000, seed = SEED)
  @Label("on damaged text both readers refuse, or both read the same value")
  void bothReadersRefuseTheSameText(
      @ForAll("spelled") Spelled doc, @ForAll("damage") Damage damage) {
    String text = damage.apply(doc.text());

    Outcome api = Outcome.of(() -> Json.parse(text));
    assertThat(Outcome.of(() -> JsonCodec.parse(text))).as("text [%s]", text).isEqualTo(api);
    if (isUtf8Safe(text)) {
      assertThat(Outcome.of(() -> JsonCodec.parse(utf8(text))))
          .as("utf-8 [%s]", text)
          .isEqualTo(api);
    }
  }

  @Property(tries = 200, seed = SEED)
  @Label("both readers take the same nesting depth, and refuse one level more")
  void nestingDepth(
      @ForAll @IntRange(min = 1, max = Json.MAX_DEPTH + 8) int depth,
      @ForAll boolean objects,
      @ForAll boolean scalarInside) {
    String text = nested(depth, objects, scalarInside);

    Outcome api = Outcome.of(() -> Json.parse(text));
    assertThat(Outcome.of(() -> JsonCodec.parse(text))).isEqualTo(api);
    assertThat(Outcome.of(() -> JsonCodec.parse(utf8(text)))).isEqualTo(api);
    assertThat(api.refused()).isEqualTo(depth > Json.MAX_DEPTH);
  }

  @Property(tries = 200, seed = SEED)
  @Label("both readers take number literals up to the same number of digits, and refuse more")
  void numberLength(
      @ForAll @IntRange(min = 1, max = Json.MAX_NUMBER_DIGITS + 20) int length,
      @ForAll boolean negative,
      @ForAll boolean fraction) {
    String literal = longNumber(length, negative, fraction);
    String text = "[" + literal + "]";

    Outcome api = Outcome.of(() -> Json.parse(text));
    assertThat(Outcome.of(() -> JsonCodec.parse(text))).isEqualTo(api);
    assertThat(Outcome.of(() -> JsonCodec.parse(utf8(text)))).isEqualTo(api);
    long digits = literal.chars().filter(Character::isDigit).count();
    assertThat(api.refused()).isEqualTo(digits > Json.MAX_NUMBER_DIGITS);
  }

  // --------------------------------------------------------------------------------- examples

  @Example
  @Label("at the limits exactly: MAX_DEPTH containers and MAX_NUMBER_DIGITS digits, and one more")
  void limitsExactly() {
    for (int depth = Json.MAX_DEPTH - 1; depth <= Json.MAX_DEPTH + 1; depth++) {
      for (boolean objects : new boolean[] {false, true}) {
        for (boolean scalarInside : new boolean[] {false, true}) {
          String text = nested(depth, objects, scalarInside);
          Outcome api = Outcome.of(() -> Json.parse(text));

          assertThat(api.refused()).as("depth %d", depth).isEqualTo(depth > Json.MAX_DEPTH);
          assertThat(Outcome.of(() -> JsonCodec.parse(text))).isEqualTo(api);
          assertThat(Outcome.of(() -> JsonCodec.parse(utf8(text)))).isEqualTo(api);
        }
      }
    }
    for (int digits = Json.MAX_NUMBER_DIGITS - 1; digits <= Json.MAX_NUMBER_DIGITS + 1; digits++) {
      String literal = "-" + "9".repeat(digits - 3) + ".5e+12";
      String text = "{\"n\":" + literal + "}";
      Outcome api = Outcome.of(() -> Json.parse(text));

      assertThat(api.refused()).as("%d digits", digits).isEqualTo(digits > Json.MAX_NUMBER_DIGITS);
      assertThat(Outcome.of(() -> JsonCodec.parse(text))).isEqualTo(api);
      assertThat(Outcome.of(() -> JsonCodec.parse(utf8(text)))).isEqualTo(api);
    }
  }

  @Example
  @Label("a lone surrogate raw in text, and escaped in a member name, reads the same on both sides")
  void loneSurrogates() {
    String raw = "{\"k\":\"a\ud83db\",\"\ude00\":1}";
    String escaped = "{\"k\":\"a\\ud83db\",\"\\ude00\":1}";
    JsonValue expected =
        JsonObject.builder().put("k", "a\ud83db").put("\ude00", JsonValue.of(1)).build();

    assertThat(Json.parse(raw)).isEqualTo(expected);
    assertThat(JsonCodec.parse(raw)).isEqualTo(expected);
    assertThat(Json.parse(escaped)).isEqualTo(expected);
    assertThat(JsonCodec.parse(escaped)).isEqualTo(expected);
    assertThat(JsonCodec.parse(utf8(escaped))).isEqualTo(expected);
    assertThat(Json.write(expected)).isEqualTo(escaped);
    assertThat(JsonCodec.writeBytes(expected)).isEqualTo(utf8(escaped));
  }

  @Example
  @Label("negative zero, exponents and 400-digit numbers keep their literal text on both sides")
  void numbersKeepTheirText() {
    String text = "[-0,-0.0,-0e0,0E-0,1e400,-1E+308,2.5e-324," + "9".repeat(400) + "]";

    assertThat(Json.write(JsonCodec.parse(utf8(text)))).isEqualTo(text);
    assertThat(Json.write(Json.parse(text))).isEqualTo(text);
    assertThat(JsonCodec.writeBytes(Json.parse(text))).isEqualTo(utf8(text));
  }

  @Example
  @Label(
      "a number literal longer than the limit cannot be made, so nothing writes what cannot be read")
  void tooLongNumberCannotBeMade() {
    assertThatThrownBy(() -> new JsonNumber("-1." + "5".repeat(Json.MAX_NUMBER_DIGITS)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("more than " + Json.MAX_NUMBER_DIGITS + " digits");
    assertThat(new JsonNumber("-1." + "5".repeat(Json.MAX_NUMBER_DIGITS - 1)).literal())
        .hasSize(Json.MAX_NUMBER_DIGITS + 2);
  }

  // ------------------------------------------------------------------------------- generators

  /** One string "atom": the characters that need care when written or read. */
  private static Arbitrary<String> atoms() {
    return Arbitraries.frequencyOf(
        Tuple.of(6, Arbitraries.strings().withCharRange('a', 'z').ofMinLength(1).ofMaxLength(6)),
        Tuple.of(3, Arbitraries.chars().range('\u0000', '\u001f').map(String::valueOf)),
        Tuple.of(3, Arbitraries.of("\"", "\\", "/", "\u007f", " ", "'")),
        Tuple.of(2, Arbitraries.of("é", "\u00a0", "\u2028", "\u2029", "\ufeff", "\uffff", "中")),
        Tuple.of(
            3,
            Arbitraries.integers()
                .between(0x10000, 0x10FFFF)
                .map(cp -> new String(Character.toChars(cp)))),
        Tuple.of(2, Arbitraries.chars().range('\ud800', '\udbff').map(String::valueOf)),
        Tuple.of(2, Arbitraries.chars().range('\udc00', '\udfff').map(String::valueOf)),
        Tuple.of(1, Arbitraries.just("\ude00\ud83d")));
  }

  private static Arbitrary<String> strings() {
    return atoms().list().ofMaxSize(8).map(list -> String.join("", list));
  }

  /** Valid JSON number literals: signs, zeros, long integers, fractions, exponents. */
  private static Arbitrary<String> numbers() {
    Arbitrary<String> integer =
        Arbitraries.oneOf(
            Arbitraries.just("0"),
            Combinators.combine(
                    Arbitraries.chars().range('1', '9'),
                    Arbitraries.strings().numeric().ofMaxLength(40))
                .as((first, rest) -> first + rest));
    Arbitrary<String> fraction =
        Arbitraries.oneOf(
            Arbitraries.just(""),
            Arbitraries.strings().numeric().ofMinLength(1).ofMaxLength(30).map(d -> "." + d));
    Arbitrary<String> exponent =
        Arbitraries.oneOf(
            Arbitraries.just(""),
            Combinators.combine(
                    Arbitraries.of("e", "E"),
                    Arbitraries.of("", "+", "-"),
                    Arbitraries.strings().numeric().ofMinLength(1).ofMaxLength(6))
                .as((e, sign, digits) -> e + sign + digits));
    return Combinators.combine(Arbitraries.of("", "-"), integer, fraction, exponent)
        .as((sign, i, f, e) -> sign + i + f + e);
  }

  private static Arbitrary<JsonValue> scalars() {
    return Arbitraries.frequencyOf(
        Tuple.of(4, strings().map(JsonString::new)),
        Tuple.of(3, numbers().map(JsonNumber::new)),
        Tuple.of(1, Arbitraries.of(JsonBoolean.TRUE, JsonBoolean.FALSE)),
        Tuple.of(1, Arbitraries.just(JsonNull.INSTANCE)));
  }

  private static Arbitrary<JsonValue> containers(Arbitrary<JsonValue> inner) {
    Arbitrary<JsonValue> arrays = inner.list().ofMaxSize(4).map(JsonArray::of);
    Arbitrary<JsonValue> objects =
        Combinators.combine(strings(), inner)
            .as(Tuple::of)
            .list()
            .ofMaxSize(4)
            .map(
                members -> {
                  var map = new LinkedHashMap<String, JsonValue>();
                  members.forEach(m -> map.put(m.get1(), m.get2()));
                  return JsonObject.adopt(map);
                });
    return Arbitraries.oneOf(inner, arrays, objects);
  }

  @Provide
  Arbitrary<JsonValue> documents() {
    Supplier<Arbitrary<JsonValue>> base = JsonAgreementTest::scalars;
    return Arbitraries.recursive(base, JsonAgreementTest::containers, 0, 5);
  }

  @Provide
  Arbitrary<Spelled> spelled() {
    return Combinators.combine(documents(), Arbitraries.longs()).as(Spelled::spell);
  }

  @Provide
  Arbitrary<Damage> damage() {
    Arbitrary<Character> anyChar =
        Arbitraries.of(
            '{', '}', '[', ']', ',', ':', '"', '\\', 'u', 'e', 'E', '.', '-', '+', '0', '1', '9',
            'a', 'n', 't', 'f', ' ', '\n', '\u0001', '\ud83d', '\ufeff');
    return Combinators.combine(
            Arbitraries.of(Damage.Kind.values()), Arbitraries.doubles().between(0, 1), anyChar)
        .as(Damage::new);
  }

  // ---------------------------------------------------------------------------------- helpers

  /** A value and one of its many spellings: random escapes and white space between tokens. */
  record Spelled(JsonValue value, String text) {
    static Spelled spell(JsonValue value, long seed) {
      var random = new Random(seed);
      var out = new StringBuilder();
      spell(value, random, out);
      space(random, out);
      return new Spelled(value, out.toString());
    }

    private static void spell(JsonValue value, Random r, StringBuilder out) {
      space(r, out);
      if (value instanceof JsonObject object) {
        out.append('{');
        boolean[] first = {true};
        object
            .members()
            .forEach(
                (name, member) -> {
                  if (!first[0]) {
                    space(r, out);
                    out.append(',');
                  }
                  first[0] = false;
                  space(r, out);
                  string(name, r, out);
                  space(r, out);
                  out.append(':');
                  spell(member, r, out);
                });
        space(r, out);
        out.append('}');
      } else if (value instanceof JsonArray array) {
        out.append('[');
        for (int i = 0; i < array.size(); i++) {
          if (i > 0) {
            space(r, out);
            out.append(',');
          }
          spell(array.get(i), r, out);
        }
        space(r, out);
        out.append(']');
      } else if (value instanceof JsonString string) {
        string(string.value(), r, out);
      } else {
        out.append(value);
      }
    }

    private static void space(Random r, StringBuilder out) {
      while (r.nextInt(4) == 0) {
        out.append(" \t\n\r".charAt(r.nextInt(4)));
      }
    }

    private static void string(String s, Random r, StringBuilder out) {
      out.append('"');
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        boolean pair =
            Character.isHighSurrogate(c)
                && i + 1 < s.length()
                && Character.isLowSurrogate(s.charAt(i + 1));
        boolean lone = Character.isSurrogate(c) && !pair && !isLowOfPair(s, i);
        boolean mustEscape = c < 0x20 || c == '"' || c == '\\';
        int choice = r.nextInt(10);
        if (mustEscape || choice < 3) {
          escape(c, r, out);
        } else if (lone && choice < 6) {
          escape(c, r, out); // a lone surrogate is escaped most of the time ...
        } else {
          out.append(c); // ... and sometimes raw, which only text (not UTF-8) can carry
        }
      }
      out.append('"');
    }

    private static boolean isLowOfPair(String s, int i) {
      return Character.isLowSurrogate(s.charAt(i))
          && i > 0
          && Character.isHighSurrogate(s.charAt(i - 1));
    }

    private static void escape(char c, Random r, StringBuilder out) {
      String shortForm =
          switch (c) {
            case '"' -> "\\\"";
            case '\\' -> "\\\\";
            case '/' -> "\\/";
            case '\b' -> "\\b";
            case '\f' -> "\\f";
            case '\n' -> "\\n";
            case '\r' -> "\\r";
            case '\t' -> "\\t";
            default -> null;
          };
      if (shortForm != null && r.nextBoolean()) {
        out.append(shortForm);
        return;
      }
      String hex = String.format("%04x", (int) c);
      out.append("\\u").append(r.nextBoolean() ? hex : hex.toUpperCase(java.util.Locale.ROOT));
    }
  }

  /** One edit to a valid text: the result may be valid or not; both readers must agree. */
  record Damage(Kind kind, double where, char c) {
    enum Kind {
      TRUNCATE,
      INSERT,
      DELETE,
      REPLACE
    }

    String apply(String text) {
      int at = (int) (where * text.length());
      return switch (kind) {
        case TRUNCATE -> text.substring(0, at);
        case INSERT -> text.substring(0, at) + c + text.substring(at);
        case DELETE -> at < text.length() ? text.substring(0, at) + text.substring(at + 1) : text;
        case REPLACE ->
            at < text.length() ? text.substring(0, at) + c + text.substring(at + 1) : text + c;
      };
    }
  }

  /** What a reader made of a text: a value, or a refusal (the message may differ). */
  record Outcome(JsonValue value, boolean refused) {
    static Outcome of(Supplier<JsonValue> read) {
      try {
        return new Outcome(read.get(), false);
      } catch (InvalidPayloadException e) {
        return new Outcome(null, true);
      }
    }
  }

  private static boolean isUtf8Safe(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isHighSurrogate(c)
          && i + 1 < text.length()
          && Character.isLowSurrogate(text.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return false;
      }
    }
    return true;
  }

  /** {@code depth} containers, one inside the other; the innermost is empty or holds a 1. */
  private static String nested(int depth, boolean objects, boolean scalarInside) {
    String open = objects ? "{\"k\":" : "[";
    String close = objects ? "}" : "]";
    if (scalarInside) {
      return open.repeat(depth) + "1" + close.repeat(depth);
    }
    return open.repeat(depth - 1) + (objects ? "{}" : "[]") + close.repeat(depth - 1);
  }

  /** A number literal of exactly {@code length} characters (at least one digit). */
  private static String longNumber(int length, boolean negative, boolean fraction) {
    String sign = negative ? "-" : "";
    var digits = new StringBuilder("1");
    while (sign.length() + digits.length() < length) {
      digits.append('7');
    }
    if (fraction && digits.length() >= 3) {
      digits.setCharAt(digits.length() / 2, '.');
    }
    return sign + digits;
  }
}
