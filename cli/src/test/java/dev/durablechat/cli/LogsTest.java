package dev.durablechat.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.durablechat.api.Json;
import dev.durablechat.api.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 16 part 6, in JVMs of their own so that slf4j-simple starts at the level the test asks: a
 * whole {@code serve} session (create, append, stream, close) with the library's logging at TRACE
 * shows neither the secret key nor any token; the demo's simulated crash (the engine closed under a
 * streaming run) is an expected condition, logged at INFO in one line, never as an ERROR.
 */
@DisplayName("Logs: no secrets at any level; expected conditions are not errors")
class LogsTest {
  private static final String KEY = "dc_test_logs_key_never_printed_0123";
  // The finish chunk, as a record's JSON or inside a JSON string (quotes escaped).
  private static final Pattern FINISH = Pattern.compile("type\\\\?\":\\\\?\"finish\\\\?\"");
  private static final Pattern BASE = Pattern.compile("chat page\\s+(http://\\S+)/demo/");
  // The token a turn-complete record hands out, in the record's headers.
  private static final Pattern REFRESHED =
      Pattern.compile("\"public-access-token\",\"([A-Za-z0-9_.-]+)\"");

  @Test
  @DisplayName(
      "create, append, stream, the page's start, refused bearers, origins and headers, close: the"
          + " log holds neither the key nor any token")
  void noSecretsInTraceLogs(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("out.txt");
    Path err = dir.resolve("err.txt");
    String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
    Process serve =
        new ProcessBuilder(
                java,
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
                "-Dorg.slf4j.simpleLogger.log.dev.durablechat=trace",
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName(),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--data",
                dir.resolve("data").toString(),
                "--chunk-delay-ms",
                "0",
                "--secret-key",
                KEY)
            .redirectOutput(out.toFile())
            .redirectError(err.toFile())
            .start();
    List<String> tokens = new ArrayList<>();
    try {
      URI base =
          await()
              .atMost(Duration.ofSeconds(60))
              .until(() -> base(out), b -> b != null || !serve.isAlive());
      assertThat(base).as(Files.readString(err)).isNotNull();
      HttpClient client = HttpClient.newHttpClient();

      HttpResponse<String> created =
          post(
              client,
              base.resolve("/api/v1/sessions"),
              KEY,
              "{\"type\":\"chat.agent\",\"externalId\":\"chat-logs\",\"taskIdentifier\":\""
                  + ServeCommand.AGENT_ID
                  + "\",\"triggerConfig\":{\"basePayload\":{\"chatId\":\"chat-logs\","
                  + "\"messages\":[]}}}");
      assertThat(created.statusCode()).as(created.body()).isIn(200, 201);
      JsonObject session = Json.parseObject(created.body());
      String token = session.string("publicAccessToken").orElseThrow();
      tokens.add(token);

      HttpResponse<String> appended =
          post(
              client,
              base.resolve("/realtime/v1/sessions/chat-logs/in/append"),
              token,
              "{\"kind\":\"message\",\"payload\":{\"message\":{\"id\":\"u-1\",\"role\":\"user\","
                  + "\"parts\":[{\"type\":\"text\",\"text\":\"hello\"}]},\"chatId\":\"chat-logs\","
                  + "\"trigger\":\"submit-message\"}}");
      assertThat(appended.statusCode()).as(appended.body()).isEqualTo(200);

      try (Stream<String> lines =
          client
              .send(
                  HttpRequest.newBuilder(base.resolve("/realtime/v1/sessions/chat-logs/out"))
                      .header("Accept", "text/event-stream")
                      .header("Authorization", "Bearer " + token)
                      .header("Timeout-Seconds", "30")
                      .timeout(Duration.ofSeconds(60))
                      .GET()
                      .build(),
                  HttpResponse.BodyHandlers.ofLines())
              .body()) {
        boolean finished = false;
        for (String line : (Iterable<String>) lines::iterator) {
          finished |= FINISH.matcher(line).find();
          Matcher refreshed = REFRESHED.matcher(line);
          if (refreshed.find()) {
            tokens.add(refreshed.group(1));
            break;
          }
        }
        assertThat(finished).isTrue();
      }
      assertThat(tokens).as("the turn-complete's fresh token").hasSize(2);

      // The page's own endpoint mints a token too.
      HttpResponse<String> page =
          post(client, base.resolve("/demo/start"), "unused", "{\"chatId\":\"chat-logs-page\"}");
      assertThat(page.statusCode()).as(page.body()).isEqualTo(200);
      tokens.add(Json.parseObject(page.body()).string("publicAccessToken").orElseThrow());

      // Refusals log their reason at DEBUG, never the bearer that was refused.
      String appendPath = "/realtime/v1/sessions/chat-logs/in/append";
      String stop = "{\"kind\":\"stop\"}";
      // A character inside the signature, not its last one (whose low bits base64 may drop).
      int at = token.lastIndexOf('.') + 10;
      String tampered =
          token.substring(0, at) + (token.charAt(at) == 'Q' ? 'R' : 'Q') + token.substring(at + 1);
      assertThat(post(client, base.resolve(appendPath), tampered, stop).statusCode())
          .isEqualTo(401);
      assertThat(post(client, base.resolve(appendPath), KEY + "x", stop).statusCode())
          .isEqualTo(401);
      HttpResponse<String> foreign =
          client.send(
              HttpRequest.newBuilder(base.resolve(appendPath))
                  .header("Authorization", "Bearer " + token)
                  .header("Origin", "https://evil.example")
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString(stop))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(foreign.statusCode()).isEqualTo(403);
      HttpResponse<String> huge =
          client.send(
              HttpRequest.newBuilder(base.resolve(appendPath))
                  .header("Authorization", "Bearer " + token)
                  .header("X-Padding", "p".repeat(20_000))
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString(stop))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(huge.statusCode()).isEqualTo(431);

      HttpResponse<String> closed =
          post(
              client,
              base.resolve("/api/v1/sessions/chat-logs/close"),
              KEY,
              "{\"reason\":\"done\"}");
      assertThat(closed.statusCode()).as(closed.body()).isEqualTo(200);
    } finally {
      // SIGTERM: serve's shutdown hook stops it as Ctrl-C would, logging its close.
      serve.destroy();
      if (!serve.waitFor(30, TimeUnit.SECONDS)) {
        serve.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
    String log = Files.readString(err);
    // The marker that logging ran at TRACE/DEBUG: without it, an empty log would pass.
    assertThat(log).as("the library logged below INFO").containsPattern("(TRACE|DEBUG) dev\\.");
    assertThat(log).doesNotContain(KEY);
    for (String token : tokens) {
      assertThat(log).doesNotContain(token);
      // A token's signature alone is as good as the token; never any part of it either.
      assertThat(log).doesNotContain(token.substring(token.lastIndexOf('.') + 1));
    }
  }

  private static URI base(Path out) throws java.io.IOException {
    Matcher m = BASE.matcher(Files.readString(out));
    return m.find() ? URI.create(m.group(1)) : null;
  }

  private static HttpResponse<String> post(HttpClient client, URI uri, String bearer, String body)
      throws Exception {
    return client.send(
        HttpRequest.newBuilder(uri)
            .header("Authorization", "Bearer " + bearer)
            .header("Content-Type", "application/json")
            .timeout(Duration.ofSeconds(30))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  @DisplayName(
      "the demo's crash (the engine closed while a run streams) logs one INFO line, no ERROR and"
          + " no stack trace")
  void engineClosedMidRunIsNotAnError(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("out.txt");
    Path err = dir.resolve("err.txt");
    String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
    Process demo =
        new ProcessBuilder(
                java,
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName(),
                "demo",
                "--turns",
                "8",
                "--data",
                dir.resolve("data").toString())
            .redirectOutput(out.toFile())
            .redirectError(err.toFile())
            .start();
    if (!demo.waitFor(120, TimeUnit.SECONDS)) {
      demo.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    String log = Files.readString(err);
    assertThat(demo.exitValue()).as(Files.readString(out) + log).isZero();
    assertThat(Files.readString(out)).containsPattern("crash recovered\\s+\\| yes");
    // The marker: the crash did reach the run, and was told in one INFO line. Which line depends on
    // what reaches the dying run first: its engine closing, or the new process taking the session
    // over after the lease (the run is then fenced). Both are expected, neither is an error.
    assertThat(log)
        .containsPattern(
            "INFO dev\\.durablechat\\.agent\\.RunLoop - run \\[run_\\S+\\] of session \\[\\S+\\]"
                + " (stopped: the engine closed under it|lost ownership)");
    assertThat(log).doesNotContain(" ERROR ").doesNotContain("\tat ");
  }
}
