package dev.durablechat.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("A message kept as its JSON bytes")
class UIMessageBytesTest {

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String message(String textJson) {
    return "{\"id\":\"m1\",\"role\":\"assistant\",\"parts\":[{\"type\":\"text\",\"text\":"
        + textJson
        + "}]}";
  }

  @Nested
  @DisplayName("reads from bytes what it reads from text")
  class Reading {
    @ParameterizedTest(name = "[{index}] {0}")
    @DisplayName("escapes, unicode and brackets inside strings read as the tree parser reads them")
    @ValueSource(
        strings = {
          "\"plain\"",
          "\"quote \\\" and backslash \\\\ and slash \\/\"",
          "\"controls \\n\\r\\t\\b\\f \\u0001 \\u001f\"",
          "\"upper hex \\u001F and escaped letters \\u0041\\u00e9\"",
          "\"raw é, 中文 and an emoji 😀\"",
          "\"an escaped pair \\ud83d\\ude00\"",
          "\"a lone high \\ud83d and a lone low \\ude00\"",
          "\"brackets ]}{[ and a fake end \\\"}]\"",
          "\"[{\\\"a\\\":\\\"]}\\\"}]\"",
          "\"\""
        })
    void escapes(String textJson) {
      String text = message(textJson);
      UIMessage fromText = UIMessage.parse(text);

      UIMessage fromBytes = UIMessage.parse(utf8(text));

      assertThat(fromBytes).isEqualTo(fromText).hasSameHashCodeAs(fromText);
      assertThat(fromBytes.id()).isEqualTo("m1");
      assertThat(fromBytes.role()).isEqualTo("assistant");
      assertThat(fromBytes.parts()).isEqualTo(fromText.parts());
      assertThat(fromBytes.text()).isEqualTo(fromText.text());
      // The bytes kept are what Json.write writes for the value, whatever the input's spelling.
      String canonical = Json.write(Json.parse(text));
      assertThat(new String(fromBytes.toJsonBytes(), StandardCharsets.UTF_8)).isEqualTo(canonical);
      assertThat(fromBytes.toString()).isEqualTo(canonical);
    }

    @Test
    @DisplayName("white space, member order and a name twice are read as JSON.parse reads them")
    void nonCanonicalInput() {
      String text =
          " {\n \"role\" : \"user\", \"parts\" : [ {\"text\":\"a\",\"type\":\"x\",\"type\":\"text\"} ],"
              + " \"id\" : \"u1\", \"id\": \"u2\" } ";

      UIMessage message = UIMessage.parse(utf8(text));

      assertThat(message).isEqualTo(UIMessage.parse(text));
      assertThat(message.id()).isEqualTo("u2");
      assertThat(message.toString())
          .isEqualTo(
              "{\"role\":\"user\",\"parts\":[{\"text\":\"a\",\"type\":\"text\"}],\"id\":\"u2\"}");
    }

    @Test
    @DisplayName("metadata and unknown fields are kept (F6), nested objects as they were")
    void unknownFields() {
      String text =
          "{\"id\":\"a\",\"role\":\"assistant\",\"metadata\":{\"n\":1.50,\"deep\":[[{\"x\":null}]]},"
              + "\"x-app\":true,\"parts\":[{\"type\":\"tool-t\",\"input\":{\"q\":[1,2]}}]}";

      UIMessage message = UIMessage.parse(utf8(text));

      assertThat(message.toString()).isEqualTo(text);
      assertThat(message.metadata())
          .isEqualTo(Json.parse("{\"n\":1.50,\"deep\":[[{\"x\":null}]]}"));
      assertThat(message.json().get("x-app")).isEqualTo(JsonBoolean.TRUE);
      assertThat(message.json().has("x-app")).isTrue();
      assertThat(message.json().size()).isEqualTo(5);
    }
  }

  @Nested
  @DisplayName("refuses bad bytes with a clear error")
  class Refusing {
    @Test
    @DisplayName("every truncation of a message is refused as an invalid payload")
    void truncated() {
      byte[] whole = utf8(message("\"é \\\" \\u0041 😀 [{x}]}\""));
      for (int length = 0; length < whole.length; length++) {
        byte[] cut = java.util.Arrays.copyOf(whole, length);
        assertThatThrownBy(() -> UIMessage.parse(cut))
            .as("cut at %d", length)
            .isInstanceOf(InvalidPayloadException.class)
            .hasMessageContaining("offset");
      }
      assertThat(UIMessage.parse(whole).text()).isEqualTo("é \" A 😀 [{x}]}");
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @DisplayName("malformed json is refused where the text parser refuses it")
    @ValueSource(
        strings = {
          "{\"id\":\"m\",\"role\":\"user\",\"parts\":[]",
          "{\"id\":\"m\" \"role\":\"user\",\"parts\":[]}",
          "{\"id\":\"m\",\"role\":\"user\",\"parts\":[],}",
          "{\"id\":\"m\",\"role\":\"user\",\"parts\":[1 2]}",
          "{\"id\":\"m\",\"role\":\"user\",\"parts\":[],\"x\":tru}",
          "{\"id\":\"m\",\"role\":\"user\",\"parts\":[],\"x\":01}",
          "{\"id\":\"m\",\"role\":\"user\",\"parts\":[],\"x\":\"\\q\"}",
          "{\"id\":\"m\",\"role\":\"user\",\"parts\":[],\"x\":\"\\u12g4\"}",
          "{\"id\":\"m\",\"role\":\"user\",\"parts\":[],\"x\":\"tab\there\"}",
          "{\"id\":\"m\",\"role\":\"user\",\"parts\":[]} trailing",
          "[{\"id\":\"m\",\"role\":\"user\",\"parts\":[]}]",
          ""
        })
    void malformed(String text) {
      assertThatThrownBy(() -> UIMessage.parse(text)).isInstanceOf(InvalidPayloadException.class);

      assertThatThrownBy(() -> UIMessage.parse(utf8(text)))
          .isInstanceOf(InvalidPayloadException.class)
          .hasMessageStartingWith("invalid json at offset")
          .satisfies(e -> assertThat(e.getMessage()).doesNotContain("null"));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @DisplayName("a wrong shape is refused with the constructor's own message")
    @ValueSource(
        strings = {
          "{\"id\":1,\"role\":\"user\",\"parts\":[]}",
          "{\"id\":\"m\",\"role\":\"robot\",\"parts\":[]}",
          "{\"id\":\"m\",\"role\":\"user\",\"parts\":{}}",
          "{\"id\":\"m\",\"role\":\"user\"}",
          "{\"id\":\"m\",\"role\":\"user\",\"parts\":[{\"text\":\"no type\"}]}",
          "{\"id\":\"m\",\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"type\":2}]}",
          "{\"id\":\"m\",\"role\":\"user\",\"parts\":[[]]}"
        })
    void wrongShape(String text) {
      Throwable fromText =
          org.assertj.core.api.Assertions.catchThrowable(() -> UIMessage.parse(text));

      assertThatThrownBy(() -> UIMessage.parse(utf8(text)))
          .isInstanceOf(InvalidPayloadException.class)
          .hasMessage(fromText.getMessage());
    }

    @Test
    @DisplayName("bytes that are not UTF-8 are refused, naming the offset")
    void notUtf8() {
      String text = message("\"ab\"");
      byte[] before = utf8(text.substring(0, text.indexOf("ab")));
      byte[] after = utf8(text.substring(text.indexOf("ab")));
      for (byte[] bad :
          List.of(
              new byte[] {(byte) 0xC3},
              new byte[] {(byte) 0xC0, (byte) 0x80},
              new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
              new byte[] {(byte) 0xF5, (byte) 0x80, (byte) 0x80, (byte) 0x80},
              new byte[] {(byte) 0x80})) {
        var bytes = ByteBuffer.allocate(before.length + bad.length + after.length);
        bytes.put(before).put(bad).put(after);
        assertThatThrownBy(() -> UIMessage.parse(bytes.array()))
            .isInstanceOf(InvalidPayloadException.class)
            .hasMessageStartingWith("invalid json at offset ")
            .hasMessageContaining("utf-8");
      }
    }

    @Test
    @DisplayName("nesting deeper than the limit is refused, as by the text parser")
    void tooDeep() {
      String deep = "[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH);
      String text = "{\"id\":\"m\",\"role\":\"user\",\"parts\":[],\"x\":" + deep + "}";

      assertThatThrownBy(() -> UIMessage.parse(text)).isInstanceOf(InvalidPayloadException.class);
      assertThatThrownBy(() -> UIMessage.parse(utf8(text)))
          .isInstanceOf(InvalidPayloadException.class)
          .hasMessageContaining("nesting deeper than " + Json.MAX_DEPTH);
    }
  }

  @Nested
  @DisplayName("an array of messages")
  class ArrayOfMessages {
    @Test
    @DisplayName("reads each message from its own range, and writes back the same bytes")
    void roundTrip() {
      var messages =
          List.of(
              UIMessage.userText("u1", "héllo \"there\""),
              UIMessage.parse(message("\"[{]}\"")),
              UIMessage.userText("u2", "😀"));
      var out =
          ByteBuffer.allocate(2 + 2 + messages.stream().mapToInt(UIMessage::jsonByteLength).sum());
      out.put((byte) '[');
      for (int i = 0; i < messages.size(); i++) {
        if (i > 0) {
          out.put((byte) ',');
        }
        messages.get(i).writeJson(out);
      }
      out.put((byte) ']');
      byte[] framed = new byte[out.position() + 6];
      System.arraycopy(out.array(), 0, framed, 3, out.position());

      List<UIMessage> read = UIMessage.parseArray(framed, 3, out.position());

      assertThat(read).isEqualTo(messages);
      assertThat(UIMessage.parseArray(utf8(" [ ] "), 0, 5)).isEmpty();
    }

    @Test
    @DisplayName("a bad message is named by its index and nothing is returned")
    void badElement() {
      String array =
          "[" + UIMessage.userText("u1", "a") + ",{\"id\":\"u2\",\"role\":\"user\",\"parts\":[x]}]";

      assertThatThrownBy(() -> UIMessage.parseArray(utf8(array), 0, array.length()))
          .isInstanceOf(InvalidPayloadException.class)
          .hasMessageStartingWith("messages[1] is invalid: invalid json at offset");
      String notObject = "[" + UIMessage.userText("u1", "a") + ",3]";
      assertThatThrownBy(() -> UIMessage.parseArray(utf8(notObject), 0, notObject.length()))
          .isInstanceOf(InvalidPayloadException.class)
          .hasMessageStartingWith("messages[1] must be an object");
      String shape = "[{\"id\":\"u\",\"role\":\"robot\",\"parts\":[]}]";
      assertThatThrownBy(() -> UIMessage.parseArray(utf8(shape), 0, shape.length()))
          .isInstanceOf(InvalidPayloadException.class)
          .hasMessage(
              "messages[0] is invalid: message.role must be one of [system, user, assistant], got"
                  + " a string [\"robot\"]");
    }
  }

  @Nested
  @DisplayName("equality and hashing stay those of the JSON value")
  class Equality {
    @Test
    @DisplayName("a message equals a tree of the same members in any order, with the same hash")
    void anyOrder() {
      UIMessage a =
          UIMessage.parse(
              "{\"id\":\"m\",\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":\"x\"}]}");
      UIMessage b =
          UIMessage.parse(
              "{\"parts\":[{\"text\":\"x\",\"type\":\"text\"}],\"role\":\"user\",\"id\":\"m\"}");
      JsonObject tree = (JsonObject) Json.parse(a.toString());

      assertThat(a).isEqualTo(b).hasSameHashCodeAs(b);
      assertThat(a.json()).isEqualTo(tree).hasSameHashCodeAs(tree);
      assertThat(tree).isEqualTo(a.json());
      assertThat(a).isNotEqualTo(UIMessage.parse(a.toString().replace("\"x\"", "\"y\"")));
      assertThat(a).isNotEqualTo(UIMessage.parse(a.toString().replace("\"x\"", "\"xy\"")));
    }

    @Test
    @DisplayName("a copy with a member changed is a tree again, and a message of it bytes again")
    void with() {
      UIMessage a = UIMessage.userText("u", "x");
      JsonObject changed = a.json().with("metadata", JsonValue.of(1));

      UIMessage b = new UIMessage(changed);

      assertThat(b.metadata()).isEqualTo(JsonValue.of(1));
      assertThat(b.json().without("metadata")).isEqualTo(a.json());
      assertThat(new UIMessage(b.json())).isEqualTo(b);
      var list = new ArrayList<UIMessage>(List.of(a, b));
      assertThat(list)
          .containsExactly(UIMessage.parse(a.toString()), UIMessage.parse(b.toString()));
    }
  }
}
