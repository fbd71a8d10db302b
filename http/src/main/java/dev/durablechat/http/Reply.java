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
    var headers = new LinkedHashMap<String, String>();
    Exchanges.cors(exchange, headers);
    headers.put("Content-Type", "application/json; charset=utf-8");
    headers.put("Cache-Control", "no-store");
    return new Reply(status, headers, Json.write(body).getBytes(StandardCharsets.UTF_8));
  }

  /** A refusal: its status, its headers and its JSON body. */
  static Reply error(Exchange exchange, HttpError error) {
    Reply r = json(exchange, error.status(), error.body());
    r.headers().putAll(error.headers());
    return r;
  }
}
