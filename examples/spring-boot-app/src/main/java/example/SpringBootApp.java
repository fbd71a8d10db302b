package example;

import dev.durablechat.agent.ChatAgent;
import dev.durablechat.api.JsonValue;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;

/**
 * A Spring Boot application whose only durablechat code is an agent bean: the starter builds the
 * engine on the application's DataSource, runs the agent, and serves the Sessions routes under
 * /chat on the application's own port. Point the {@code @trigger.dev/sdk} clients' baseURL at
 * {@code http://localhost:8080/chat}.
 *
 * <p>Run as it is, it starts on a free port, has one conversation with itself over HTTP (create a
 * session with the secret key, append a message with the session token, read the streamed reply
 * from the SSE out stream), prints the store health, and stops gracefully.
 */
@SpringBootApplication
public class SpringBootApp {
  private static final String SECRET = "example-secret-key-change-me";
  private static final String DELTA = "\\\"delta\\\":\\\"";

  /** The agent: every ChatAgent bean is registered with the runtime. */
  @Bean
  ChatAgent<JsonValue> echo() {
    return ChatAgent.builder("echo")
        .run((turn, out) -> out.text("you said: " + turn.message().text()))
        .build();
  }

  public static void main(String[] args) throws Exception {
    try (ConfigurableApplicationContext app =
        SpringApplication.run(SpringBootApp.class, "--server.port=0")) {
      int port = ((WebServerApplicationContext) app).getWebServer().getPort();
      String base = "http://127.0.0.1:" + port;
      HttpClient http = HttpClient.newHttpClient();

      // What the SDK's sessions.create does on the server: the secret key creates the session.
      String created =
          post(
              http,
              base + "/chat/api/v1/sessions",
              SECRET,
              "{\"type\":\"chat.agent\",\"externalId\":\"chat-1\",\"taskIdentifier\":\"echo\"}");
      String token = field(created, "publicAccessToken");

      // What the browser's TriggerChatTransport does: append with the session token, read out.
      post(
          http,
          base + "/chat/realtime/v1/sessions/chat-1/in/append",
          token,
          "{\"kind\":\"message\",\"payload\":{\"chatId\":\"chat-1\",\"trigger\":\"submit-message\","
              + "\"message\":{\"id\":\"u1\",\"role\":\"user\","
              + "\"parts\":[{\"type\":\"text\",\"text\":\"hello from Spring Boot\"}]}}}");
      HttpResponse<InputStream> out =
          http.send(
              HttpRequest.newBuilder(URI.create(base + "/chat/realtime/v1/sessions/chat-1/out"))
                  .header("Authorization", "Bearer " + token)
                  .header("Last-Event-ID", "0")
                  .build(),
              HttpResponse.BodyHandlers.ofInputStream());
      StringBuilder reply = new StringBuilder();
      try (var lines =
          new BufferedReader(new InputStreamReader(out.body(), StandardCharsets.UTF_8))) {
        // Each `data:` line is a batch of records (docs/http.md); a text-delta chunk's text is in
        // its escaped body. The reply ends with the turn-complete control record.
        String line;
        do {
          line = lines.readLine();
          if (line == null) {
            break;
          }
          int delta = line.indexOf(DELTA);
          while (delta >= 0) {
            int start = delta + DELTA.length();
            int end = line.indexOf("\\\"", start);
            reply.append(line, start, end);
            delta = line.indexOf(DELTA, end);
          }
        } while (!line.contains("turn-complete"));
      }
      System.out.println("agent replied: " + reply);
      if (!reply.toString().equals("you said: hello from Spring Boot")) {
        throw new IllegalStateException("unexpected reply [" + reply + "]");
      }

      HttpResponse<String> health =
          http.send(
              HttpRequest.newBuilder(URI.create(base + "/actuator/health/durablechat")).build(),
              HttpResponse.BodyHandlers.ofString());
      System.out.println("durablechat health: " + health.body());
      if (health.statusCode() != 200) {
        throw new IllegalStateException("durablechat health answered " + health.statusCode());
      }
    }
  }

  private static String post(HttpClient http, String url, String bearer, String body)
      throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(url))
                .header("Authorization", "Bearer " + bearer)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() / 100 != 2) {
      throw new IllegalStateException(url + " answered " + r.statusCode() + ": " + r.body());
    }
    return r.body();
  }

  /** A string member of a flat JSON answer (enough for this example; use a JSON library). */
  private static String field(String json, String name) {
    int at = json.indexOf("\"" + name + "\":\"");
    int start = at + name.length() + 4;
    return json.substring(start, json.indexOf('"', start));
  }
}
