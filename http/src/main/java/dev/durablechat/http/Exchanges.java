package dev.durablechat.http;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/** Reading requests and writing JSON answers, CORS included on every one (http.md §1). */
final class Exchanges {
  /** A body over the cap but under this is read and dropped, so the client sees the 413. */
  private static final long DRAIN_LIMIT = 8L * 1024 * 1024;

  private static final String ALLOWED_HEADERS =
      "authorization, content-type, x-part-id, x-trigger-source, last-event-id, timeout-seconds,"
          + " x-peek-settled, x-trigger-stream-start";

  private Exchanges() {}

  /**
   * CORS on every response (browsers must read errors too, W4): any origin (auth is a bearer
   * header, never a cookie), every header exposed.
   */
  static void cors(HttpExchange exchange) {
    Headers h = exchange.getResponseHeaders();
    String origin = exchange.getRequestHeaders().getFirst("Origin");
    h.set("Access-Control-Allow-Origin", origin == null ? "*" : origin);
    if (origin != null) {
      h.set("Vary", "Origin");
    }
    h.set("Access-Control-Expose-Headers", "*");
  }

  /** Answers a CORS preflight: 204 with the methods and the requested headers allowed. */
  static void preflight(HttpExchange exchange) throws IOException {
    cors(exchange);
    Headers h = exchange.getResponseHeaders();
    h.set("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    String requested = exchange.getRequestHeaders().getFirst("Access-Control-Request-Headers");
    h.set(
        "Access-Control-Allow-Headers",
        requested == null || requested.isBlank() ? ALLOWED_HEADERS : requested);
    h.set("Access-Control-Max-Age", "86400");
    exchange.sendResponseHeaders(204, -1);
    exchange.close();
  }

  /**
   * Sends a JSON answer and ends the exchange. Reads what is left of the request body first: the
   * JDK server drops the connection when a response completes before its request was read to the
   * end, and the client then sees a reset instead of the answer (e.g. a 415 or 401 sent unread).
   */
  static void json(HttpExchange exchange, int status, JsonValue body) throws IOException {
    drain(exchange.getRequestBody());
    byte[] bytes = Json.write(body).getBytes(StandardCharsets.UTF_8);
    cors(exchange);
    exchange.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
    exchange.getResponseHeaders().set("Cache-Control", "no-store");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  /** Sends a refusal: its status, headers and JSON body. */
  static void error(HttpExchange exchange, HttpError error) throws IOException {
    error.headers().forEach((name, value) -> exchange.getResponseHeaders().set(name, value));
    json(exchange, error.status(), error.body());
  }

  /**
   * Requires a JSON content type (http.md §2: the clients send {@code application/json}).
   *
   * @throws HttpError 415 naming the content type received
   */
  static void requireJson(HttpExchange exchange) {
    String type = exchange.getRequestHeaders().getFirst("Content-Type");
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
  static byte[] body(HttpExchange exchange, int limit) throws IOException {
    String declared = exchange.getRequestHeaders().getFirst("Content-Length");
    long length = -1;
    if (declared != null) {
      try {
        length = Long.parseLong(declared.trim());
      } catch (NumberFormatException e) {
        throw HttpError.of(400, "bad_request", "content-length [" + declared + "] is not a number");
      }
    }
    InputStream in = exchange.getRequestBody();
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
   * @throws HttpError 400 on a broken escape
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
    return bytes.toString(StandardCharsets.UTF_8);
  }

  private static HttpError badEscape(String raw) {
    return HttpError.of(400, "bad_request", "path segment [" + raw + "] has a broken % escape");
  }

  /** The first value of a request header, trimmed, or null. */
  static @Nullable String header(HttpExchange exchange, String name) {
    String v = exchange.getRequestHeaders().getFirst(name);
    return v == null ? null : v.trim();
  }
}
