package dev.durablechat.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.durablechat.api.Json;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonNumber;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonString;
import dev.durablechat.api.JsonValue;
import java.io.StringWriter;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("./durablechat serve")
class ServeCommandTest {
  private static final Pattern KEY_LINE =
      Pattern.compile("(?m)^\\s*secret key\\s+(\\S+)\\s+\\((.*)\\)$");
  private static final Pattern STORE_LINE =
      Pattern.compile("(?m)^\\s*session store\\s+jdbc:h2:file:(\\S+)$");
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Test
  @DisplayName(
      "starts on port 0, prints the URL and a generated dev key that authorises the server-side"
          + " routes, serves the page at /demo/, and on stop closes the port and deletes its temp data")
  void startsAndStops() throws Exception {
    String key;
    URI base;
    Path temp;
    try (RunningServe serve = RunningServe.start(Map.of(), "--port", "0")) {
      base = serve.base;
      String out = serve.out.toString();
      assertThat(base.getHost()).isEqualTo("127.0.0.1");
      assertThat(base.getPort()).isPositive().isNotEqualTo(8787);
      assertThat(out).contains("chat page      " + base + "/demo/");
      Matcher m = KEY_LINE.matcher(out);
      assertThat(m.find()).as(out).isTrue();
      key = m.group(1);
      assertThat(key).matches("dc_dev_[0-9a-f]{48}");
      assertThat(m.group(2)).startsWith("generated");
      Matcher store = STORE_LINE.matcher(out);
      assertThat(store.find()).as(out).isTrue();
      temp = Path.of(store.group(1)).getParent();
      assertThat(temp).isDirectory();

      HttpResponse<String> page = get(base.resolve("/demo/"), null);
      assertThat(page.statusCode()).isEqualTo(200);
      // Jetty writes the parameter without the optional space: text/html;charset=utf-8
      assertThat(page.headers().firstValue("Content-Type").orElseThrow().replace(" ", ""))
          .isEqualTo("text/html;charset=utf-8");
      assertThat(page.body()).contains("<title>durablechat demo chat</title>");

      String chatId = startChat(base);
      assertThat(readOut(base, chatId, key).statusCode()).isEqualTo(200);
      assertThat(readOut(base, chatId, "dc_dev_wrong").statusCode()).isEqualTo(401);
    }
    assertThat(temp).doesNotExist();
    assertThat(
            org.assertj.core.api.Assertions.catchThrowable(
                () ->
                    HTTP.send(
                        HttpRequest.newBuilder(base.resolve("/")).build(),
                        HttpResponse.BodyHandlers.discarding())))
        .as("the port is closed after stop")
        .isInstanceOf(ConnectException.class);
  }

  @Nested
  @DisplayName("takes its secret key")
  class SecretKey {
    @Test
    @DisplayName("from --secret-key before $DURABLECHAT_SECRET_KEY")
    void optionBeforeEnvironment(@TempDir Path data) throws Exception {
      try (RunningServe serve =
          RunningServe.start(
              Map.of(ServeCommand.SECRET_KEY_ENV, "env-key-0123456789"),
              "--port",
              "0",
              "--data",
              data.toString(),
              "--secret-key",
              "option-key-0123456789")) {
        assertThat(serve.out.toString()).contains("option-key-0123456789  (from --secret-key)");
        String chatId = startChat(serve.base);
        assertThat(readOut(serve.base, chatId, "option-key-0123456789").statusCode())
            .isEqualTo(200);
        assertThat(readOut(serve.base, chatId, "env-key-0123456789").statusCode()).isEqualTo(401);
      }
    }

    @Test
    @DisplayName("from $DURABLECHAT_SECRET_KEY when there is no option")
    void environmentWithoutOption(@TempDir Path data) throws Exception {
      try (RunningServe serve =
          RunningServe.start(
              Map.of(ServeCommand.SECRET_KEY_ENV, "env-key-0123456789"),
              "--port",
              "0",
              "--data",
              data.toString())) {
        assertThat(serve.out.toString())
            .contains("env-key-0123456789  (from $DURABLECHAT_SECRET_KEY)");
        assertThat(readOut(serve.base, startChat(serve.base), "env-key-0123456789").statusCode())
            .isEqualTo(200);
      }
    }
  }

  @Nested
  @DisplayName("refuses bad options with a clear error and exit code 2")
  class BadOptions {
    @Test
    @DisplayName("a port out of range or not a number")
    void port() throws Exception {
      assertRefused("--port [70000] is out of range, expected 0 to 65535", "--port", "70000");
      assertRefused("--port [-1] is out of range, expected 0 to 65535", "--port", "-1");
      assertRefused("Invalid value for option '--port': 'abc' is not an int", "--port", "abc");
    }

    @Test
    @DisplayName("a blank secret key, or one with spaces, from the option or the environment")
    void secretKey() throws Exception {
      assertRefused(
          "--secret-key must be a non-blank key without spaces or control characters",
          "--secret-key",
          " ");
      assertRefused(
          "--secret-key must be a non-blank key without spaces or control characters",
          "--secret-key",
          "two words");
      var err = new StringWriter();
      assertThat(
              RunningServe.refuse(err, Map.of(ServeCommand.SECRET_KEY_ENV, "a b"), "--port", "0"))
          .isEqualTo(2);
      assertThat(err.toString())
          .contains(
              "$DURABLECHAT_SECRET_KEY must be a non-blank key without spaces or control"
                  + " characters");
    }

    @Test
    @DisplayName(
        "a secret key under 16 bytes, from the option or the environment, exits 2 saying how to"
            + " make one and never showing the key (issue 16 part 5)")
    void shortSecretKey() throws Exception {
      var err = new StringWriter();
      assertThat(RunningServe.refuse(err, Map.of(), "--port", "0", "--secret-key", "kq7zw3xy9"))
          .isEqualTo(2);
      assertThat(err.toString())
          .contains(
              "--secret-key is too short to sign tokens safely: [9] bytes, expected at least"
                  + " [16]; make one with `openssl rand -base64 32`")
          .doesNotContain("kq7zw3xy9");
      var envErr = new StringWriter();
      assertThat(
              RunningServe.refuse(
                  envErr, Map.of(ServeCommand.SECRET_KEY_ENV, "fifteen-bytes-k"), "--port", "0"))
          .isEqualTo(2);
      assertThat(envErr.toString())
          .contains(
              "$DURABLECHAT_SECRET_KEY is too short to sign tokens safely: [15] bytes, expected at"
                  + " least [16]; make one with `openssl rand -base64 32`")
          .doesNotContain("fifteen-bytes-k");
    }

    @Test
    @DisplayName("a --data path that is a file, and a negative chunk delay")
    void dataAndDelay(@TempDir Path dir) throws Exception {
      Path file = Files.writeString(dir.resolve("file.txt"), "x");
      assertRefused(
          "--data [" + file + "] is a file, expected a directory", "--data", file.toString());
      assertRefused(
          "--chunk-delay-ms [-5] is out of range, expected 0 to 10000", "--chunk-delay-ms", "-5");
    }

    @Test
    @DisplayName("an --allow-origin that is not scheme://host[:port]")
    void allowOrigin() throws Exception {
      assertRefused(
          "--allow-origin [https://app.example/chat] must be scheme://host[:port]",
          "--allow-origin",
          "https://app.example/chat");
      assertRefused("--allow-origin [*] must be scheme://host[:port]", "--allow-origin", "*");
    }

    private void assertRefused(String message, String... args) throws Exception {
      var err = new StringWriter();
      assertThat(RunningServe.refuse(err, Map.of(), args)).as(err.toString()).isEqualTo(2);
      assertThat(err.toString()).contains(message).contains("Usage: serve");
    }
  }

  @Test
  @DisplayName("says the port is in use, and exits 1, when it cannot listen")
  void portInUse(@TempDir Path data) throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      var err = new StringWriter();
      int exit =
          RunningServe.refuse(
              err,
              Map.of(),
              "--port",
              String.valueOf(taken.getLocalPort()),
              "--data",
              data.toString());
      assertThat(exit).as(err.toString()).isEqualTo(1);
      assertThat(err.toString())
          .contains(
              "could not listen on [127.0.0.1:"
                  + taken.getLocalPort()
                  + "]: the port is in use; choose another with --port");
    }
  }

  @Test
  @DisplayName("says its --data is in use, and exits 1, when a server in another process holds it")
  void dataInUse(@TempDir Path data) throws Exception {
    try (RunningServe first =
        RunningServe.start(Map.of(), "--port", "0", "--data", data.toString())) {
      // Another JVM: within one JVM, H2 shares the open database instead of refusing it.
      Process second =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-cp",
                  System.getProperty("java.class.path"),
                  Main.class.getName(),
                  "serve",
                  "--port",
                  "0",
                  "--data",
                  data.toString())
              .redirectErrorStream(true)
              .start();
      boolean ended = second.waitFor(60, java.util.concurrent.TimeUnit.SECONDS);
      String output = new String(second.getInputStream().readAllBytes());
      if (!ended) {
        second.destroyForcibly().waitFor();
      }
      assertThat(ended).as("the second server should give up:\n" + output).isTrue();
      assertThat(second.exitValue()).as(output).isEqualTo(1);
      assertThat(output).contains("durablechat serve: could not start on [" + data);
      assertThat(get(first.base.resolve("/demo/"), null).statusCode())
          .as("the first server goes on")
          .isEqualTo(200);
    }
  }

  @Test
  @DisplayName(
      "the page's history endpoint gives the user message before its reply and the out records"
          + " through the asked event id, in order (W7, W8), to this page's origin only")
  void history(@TempDir Path data) throws Exception {
    try (RunningServe serve =
        RunningServe.start(
            Map.of(), "--port", "0", "--data", data.toString(), "--chunk-delay-ms", "0")) {
      String chatId = "chat-" + UUID.randomUUID();
      JsonObject started =
          Json.parseObject(post(serve.base.resolve("/demo/start"), chatJson(chatId), null).body());
      String token = ((JsonString) started.get("publicAccessToken")).value();
      String body =
          "{\"kind\":\"message\",\"payload\":{\"message\":{\"id\":\"u1\",\"role\":\"user\","
              + "\"parts\":[{\"type\":\"text\",\"text\":\"three little words\"}]},"
              + "\"chatId\":\""
              + chatId
              + "\",\"trigger\":\"submit-message\"}}";
      HttpResponse<String> appended =
          post(serve.base.resolve("/realtime/v1/sessions/" + chatId + "/in/append"), body, token);
      assertThat(appended.statusCode()).as(appended.body()).isEqualTo(200);

      List<JsonObject> items =
          await("the turn's history, ending on its turn-complete")
              .atMost(Duration.ofSeconds(20))
              .pollInterval(Duration.ofMillis(50))
              .until(
                  () -> historyItems(serve.base, chatId, null),
                  list ->
                      !list.isEmpty()
                          && "turn-complete".equals(string(list.get(list.size() - 1), "control")));
      assertThat(items).isNotEmpty();
      assertThat(items.get(0).get("user")).isInstanceOf(JsonObject.class);
      assertThat(string((JsonObject) items.get(0).get("user"), "id")).isEqualTo("u1");
      JsonObject last = items.get(items.size() - 1);
      assertThat(string(last, "control")).isEqualTo("turn-complete");
      StringBuilder text = new StringBuilder();
      List<Long> seqs = new ArrayList<>();
      for (JsonObject item : items.subList(1, items.size())) {
        seqs.add(((JsonNumber) item.get("seq")).longValue());
        if (item.get("data") instanceof JsonObject chunk
            && "text-delta".equals(string(chunk, "type"))) {
          text.append(string(chunk, "delta"));
        }
      }
      assertThat(text.toString()).isEqualTo(ServeCommand.replyText("three little words"));
      assertThat(seqs).isSorted().doesNotHaveDuplicates().startsWith(1L);

      long through = seqs.get(seqs.size() / 2);
      List<JsonObject> cut = historyItems(serve.base, chatId, through);
      assertThat(cut).hasSize(1 + seqs.size() / 2 + 1);
      assertThat(((JsonNumber) cut.get(cut.size() - 1).get("seq")).longValue()).isEqualTo(through);

      assertThat(
              get(serve.base.resolve("/demo/history?chatId=nope-" + UUID.randomUUID()), null)
                  .statusCode())
          .isEqualTo(404);
      assertThat(post(serve.base.resolve("/demo/start"), "{\"chatId\":7}", null).statusCode())
          .isEqualTo(400);
      HttpResponse<String> foreign =
          HTTP.send(
              HttpRequest.newBuilder(serve.base.resolve("/demo/history?chatId=" + chatId))
                  .header("Origin", "http://other.example")
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(foreign.statusCode())
          .as("another site's page may not read the chat")
          .isEqualTo(403);
    }
  }

  @Test
  @DisplayName(
      "T4: the Sessions routes grant CORS to the page's own origin and each --allow-origin; another"
          + " origin's preflight and request get 403 and no grant")
  void allowOrigins() throws Exception {
    try (RunningServe serve =
        RunningServe.start(
            Map.of(),
            "--port",
            "0",
            "--allow-origin",
            "https://app.example",
            "--allow-origin",
            "http://localhost:3000")) {
      String own = "http://127.0.0.1:" + serve.base.getPort();
      for (String origin : List.of(own, "https://app.example", "http://localhost:3000")) {
        HttpResponse<String> preflight = preflight(serve.base, origin);
        assertThat(preflight.statusCode()).as(origin).isEqualTo(204);
        assertThat(preflight.headers().firstValue("Access-Control-Allow-Origin")).contains(origin);
      }
      HttpResponse<String> refused = preflight(serve.base, "https://evil.example");
      assertThat(refused.statusCode()).isEqualTo(403);
      assertThat(refused.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();

      String chatId = startChat(serve.base);
      Matcher key = KEY_LINE.matcher(serve.out.toString());
      assertThat(key.find()).isTrue();
      HttpResponse<String> append =
          HTTP.send(
              HttpRequest.newBuilder(
                      serve.base.resolve("/realtime/v1/sessions/" + chatId + "/in/append"))
                  .header("Origin", "https://evil.example")
                  .header("Content-Type", "application/json")
                  .header("Authorization", "Bearer " + key.group(1))
                  .POST(HttpRequest.BodyPublishers.ofString("{\"kind\":\"stop\"}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(append.statusCode()).isEqualTo(403);
      assertThat(append.body()).contains("origin_not_allowed");
      assertThat(append.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
    }
  }

  private static HttpResponse<String> preflight(URI base, String origin) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(base.resolve("/realtime/v1/sessions/chat-x/in/append"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "authorization, content-type")
            .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static List<JsonObject> historyItems(URI base, String chatId, Long through)
      throws Exception {
    HttpResponse<String> res =
        get(
            base.resolve(
                "/demo/history?chatId=" + chatId + (through == null ? "" : "&through=" + through)),
            null);
    assertThat(res.statusCode()).as(res.body()).isEqualTo(200);
    List<JsonObject> items = new ArrayList<>();
    for (JsonValue v : ((JsonArray) Json.parseObject(res.body()).get("items")).elements()) {
      items.add((JsonObject) v);
    }
    return items;
  }

  private static String string(JsonObject o, String name) {
    return o.string(name).orElse(null);
  }

  private static String chatJson(String chatId) {
    return "{\"chatId\":\"" + chatId + "\"}";
  }

  /** Creates a chat through the page's start endpoint, as the page does. */
  private static String startChat(URI base) throws Exception {
    String chatId = "chat-" + UUID.randomUUID();
    HttpResponse<String> res = post(base.resolve("/demo/start"), chatJson(chatId), null);
    assertThat(res.statusCode()).as(res.body()).isEqualTo(200);
    assertThat(Json.parseObject(res.body()).string("publicAccessToken")).isPresent();
    return chatId;
  }

  private static HttpResponse<String> readOut(URI base, String chatId, String bearer)
      throws Exception {
    HttpRequest request =
        HttpRequest.newBuilder(base.resolve("/realtime/v1/sessions/" + chatId + "/out"))
            .header("Authorization", "Bearer " + bearer)
            .header("Accept", "text/event-stream")
            .header("Timeout-Seconds", "1")
            .timeout(Duration.ofSeconds(10))
            .build();
    return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> get(URI uri, String bearer) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10));
    if (bearer != null) {
      b.header("Authorization", "Bearer " + bearer);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> post(URI uri, String body, String bearer) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri)
            .timeout(Duration.ofSeconds(10))
            .header("Content-Type", "application/json")
            .header("X-Part-Id", UUID.randomUUID().toString())
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (bearer != null) {
      b.header("Authorization", "Bearer " + bearer);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }
}
