package dev.durablechat.http;

import dev.durablechat.api.Json;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Reading requests and building answers, CORS included on every one (docs/http.md), for any server
 * binding: they see the request through {@link Exchange}.
 */
final class Exchanges {
  /**
   * A body that is not used (over the cap, or on a route that reads none) is read and dropped up to
   * this many bytes, so that the client sees the answer and keeps the connection.
   */
  private static final long DRAIN_LIMIT = 8L * 1024 * 1024;

  private static final String ALLOWED_HEADERS =
      "authorization, content-type, x-part-id, x-trigger-source, last-event-id, timeout-seconds,"
          + " x-peek-settled, x-trigger-stream-start";

  private Exchanges() {}

  /**
   * CORS on every response to an admitted request (browsers must read errors too, W4): the router
   * has refused an origin off the allowlist before anything is answered (T4), so the request's
   * origin is granted by name; a request without one gets {@code *}, which grants nothing. Every
   * header is exposed.
   */
  static void cors(Exchange exchange, Map<String, String> headers) {
    cors(exchange.header("Origin"), headers);
  }

  /** CORS headers for a request from the origin (null when the request named none). */
  static void cors(@Nullable String origin, Map<String, String> headers) {
    headers.put("Access-Control-Allow-Origin", origin == null ? "*" : origin);
    if (origin != null) {
      headers.put("Vary", "Origin");
    }
    headers.put("Access-Control-Expose-Headers", "*");
  }

  /** Answers a CORS preflight: 204 with the methods and the requested headers allowed. */
  static Reply preflight(Exchange exchange) {
    var headers = new LinkedHashMap<String, String>();
    cors(exchange, headers);
    headers.put("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
    String requested = exchange.header("Access-Control-Request-Headers");
    headers.put(
        "Access-Control-Allow-Headers",
        requested == null || requested.isBlank() ? ALLOWED_HEADERS : requested);
    headers.put("Access-Control-Max-Age", "86400");
    return new Reply(204, headers, new byte[0]);
  }

  /**
   * Reads and drops what is left of the request body, up to a limit, before a refusal: some servers
   * drop the connection when a response completes before its request was read, and the client then
   * sees a reset instead of the answer.
   */
  static void drain(Exchange exchange) {
    try {
      drain(exchange.body());
    } catch (IOException | RuntimeException e) {
      // the client went away; the answer may still reach it
    }
  }

  /**
   * Requires a JSON content type (http.md §2: the clients send {@code application/json}).
   *
   * @throws HttpError 415 naming the content type received
   */
  static void requireJson(Exchange exchange) {
    String type = exchange.header("Content-Type");
    String media = type == null ? "" : type.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
    if (!media.equals("application/json") && !media.endsWith("+json")) {
      throw HttpError.of(
          415,
          "unsupported_media_type",
          "content type [" + (type == null ? "" : type) + "] must be [application/json]");
    }
  }

  /**
   * Reads the request body, at most {@code limit} bytes (W4: checked before anything is parsed).
   *
   * @throws HttpError 413 if it is longer; the body is dropped, nothing is stored
   */
  static byte[] body(Exchange exchange, int limit) throws IOException {
    String declared = exchange.header("Content-Length");
    long length = -1;
    if (declared != null) {
      try {
        length = Long.parseLong(declared.trim());
      } catch (NumberFormatException e) {
        throw HttpError.of(400, "bad_request", "content-length [" + declared + "] is not a number");
      }
    }
    InputStream in = exchange.body();
    if (length > limit) {
      drain(in);
      throw tooLarge(length, limit);
    }
    var out = new ByteArrayOutputStream(length > 0 ? (int) length : 256);
    byte[] buffer = new byte[8192];
    long total = 0;
    int n;
    while ((n = in.read(buffer)) >= 0) {
      total += n;
      if (total > limit) {
        drain(in);
        throw tooLarge(total, limit);
      }
      out.write(buffer, 0, n);
    }
    return out.toByteArray();
  }

  private static HttpError tooLarge(long size, int limit) {
    return HttpError.of(
            413,
            "payload_too_large",
            "request body is "
                + size
                + (size > limit ? "+" : "")
                + " bytes, over the limit of "
                + limit
                + " bytes (W4); nothing was stored")
        .with("limit", JsonValue.of(limit));
  }

  private static void drain(InputStream in) {
    byte[] buffer = new byte[8192];
    long total = 0;
    try {
      int n;
      while (total < DRAIN_LIMIT && (n = in.read(buffer)) >= 0) {
        total += n;
      }
    } catch (IOException e) {
      // the client went away; the answer may still reach it
    }
  }

  /**
   * Parses a JSON object body.
   *
   * @throws HttpError 400 naming the offset when the text is not JSON or not an object
   */
  static JsonObject parseObject(byte[] body, String what) {
    if (body.length == 0) {
      throw HttpError.of(400, "invalid_json", what + " body is empty, expected a json object");
    }
    JsonValue value;
    try {
      value = Json.parse(new String(body, StandardCharsets.UTF_8));
    } catch (dev.durablechat.api.InvalidPayloadException e) {
      throw HttpError.of(400, "invalid_json", what + " body is not json: " + e.getMessage());
    }
    if (!(value instanceof JsonObject object)) {
      throw HttpError.of(
          400, "invalid_json", what + " body must be a json object, got " + Json.kindOf(value));
    }
    return object;
  }

  /**
   * Decodes a percent-encoded path segment ({@code +} stays a plus: this is a path, not a form).
   *
   * @throws HttpError 400 on a broken escape, or escapes that are not UTF-8
   */
  static String decodeSegment(String raw) {
    if (raw.indexOf('%') < 0) {
      return raw;
    }
    var bytes = new ByteArrayOutputStream(raw.length());
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (c == '%') {
        if (i + 2 >= raw.length()) {
          throw badEscape(raw);
        }
        int hi = Character.digit(raw.charAt(i + 1), 16);
        int lo = Character.digit(raw.charAt(i + 2), 16);
        if (hi < 0 || lo < 0) {
          throw badEscape(raw);
        }
        bytes.write(hi * 16 + lo);
        i += 2;
      } else {
        byte[] b = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
        bytes.write(b, 0, b.length);
      }
    }
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes.toByteArray()))
          .toString();
    } catch (CharacterCodingException e) {
      // Not a replacement character in an id: two broken segments would name the same session.
      throw HttpError.of(400, "bad_request", "path segment [" + raw + "] is not UTF-8");
    }
  }

  private static HttpError badEscape(String raw) {
    return HttpError.of(400, "bad_request", "path segment [" + raw + "] has a broken % escape");
  }

  /** The first value of a request header, trimmed, or null. */
  static @Nullable String header(Exchange exchange, String name) {
    String v = exchange.header(name);
    return v == null ? null : v.trim();
  }
}
