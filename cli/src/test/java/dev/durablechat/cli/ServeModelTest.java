package dev.durablechat.cli;

import static dev.durablechat.agent.model.Completions.answer;
import static dev.durablechat.agent.model.Completions.call;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.durablechat.agent.model.LoopbackOpenAi;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonString;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.core.fold.ChunkFold;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("./durablechat serve --model-base-url: the demo agent on a real model")
class ServeModelTest {
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Test
  @DisplayName(
      "the model calls word_count with {text}, reads its output and streams the answer; the key"
          + " comes from $OPENAI_API_KEY and is never printed")
  void answersWithTheModelAndTheWordCountTool(@TempDir Path data) throws Exception {
    try (var model = new LoopbackOpenAi();
        RunningServe serve =
            RunningServe.start(
                Map.of("OPENAI_API_KEY", "sk-from-env"),
                "--port",
                "0",
                "--data",
                data.toString(),
                "--model-base-url",
                model.baseUrl(),
                "--model",
                "loopback-model")) {
      assertThat(serve.out.toString())
          .contains("model          [loopback-model] at " + model.baseUrl())
          .doesNotContain("sk-from-env");
      model.enqueue(
          call("call_1", "word_count", "{\"text\":", "\"three little words\"}"),
          answer(10, 5, "That is ", "3 words."));
      Chat chat = Chat.start(serve.base);
      UIMessage reply = chat.send("how long is: three little words");

      assertThat(reply.text()).isEqualTo("That is 3 words.");
      JsonObject tool =
          reply.parts().stream()
              .filter(p -> p.string("type").orElse("").equals("tool-word_count"))
              .findFirst()
              .orElseThrow();
      assertThat(tool.get("input")).isEqualTo(Json.parse("{\"text\":\"three little words\"}"));
      assertThat(tool.get("output")).isEqualTo(Json.parse("{\"words\":3,\"characters\":18}"));
      assertThat(model.requests().get(0).authorization()).isEqualTo("Bearer sk-from-env");
      assertThat(model.requests().get(0).body().string("model")).contains("loopback-model");
      List<JsonObject> second = model.requests().get(1).messages();
      assertThat(second.get(second.size() - 1).string("content"))
          .contains("{\"words\":3,\"characters\":18}");
    }
  }

  @Test
  @DisplayName(
      "a refused key and an unreachable endpoint each end the turn with an error chunk naming the"
          + " cause; the server goes on serving")
  void modelErrorsAreErrorChunks(@TempDir Path data) throws Exception {
    int closedPort;
    try (var socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = socket.getLocalPort();
    }
    try (var model = new LoopbackOpenAi();
        RunningServe serve =
            RunningServe.start(
                Map.of(),
                "--port",
                "0",
                "--data",
                data.toString(),
                "--model-base-url",
                model.baseUrl(),
                "--model",
                "m",
                "--api-key",
                "sk-wrong")) {
      model.enqueue(
          new LoopbackOpenAi.Status(401, "Incorrect API key provided", "invalid_api_key"));
      Chat chat = Chat.start(serve.base);
      chat.send("hi");
      assertThat(chat.errors).hasSize(1);
      assertThat(chat.errors.get(0)).contains("HTTP 401").contains("Incorrect API key provided");
      assertThat(model.requests().get(0).authorization()).isEqualTo("Bearer sk-wrong");

      model.enqueue(answer(1, 1, "still serving"));
      assertThat(chat.send("again").text()).isEqualTo("still serving");
    }
    try (RunningServe serve =
        RunningServe.start(
            Map.of(),
            "--port",
            "0",
            "--data",
            data.resolve("other").toString(),
            "--model-base-url",
            "http://127.0.0.1:" + closedPort + "/v1",
            "--model",
            "m")) {
      Chat chat = Chat.start(serve.base);
      chat.send("hi");
      assertThat(chat.errors).hasSize(1);
      assertThat(chat.errors.get(0)).startsWith("model call failed").contains("Connect");
      chat.send("again");
      assertThat(chat.errors).hasSize(2);
    }
  }

  @Test
  @DisplayName("refuses --model without --model-base-url, and a base URL that is not http(s)")
  void refusesHalfAModel() throws Exception {
    var err = new StringWriter();
    assertThat(RunningServe.refuse(err, Map.of(), "--model", "m")).isEqualTo(2);
    assertThat(err.toString()).contains("--model [m] needs --model-base-url");
    var err2 = new StringWriter();
    assertThat(
            RunningServe.refuse(
                err2, Map.of(), "--model-base-url", "ftp://example.com/v1", "--model", "m"))
        .isEqualTo(2);
    assertThat(err2.toString()).contains("must be an absolute http(s) URL");
  }

  /** A chat through the demo page's start route and the Sessions routes, as the page does. */
  private static final class Chat {
    final URI base;
    final String chatId;
    final String token;
    final List<String> errors = new ArrayList<>();
    long seen;
    int messages;

    private Chat(URI base, String chatId, String token) {
      this.base = base;
      this.chatId = chatId;
      this.token = token;
    }

    static Chat start(URI base) throws Exception {
      String chatId = "chat-" + UUID.randomUUID();
      HttpResponse<String> res =
          HTTP.send(
              HttpRequest.newBuilder(base.resolve("/demo/start"))
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString("{\"chatId\":\"" + chatId + "\"}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(res.statusCode()).as(res.body()).isEqualTo(200);
      return new Chat(
          base,
          chatId,
          ((JsonString) Json.parseObject(res.body()).get("publicAccessToken")).value());
    }

    /** Sends a user message and reads the reply to its turn-complete; the folded reply. */
    UIMessage send(String text) throws Exception {
      String body =
          JsonObject.builder()
              .put("kind", "message")
              .put(
                  "payload",
                  JsonObject.builder()
                      .put("message", UIMessage.userText("u" + messages++, text).json())
                      .put("chatId", chatId)
                      .put("trigger", "submit-message")
                      .build())
              .build()
              .toString();
      HttpResponse<String> appended =
          HTTP.send(
              HttpRequest.newBuilder(base.resolve("/realtime/v1/sessions/" + chatId + "/in/append"))
                  .header("Authorization", "Bearer " + token)
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(appended.statusCode()).as(appended.body()).isEqualTo(200);
      var chunks = new ArrayList<UIMessageChunk>();
      var done = new AtomicReference<Boolean>(false);
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> {
                for (JsonObject item : history()) {
                  long seq =
                      item.get("seq") instanceof dev.durablechat.api.JsonNumber n
                          ? n.longValue()
                          : 0;
                  if (seq <= seen) {
                    continue;
                  }
                  seen = seq;
                  if (item.get("data") instanceof JsonObject chunk) {
                    chunks.add(new UIMessageChunk(chunk));
                  } else if ("turn-complete".equals(item.string("control").orElse(""))) {
                    done.set(true);
                  }
                }
                return done.get();
              });
      for (UIMessageChunk c : chunks) {
        if (c.type().equals("error")) {
          errors.add(c.json().string("errorText").orElse(""));
        }
      }
      return ChunkFold.create().acceptAll(chunks).message().orElseThrow();
    }

    private List<JsonObject> history() throws Exception {
      HttpResponse<String> res =
          HTTP.send(
              HttpRequest.newBuilder(base.resolve("/demo/history?chatId=" + chatId)).build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(res.statusCode()).as(res.body()).isEqualTo(200);
      var items = new ArrayList<JsonObject>();
      for (JsonValue v : ((JsonArray) Json.parseObject(res.body()).get("items")).elements()) {
        items.add((JsonObject) v);
      }
      return items;
    }
  }
}
