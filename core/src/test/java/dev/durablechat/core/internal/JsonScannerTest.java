package dev.durablechat.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.Json;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("The structural scanner that cuts a snapshot into its parts")
class JsonScannerTest {

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String member(String document, String name) {
    byte[] bytes = utf8(document);
    int[] range = JsonScanner.member(bytes, name);
    return range == null
        ? null
        : new String(bytes, range[0], range[1] - range[0], StandardCharsets.UTF_8);
  }

  @Test
  @DisplayName("finds a member's value whatever brackets, quotes and escapes strings hold")
  void stringsHoldAnything() {
    String messages =
        "[{\"t\":\"]}\\\"],{[\"},{\"t\":\"\\\\\"},{\"t\":\"é😀\\u005d\"},[[],{}],\"\\\\\\\"]\"]";
    String document = "{\"a\":\"messages\",\"messages\":" + messages + ",\"b\":[\"}\"]}";

    assertThat(member(document, "messages")).isEqualTo(messages);
    assertThat(member(document, "a")).isEqualTo("\"messages\"");
    assertThat(member(document, "b")).isEqualTo("[\"}\"]");
    assertThat(member(document, "c")).isNull();
  }

  @Test
  @DisplayName("finds scalars, white space around anything, and the last of a name twice")
  void scalarsAndSpace() {
    String document = " { \"n\" : -1.5e3 ,\n\"t\":true,\"n\":null , \"s\" : \"x\" } ";

    assertThat(member(document, "n")).isEqualTo("null");
    assertThat(member(document, "t")).isEqualTo("true");
    assertThat(member(document, "s")).isEqualTo("\"x\"");
    assertThat(member("{}", "n")).isNull();
  }

  @Test
  @DisplayName("every truncation of a document is refused with an offset, none is half read")
  void truncations() {
    String document =
        "{\"version\":1,\"messages\":[{\"id\":\"m\",\"parts\":[{\"text\":\"a \\\"]}\"}]}],\"z\":2}";
    byte[] whole = utf8(document);
    for (int length = 0; length < whole.length; length++) {
      byte[] cut = java.util.Arrays.copyOf(whole, length);
      assertThatThrownBy(() -> JsonScanner.member(cut, "messages"))
          .as("cut at %d", length)
          .isInstanceOf(InvalidPayloadException.class)
          .hasMessageStartingWith("invalid json at offset ");
    }
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @DisplayName("brackets that do not match and structure that is not an object are refused")
  @ValueSource(
      strings = {
        "{\"m\":[}]}",
        "{\"m\":{]}",
        "{\"m\":[1]]}",
        "{\"m\" [1]}",
        "{\"m\":[1] \"n\":2}",
        "{m:1}",
        "[1]",
        "{\"m\":1} {}",
        "{\"m\":}",
        ""
      })
  void mismatched(String document) {
    assertThatThrownBy(() -> JsonScanner.member(utf8(document), "m"))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageStartingWith("invalid json at offset ");
  }

  @Test
  @DisplayName("nesting deeper than the json limit is refused, as the parsers refuse it")
  void tooDeep() {
    int depth = Json.MAX_DEPTH + 1;
    String document = "{\"m\":" + "[".repeat(depth) + "]".repeat(depth) + "}";

    assertThatThrownBy(() -> JsonScanner.member(utf8(document), "m"))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageContaining("nesting deeper than " + Json.MAX_DEPTH);
  }
}
