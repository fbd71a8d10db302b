package dev.durablechat.http;

import dev.durablechat.api.JsonObject;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A refusal that becomes one HTTP response: a status, a JSON body with at least an {@code error}
 * member naming the problem, and extra headers. Thrown inside the adapter, answered by its router.
 */
final class HttpError extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int status;
  private final transient JsonObject body;
  private final transient Map<String, String> headers;

  private HttpError(int status, JsonObject body, Map<String, String> headers) {
    super(body.string("error").orElse("http " + status), null, false, false);
    this.status = status;
    this.body = body;
    this.headers = headers;
  }

  /** A refusal whose body is {@code {"error": message}}. */
  static HttpError of(int status, String message) {
    return new HttpError(status, JsonObject.builder().put("error", message).build(), Map.of());
  }

  /** A refusal with a stable machine-readable {@code code} next to the message. */
  static HttpError of(int status, String code, String message) {
    return new HttpError(
        status, JsonObject.builder().put("error", message).put("code", code).build(), Map.of());
  }

  /** The same refusal with another member in its body. */
  HttpError with(String name, dev.durablechat.api.JsonValue value) {
    return new HttpError(status, body.with(name, value), headers);
  }

  /** The same refusal with a response header. */
  HttpError header(String name, String value) {
    var copy = new LinkedHashMap<>(headers);
    copy.put(name, value);
    return new HttpError(status, body, Map.copyOf(copy));
  }

  int status() {
    return status;
  }

  JsonObject body() {
    return body;
  }

  Map<String, String> headers() {
    return headers;
  }
}
