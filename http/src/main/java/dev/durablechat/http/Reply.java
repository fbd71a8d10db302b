package dev.durablechat.http;

import dev.durablechat.api.Json;
import dev.durablechat.api.JsonValue;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** A whole answer to a request: status, headers and body, written by the server binding. */
record Reply(int status, Map<String, String> headers, byte[] body) {

  /** A JSON answer with the CORS headers the request calls for. */
  static Reply json(Exchange exchange, int status, JsonValue body) {
    Reply r = withoutCors(status, body);
    Exchanges.cors(exchange, r.headers());
    return r;
  }

  /** A JSON answer without any CORS grant (to a refused origin). */
  static Reply withoutCors(int status, JsonValue body) {
    var headers = new LinkedHashMap<String, String>();
    headers.put("Content-Type", "application/json; charset=utf-8");
    headers.put("Cache-Control", "no-store");
    // The answer differs by origin: a cache must not hand it to another one.
    headers.put("Vary", "Origin");
    return new Reply(status, headers, Json.write(body).getBytes(StandardCharsets.UTF_8));
  }

  /** A refusal: its status, its headers and its JSON body. */
  static Reply error(Exchange exchange, HttpError error) {
    Reply r = json(exchange, error.status(), error.body());
    r.headers().putAll(error.headers());
    return r;
  }
}
