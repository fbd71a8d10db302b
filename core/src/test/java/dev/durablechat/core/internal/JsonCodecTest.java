package dev.durablechat.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonNumber;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonString;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.UIMessage;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The engine's JSON codec")
class JsonCodecTest {

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  @DisplayName("keeps every number's literal text: 1.0 stays 1.0, 30 digits stay 30 digits")
  void keepsNumberLiterals() {
    String text = "{\"a\":1.0,\"b\":123456789012345678901234567890,\"c\":-0.5e-10,\"d\":0}";
    JsonObject parsed = JsonCodec.parseObject(utf8(text));

    assertThat(parsed.get("a")).isEqualTo(new JsonNumber("1.0"));
    assertThat(parsed.get("b")).isEqualTo(new JsonNumber("123456789012345678901234567890"));
    assertThat(parsed.get("c")).isEqualTo(new JsonNumber("-0.5e-10"));
    assertThat(JsonCodec.write(parsed)).isEqualTo(text);
    assertThat(new String(JsonCodec.writeBytes(parsed), StandardCharsets.UTF_8)).isEqualTo(text);
  }

  @Test
  @DisplayName("F6: unknown fields on a message and its parts survive a round trip unchanged")
  void unknownFieldsSurvive() {
    String text =
        "{\"id\":\"m1\",\"role\":\"assistant\",\"futureField\":{\"x\":[1,2.50,true,null]},"
            + "\"parts\":[{\"type\":\"text\",\"text\":\"hi\",\"providerMetadata\":{\"k\":\"v\"}},"
            + "{\"type\":\"tool-weather\",\"toolCallId\":\"c1\",\"state\":\"output-available\","
            + "\"input\":{},\"output\":{\"t\":21.0},\"somethingNew\":1}]}";
    UIMessage message = new UIMessage(JsonCodec.parseObject(utf8(text)));

    String written = JsonCodec.write(message.json());
    assertThat(written).isEqualTo(text);
    assertThat(JsonCodec.writeBytes(message.json())).isEqualTo(utf8(text));
    assertThat(new UIMessage(JsonCodec.parseObject(written))).isEqualTo(message);
    assertThat(message.parts().get(1).get("somethingNew")).isEqualTo(JsonValue.of(1));
  }

  @Test
  @DisplayName("escapes exactly as JSON.stringify and the api's writer do, on both outputs")
  void escapesLikeJavaScript() {
    String tricky = "a\u0001\u000b\u001f\b\f\n\r\t\"\\/ é \u2028 😀 lone \ud83d x \ude00";
    JsonValue value = JsonObject.builder().put("s", tricky).put(tricky, JsonArray.of()).build();
    // What node's JSON.stringify prints for the same value.
    String expected =
        "{\"s\":\"a\\u0001\\u000b\\u001f\\b\\f\\n\\r\\t\\\"\\\\/ é \u2028 😀 lone \\ud83d x"
            + " \\ude00\",\"a\\u0001\\u000b\\u001f\\b\\f\\n\\r\\t\\\"\\\\/ é \u2028 😀 lone"
            + " \\ud83d x \\ude00\":[]}";

    assertThat(JsonCodec.write(value)).isEqualTo(expected).isEqualTo(Json.write(value));
    assertThat(JsonCodec.writeBytes(value)).isEqualTo(utf8(expected));
    assertThat(JsonCodec.parse(expected)).isEqualTo(value);
    assertThat(JsonCodec.parse(utf8(expected))).isEqualTo(value);
  }

  @Test
  @DisplayName("keeps member order, and the last of duplicate names wins as in JSON.parse")
  void memberOrderAndDuplicates() {
    JsonObject parsed = JsonCodec.parseObject(utf8("{\"b\":1,\"a\":2,\"b\":3}"));

    assertThat(parsed.members().keySet()).containsExactly("b", "a");
    assertThat(parsed.get("b")).isEqualTo(JsonValue.of(3));
  }

  @Test
  @DisplayName("agrees with the api's parser on a value with every kind of member")
  void agreesWithApiParser() {
    String text =
        "  {\"o\":{\"n\":null,\"t\":true,\"f\":false},\"a\":[[],{},\"\\u00e9\\n\"],\"x\":-1}  ";

    assertThat(JsonCodec.parse(utf8(text))).isEqualTo(Json.parse(text));
    assertThat(JsonCodec.parse(text)).isEqualTo(Json.parse(text));
  }

  @Test
  @DisplayName("reports malformed json as an invalid payload naming the byte offset")
  void malformedNamesOffset() {
    assertThatThrownBy(() -> JsonCodec.parse(utf8("{\"kind\": tru}")))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageStartingWith("invalid json at offset ");
    assertThatThrownBy(() -> JsonCodec.parse(utf8("{\"a\":1,}")))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageContaining("offset 7");
    assertThatThrownBy(() -> JsonCodec.parse(utf8("")))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageContaining("offset 0");
    assertThatThrownBy(() -> JsonCodec.parse(utf8("{} []")))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageContaining("offset 3")
        .hasMessageContaining("end of input");
  }

  @Test
  @DisplayName("refuses a non-object where an object is needed, naming what it got")
  void requiresObject() {
    assertThatThrownBy(() -> JsonCodec.parseObject(utf8("[1]")))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessage("expected a json object, got an array [[1]]");
  }

  @Test
  @DisplayName("refuses nesting deeper than the api's limit instead of overflowing the stack")
  void refusesDeepNesting() {
    String deep = "[".repeat(Json.MAX_DEPTH + 10) + "]".repeat(Json.MAX_DEPTH + 10);

    assertThatThrownBy(() -> JsonCodec.parse(utf8(deep)))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageContaining("invalid json at offset");
  }

  @Test
  @DisplayName("parses strings with escapes into their values")
  void parsesEscapes() {
    assertThat(JsonCodec.parse(utf8("\"a\\\"b\\u0041\\/\""))).isEqualTo(new JsonString("a\"bA/"));
  }
}
