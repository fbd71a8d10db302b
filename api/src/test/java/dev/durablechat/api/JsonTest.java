package dev.durablechat.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("The api's JSON reader and writer")
class JsonTest {

  @Test
  @DisplayName("writes compact text, keeping member order, and reads it back as an equal value")
  void roundTrip() {
    JsonObject value =
        JsonObject.builder()
            .put("b", 1)
            .put("a", JsonArray.of(JsonValue.of(true), JsonNull.INSTANCE, JsonValue.of("x")))
            .put("o", JsonObject.empty())
            .build();

    assertThat(Json.write(value)).isEqualTo("{\"b\":1,\"a\":[true,null,\"x\"],\"o\":{}}");
    assertThat(Json.parse(Json.write(value))).isEqualTo(value);
    assertThat(value.toString()).isEqualTo(Json.write(value));
  }

  @Test
  @DisplayName("object equality ignores member order, as JSON does; the text keeps it")
  void objectEqualityIgnoresOrder() {
    JsonValue ab = Json.parse("{\"a\":1,\"b\":2}");
    JsonValue ba = Json.parse("{\"b\":2,\"a\":1}");

    assertThat(ab).isEqualTo(ba).hasSameHashCodeAs(ba);
    assertThat(Json.write(ba)).isEqualTo("{\"b\":2,\"a\":1}");
  }

  @Test
  @DisplayName(
      "the last of duplicate member names wins, in the first one's place, as in JSON.parse")
  void duplicateNames() {
    JsonObject parsed = Json.parseObject("{\"b\":1,\"a\":2,\"b\":3}");

    assertThat(parsed.members().keySet()).containsExactly("b", "a");
    assertThat(parsed.get("b")).isEqualTo(JsonValue.of(3));
  }

  @Test
  @DisplayName(
      "escapes as JavaScript's JSON.stringify: short forms, lowercase \\u, lone surrogates")
  void escapesLikeJavaScript() {
    String s = "q\" b\\ /\b\f\n\r\t\u0000\u001f\u007f é \u2028 😀 \ud83d \ude00";

    // What node prints for JSON.stringify(s).
    assertThat(Json.write(JsonValue.of(s)))
        .isEqualTo(
            "\"q\\\" b\\\\ /\\b\\f\\n\\r\\t\\u0000\\u001f\u007f é \u2028 😀 \\ud83d \\ude00\"");
  }

  @Test
  @DisplayName("reads every escape, in either hex case, and surrogate pairs written as two escapes")
  void readsEveryEscape() {
    String text = "\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00E9\\u00e9 \\uD83D\\uDE00 \\ud83d\"";

    assertThat(Json.parse(text)).isEqualTo(JsonValue.of("\" \\ / \b \f \n \r \t éé 😀 \ud83d"));
  }

  @Test
  @DisplayName("keeps a number's literal text: 1.0, -0, exponents and 30 digits are not rewritten")
  void numbersKeepTheirText() {
    String text = "[1.0,-0,-0.0,1E+2,2e-7,123456789012345678901234567890]";

    assertThat(Json.write(Json.parse(text))).isEqualTo(text);
    assertThat(Json.parse("-0")).isEqualTo(new JsonNumber("-0")).isNotEqualTo(new JsonNumber("0"));
    assertThat(new JsonNumber("123456789012345678901234567890").toBigDecimal())
        .hasToString("123456789012345678901234567890");
  }

  @ParameterizedTest(name = "[{0}]")
  @ValueSource(strings = {"01", "1.", ".5", "-", "+1", "1e", "1e+", "0x10", "NaN", "Infinity"})
  @DisplayName("refuses what is not a JSON number literal")
  void refusesBadNumbers(String literal) {
    assertThatThrownBy(() -> Json.parse(literal)).isInstanceOf(InvalidPayloadException.class);
    assertThatThrownBy(() -> new JsonNumber(literal))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("not a json number literal [" + literal + "]");
  }

  @Test
  @DisplayName("takes up to MAX_NUMBER_DIGITS digits in a number and refuses one more")
  void numberDigits() {
    String most = "-1." + "2".repeat(Json.MAX_NUMBER_DIGITS - 2) + "e1";

    assertThat(Json.parse(most)).isEqualTo(new JsonNumber(most));
    assertThatThrownBy(() -> Json.parse("[" + most + "0]"))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessage("invalid json at offset 1: number with more than 1000 digits");
  }

  @Test
  @DisplayName("takes MAX_DEPTH arrays and objects open at once and refuses one more")
  void depth() {
    String deepest = "[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH);

    assertThat(Json.parse(deepest)).isInstanceOf(JsonArray.class);
    assertThatThrownBy(() -> Json.parse("[" + deepest + "]"))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessage("invalid json at offset " + Json.MAX_DEPTH + ": nesting deeper than 512");
  }

  @ParameterizedTest(name = "[{0}]")
  @ValueSource(
      strings = {
        "",
        " ",
        "{",
        "[1,]",
        "{\"a\":1,}",
        "{a:1}",
        "'x'",
        "\"\\x\"",
        "\"\\u12\"",
        "tru",
        "nul",
        "[1 2]",
        "{} {}",
        "\"\u0001\"",
        "\"\t\"",
        "\ufeff1",
        "// c\n1"
      })
  @DisplayName("refuses malformed text with an error that names the offset")
  void refusesMalformedText(String text) {
    assertThatThrownBy(() -> Json.parse(text))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageStartingWith("invalid json at offset ");
  }

  @Test
  @DisplayName("parseObject names the kind of value it got instead of an object")
  void parseObjectNamesTheKind() {
    assertThatThrownBy(() -> Json.parseObject("[1]"))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessage("expected a json object, got an array [[1]]");
  }

  @Test
  @DisplayName("a double becomes a number; NaN and infinities have no JSON form")
  void doubles() {
    assertThat(JsonNumber.of(2.5)).isEqualTo(new JsonNumber("2.5"));
    assertThat(JsonNumber.of(1e300).literal()).isEqualTo("1.0E300");
    assertThatThrownBy(() -> JsonNumber.of(Double.NaN))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("json numbers must be finite, got [NaN]");
  }
}
