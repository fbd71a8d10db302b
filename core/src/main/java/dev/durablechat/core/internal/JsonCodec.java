package dev.durablechat.core.internal;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonBoolean;
import dev.durablechat.api.JsonNull;
import dev.durablechat.api.JsonNumber;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonString;
import dev.durablechat.api.JsonValue;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The engine's JSON codec: Jackson's streaming parser binds text straight into the api's {@link
 * JsonValue} types (no tree model in between), numbers keep their literal text, and unknown fields
 * are kept because every member is (PROTOCOL F6). Not public API.
 *
 * <p>Text is written by {@link Json#write}, which escapes the way JavaScript's {@code
 * JSON.stringify} does (lowercase {@code \u001f}, lone surrogates escaped); {@link #writeBytes}
 * uses Jackson's generator, configured below to write the same bytes. Measured with {@code
 * JsonCodecSpeedCheck} on chat-sized records, the generator was not faster than the StringBuilder
 * writer plus one {@code getBytes}, so text output does not go through it.
 *
 * <p>This reader and the api's {@link Json} accept and refuse exactly the same texts and read them
 * as equal values ({@code JsonAgreementTest} checks generated documents): the same depth and number
 * limits, lone surrogates kept as UTF-16 code units as {@code JSON.parse} keeps them, and no byte
 * order mark. Only jackson-core is used: the values bind straight from the token stream, so
 * jackson-databind would bring nothing but weight.
 */
public final class JsonCodec {
  private static final JsonFactory FACTORY =
      JsonFactory.builder()
          // The same limits as the api's reader, so that both read exactly the same documents:
          // its depth and number digits; no limit of its own on strings and names, whose size the
          // input already bounds (an append is capped before it is parsed).
          .streamReadConstraints(
              StreamReadConstraints.builder()
                  .maxNestingDepth(Json.MAX_DEPTH)
                  .maxNumberLength(Json.MAX_NUMBER_DIGITS)
                  .maxStringLength(Integer.MAX_VALUE)
                  .maxNameLength(Integer.MAX_VALUE)
                  .build())
          // Offsets in error messages name the body; a snippet of it would echo client data.
          .disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
          // With these two, the generator's output is byte for byte JSON.stringify's: a surrogate
          // pair becomes one 4-byte UTF-8 character, a lone surrogate a lowercase \\u escape.
          .enable(JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8)
          .disable(JsonWriteFeature.WRITE_HEX_UPPER_CASE)
          .build();

  private JsonCodec() {}

  /**
   * Parses UTF-8 bytes holding exactly one JSON value.
   *
   * @throws InvalidPayloadException naming the byte offset and what was wrong
   */
  public static JsonValue parse(byte[] utf8) {
    if (utf8.length >= 3
        && utf8[0] == (byte) 0xEF
        && utf8[1] == (byte) 0xBB
        && utf8[2] == (byte) 0xBF) {
      // Jackson skips a UTF-8 byte order mark; JSON.parse and the api's reader refuse it.
      throw new InvalidPayloadException(
          "invalid json at offset 0: expected a value, found a byte order mark");
    }
    try (JsonParser parser = FACTORY.createParser(utf8)) {
      return parseWhole(parser);
    } catch (JsonProcessingException e) {
      if (isLoneSurrogate(e)) {
        return Json.parse(new String(utf8, StandardCharsets.UTF_8));
      }
      throw invalid(e, true);
    } catch (IOException e) {
      throw new InvalidPayloadException("invalid json: " + e.getMessage(), e);
    }
  }

  /**
   * Parses text holding exactly one JSON value.
   *
   * @throws InvalidPayloadException naming the character offset and what was wrong
   */
  public static JsonValue parse(String text) {
    try (JsonParser parser = FACTORY.createParser(text)) {
      return parseWhole(parser);
    } catch (JsonProcessingException e) {
      if (isLoneSurrogate(e)) {
        return Json.parse(text);
      }
      throw invalid(e, false);
    } catch (IOException e) {
      throw new InvalidPayloadException("invalid json: " + e.getMessage(), e);
    }
  }

  /** Parses UTF-8 bytes that must hold a JSON object. */
  public static JsonObject parseObject(byte[] utf8) {
    return requireObject(parse(utf8));
  }

  /** Parses text that must hold a JSON object. */
  public static JsonObject parseObject(String text) {
    return requireObject(parse(text));
  }

  /** The compact JSON text of a value, escaped as JavaScript's {@code JSON.stringify} does. */
  public static String write(JsonValue value) {
    return Json.write(value);
  }

  /** The compact JSON text of a value as UTF-8 bytes. */
  public static byte[] writeBytes(JsonValue value) {
    var out = new ByteArrayOutputStream(256);
    try (JsonGenerator generator = FACTORY.createGenerator(out, JsonEncoding.UTF8)) {
      write(generator, value);
    } catch (IOException e) {
      // A ByteArrayOutputStream does not fail; anything here is a bug in the value or Jackson.
      throw new UncheckedIOException("writing json failed", e);
    }
    return out.toByteArray();
  }

  private static void write(JsonGenerator g, JsonValue value) throws IOException {
    if (value instanceof JsonObject object) {
      g.writeStartObject();
      for (Map.Entry<String, JsonValue> member : object.members().entrySet()) {
        g.writeFieldName(member.getKey());
        write(g, member.getValue());
      }
      g.writeEndObject();
    } else if (value instanceof JsonArray array) {
      g.writeStartArray();
      for (JsonValue element : array.elements()) {
        write(g, element);
      }
      g.writeEndArray();
    } else if (value instanceof JsonString string) {
      g.writeString(string.value());
    } else if (value instanceof JsonNumber number) {
      // The literal as it was read, never re-rendered through a double.
      g.writeNumber(number.literal());
    } else if (value instanceof JsonBoolean bool) {
      g.writeBoolean(bool.value());
    } else {
      g.writeNull();
    }
  }

  private static JsonObject requireObject(JsonValue value) {
    if (value instanceof JsonObject object) {
      return object;
    }
    throw new InvalidPayloadException(
        "expected a json object, got "
            + Json.kindOf(value)
            + " ["
            + abbreviate(Json.write(value))
            + "]");
  }

  private static JsonValue parseWhole(JsonParser parser) throws IOException {
    JsonToken first = parser.nextToken();
    if (first == null) {
      throw new InvalidPayloadException(
          "invalid json at offset 0: expected a value, found nothing");
    }
    JsonValue value = read(parser, first);
    JsonToken trailing = parser.nextToken();
    if (trailing != null) {
      long offset = parser.currentTokenLocation().getByteOffset();
      if (offset < 0) {
        offset = parser.currentTokenLocation().getCharOffset();
      }
      throw new InvalidPayloadException(
          "invalid json at offset " + offset + ": expected the end of input, found more");
    }
    return value;
  }

  private static JsonValue read(JsonParser parser, JsonToken token) throws IOException {
    switch (token) {
      case START_OBJECT:
        {
          var members = new LinkedHashMap<String, JsonValue>();
          String name;
          while ((name = parser.nextFieldName()) != null) {
            // Last one wins on duplicate names, as in JavaScript's JSON.parse.
            members.put(name, read(parser, parser.nextToken()));
          }
          return JsonObject.adopt(members);
        }
      case START_ARRAY:
        {
          var elements = new ArrayList<JsonValue>();
          JsonToken t;
          while ((t = parser.nextToken()) != JsonToken.END_ARRAY) {
            elements.add(read(parser, t));
          }
          return JsonArray.adopt(elements);
        }
      case VALUE_STRING:
        return new JsonString(parser.getText());
      case VALUE_NUMBER_INT:
      case VALUE_NUMBER_FLOAT:
        // getText() is the literal as written: 1.0 stays 1.0, 30 digits stay 30 digits.
        return new JsonNumber(parser.getText());
      case VALUE_TRUE:
        return JsonBoolean.TRUE;
      case VALUE_FALSE:
        return JsonBoolean.FALSE;
      case VALUE_NULL:
        return JsonNull.INSTANCE;
      default:
        throw new InvalidPayloadException("invalid json: unexpected token [" + token + "]");
    }
  }

  /**
   * Jackson refuses a {@code \\ud83d} escape without its pair in a member name; JavaScript's
   * JSON.parse (and the api's parser, which follows it) accept it, and so must we, since a browser
   * can send it. That rare text is parsed by the api's parser instead.
   */
  private static boolean isLoneSurrogate(JsonProcessingException e) {
    String message = e.getOriginalMessage();
    return message != null && message.contains("surrogate");
  }

  private static InvalidPayloadException invalid(JsonProcessingException e, boolean bytes) {
    JsonLocation location = e.getLocation();
    long offset = -1;
    if (location != null) {
      offset = bytes ? location.getByteOffset() : location.getCharOffset();
      if (offset < 0) {
        offset = bytes ? location.getCharOffset() : location.getByteOffset();
      }
    }
    String reason = e.getOriginalMessage();
    int newline = reason.indexOf('\n');
    if (newline >= 0) {
      reason = reason.substring(0, newline);
    }
    return new InvalidPayloadException(
        "invalid json at offset " + Math.max(offset, 0) + ": " + lowercaseFirst(reason), e);
  }

  private static String lowercaseFirst(String s) {
    return s.isEmpty() ? s : Character.toLowerCase(s.charAt(0)) + s.substring(1);
  }

  static String abbreviate(String text) {
    return text.length() <= 80 ? text : text.substring(0, 77) + "...";
  }
}
