package dev.durablechat.http;

import dev.durablechat.api.Json;
import dev.durablechat.api.JsonObject;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;
import org.jspecify.annotations.Nullable;

/**
 * Jetty's answers to what never reaches the servlet (headers over the limit: 431; a URI too long:
 * 414; a malformed request: 400) as the same JSON body and CORS headers as every other refusal, so
 * that a browser client can read them too.
 */
final class JsonErrorHandler extends ErrorHandler {
  private final Origins origins;

  JsonErrorHandler(Origins origins) {
    this.origins = origins;
  }

  /** Every method gets the JSON body (Jetty's default writes one for GET, POST and HEAD only). */
  @Override
  public boolean errorPageForMethod(String method) {
    return true;
  }

  @Override
  protected void generateResponse(
      Request request,
      Response response,
      int code,
      @Nullable String message,
      @Nullable Throwable cause,
      Callback callback) {
    var headers = new LinkedHashMap<String, String>();
    String origin = request.getHeaders().get("Origin");
    if (origins.allows(origin)) {
      Exchanges.cors(origin, headers);
    }
    headers.put("Vary", "Origin");
    headers.forEach(response.getHeaders()::put);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json; charset=utf-8");
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    response.write(true, ByteBuffer.wrap(body(code, message)), callback);
  }

  private static byte[] body(int status, @Nullable String reason) {
    String phrase = HttpStatus.getMessage(status);
    String text =
        status == 431
            ? "request headers are over the server's limit"
            : reason == null || reason.isBlank() ? phrase : reason;
    String code = phrase.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "_");
    return Json.write(JsonObject.builder().put("error", text).put("code", code).build())
        .getBytes(StandardCharsets.UTF_8);
  }
}
