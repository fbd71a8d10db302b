package dev.durablechat.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.Json;
import dev.durablechat.api.JsonObject;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The Sessions routes over plain HTTP, for tests that script a conversation by hand. */
final class Wire {
  private final HttpClient client =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private final String base;
  private final String secret;

  /** One answer. */
  record Reply(int status, String body, HttpResponse<?> response) {
    JsonObject json() {
      return Json.parseObject(body);
    }

    Optional<String> header(String name) {
      return response.headers().firstValue(name);
    }
  }

  Wire(int port, String basePath, String secret) {
    this.base = "http://127.0.0.1:" + port + basePath;
    this.secret = secret;
  }

  /** Creates the chat's session for the agent with the secret key; returns its token. */
  String createSession(String chatId, String agent) {
    Reply r =
        post(
            "/api/v1/sessions",
            secret,
            "{\"type\":\"chat.agent\",\"externalId\":\""
                + chatId
                + "\",\"taskIdentifier\":\""
                + agent
                + "\",\"triggerConfig\":{\"basePayload\":{\"chatId\":\""
                + chatId
                + "\",\"messages\":[]}}}");
    assertThat(r.status()).as(r.body()).isIn(200, 201);
    return r.json().string("publicAccessToken").orElseThrow();
  }

  /** A submit-message append with one user text. */
  Reply submit(String chatId, String token, String text) {
    return post(
        "/realtime/v1/sessions/" + chatId + "/in/append",
        token,
        "{\"kind\":\"message\",\"payload\":{\"message\":{\"id\":\"m-"
            + Math.abs(text.hashCode())
            + "\",\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":\""
            + text
            + "\"}]},\"chatId\":\""
            + chatId
            + "\",\"trigger\":\"submit-message\"}}");
  }

  Reply post(String path, String token, String body) {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(base + path))
            .header("Authorization", "Bearer " + token)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build();
    try {
      HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString());
      return new Reply(r.statusCode(), r.body(), r);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** An open out stream, read line by line. */
  static final class Sse implements AutoCloseable {
    final HttpResponse<InputStream> response;
    private final BufferedReader reader;
    final List<String> lines = new ArrayList<>();

    Sse(HttpResponse<InputStream> response) {
      this.response = response;
      this.reader =
          new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
    }

    /** Reads until a line contains the text; false if the stream ended first. */
    boolean readUntil(String text) throws IOException {
      String line;
      while ((line = reader.readLine()) != null) {
        lines.add(line);
        if (line.contains(text)) {
          return true;
        }
      }
      return false;
    }

    /** Reads to the end of the stream. */
    List<String> readToEnd() throws IOException {
      String line;
      while ((line = reader.readLine()) != null) {
        lines.add(line);
      }
      return lines;
    }

    @Override
    public void close() throws IOException {
      reader.close();
    }
  }

  /** Opens the chat's out stream after the event id. */
  Sse openOut(String chatId, String token, long after) {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(base + "/realtime/v1/sessions/" + chatId + "/out"))
            .header("Authorization", "Bearer " + token)
            .header("Last-Event-ID", Long.toString(after))
            .header("Timeout-Seconds", "120")
            .GET()
            .build();
    try {
      return new Sse(client.send(request, HttpResponse.BodyHandlers.ofInputStream()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
