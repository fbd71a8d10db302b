package example;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A SCRIPTED OpenAI-compatible chat-completions endpoint on loopback, so that the example runs
 * offline (in CI) when no {@code OPENAI_BASE_URL} is set. It is not a model: it streams canned
 * {@code chat.completion.chunk} SSE. A request without a tool result gets a {@code word_count}
 * call; a request that carries the tool's result gets a fixed answer.
 */
final class ScriptedOpenAi implements AutoCloseable {
  /** The text the scripted model asks {@code word_count} to count (6 words). */
  static final String COUNTED = "durable chats survive restarts and reconnects";

  /** The scripted answer, streamed in pieces. */
  static final List<String> ANSWER = List.of("The text ", "has 6 ", "words.");

  private static final Pattern TOOL_RESULT = Pattern.compile("\"role\"\\s*:\\s*\"tool\"");

  private final HttpServer server;

  ScriptedOpenAi() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/v1/chat/completions", this::complete);
    server.start();
  }

  String baseUrl() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
  }

  private void complete(HttpExchange exchange) throws IOException {
    String request = new String(exchange.getRequestBody().readAllBytes(), UTF_8);
    List<String> chunks;
    if (TOOL_RESULT.matcher(request).find()) {
      chunks =
          List.of(
              chunk("{\"role\":\"assistant\",\"content\":\"\"}", null),
              chunk("{\"content\":\"" + ANSWER.get(0) + "\"}", null),
              chunk("{\"content\":\"" + ANSWER.get(1) + "\"}", null),
              chunk("{\"content\":\"" + ANSWER.get(2) + "\"}", null),
              chunk("{}", "stop"));
    } else {
      String arguments = "{\\\"text\\\":\\\"" + COUNTED + "\\\"}"; // JSON text inside a string
      chunks =
          List.of(
              chunk(
                  "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,"
                      + "\"id\":\"call_1\",\"type\":\"function\",\"function\":"
                      + "{\"name\":\"word_count\",\"arguments\":\"\"}}]}",
                  null),
              chunk(
                  "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\""
                      + arguments
                      + "\"}}]}",
                  null),
              chunk("{}", "tool_calls"));
    }
    exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
    exchange.sendResponseHeaders(200, 0); // 0: a chunked body, streamed as written
    try (OutputStream out = exchange.getResponseBody()) {
      for (String chunk : chunks) {
        out.write(("data: " + chunk + "\n\n").getBytes(UTF_8));
        out.flush();
      }
      out.write("data: [DONE]\n\n".getBytes(UTF_8));
    }
  }

  private static String chunk(String delta, String finishReason) {
    return "{\"id\":\"chatcmpl-scripted\",\"object\":\"chat.completion.chunk\","
        + "\"created\":1700000000,\"model\":\"scripted\",\"choices\":[{\"index\":0,\"delta\":"
        + delta
        + ",\"finish_reason\":"
        + (finishReason == null ? "null" : "\"" + finishReason + "\"")
        + "}]}";
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
