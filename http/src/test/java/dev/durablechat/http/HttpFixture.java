package dev.durablechat.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.agent.AgentRuntime;
import dev.durablechat.agent.ChatAgent;
import dev.durablechat.api.Environment;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.core.DurableChat;
import dev.durablechat.storage.memory.MemorySessionStore;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.awaitility.Awaitility;
import org.jspecify.annotations.Nullable;

/**
 * An engine on a store, a runtime with the test agents and an adapter on an ephemeral port, plus a
 * real HTTP client. The agents:
 *
 * <ul>
 *   <li>{@code echo}: answers a message with the text {@code echo: <text>}; a text {@code count:N}
 *       is answered with N text deltas {@code "0,"}, {@code "1,"}, ... instead.
 * </ul>
 */
final class HttpFixture implements AutoCloseable {
  /** Shorter than 32 bytes on purpose: the SDK signs with the secret key as it is. */
  static final String SECRET = "tr_dev_test_secret_1";

  static final String OLD_SECRET = "tr_dev_test_secret_0";

  /** A browser origin the fixture's adapter allows (T4), as does {@code http://app.example}. */
  static final String ORIGIN = "https://app.example";

  // A guard against a hang, not a deadline: waits end at the record they wait for; at load 20 a
  // busy CI machine took over 20 s between two records of a healthy turn.
  static final Duration WAIT = Duration.ofSeconds(60);

  final SessionStore store;
  final boolean ownsStore;
  final DurableChat chat;
  final AgentRuntime runtime;
  final HttpAdapter http;
  final HttpClient client;
  private final AtomicInteger clientThreads = new AtomicInteger();

  HttpFixture() {
    this(b -> {});
  }

  HttpFixture(Consumer<HttpAdapter.Builder> configure) {
    this(new MemorySessionStore(), true, configure);
  }

  HttpFixture(SessionStore store, boolean ownsStore, Consumer<HttpAdapter.Builder> configure) {
    this(store, ownsStore, null, r -> {}, configure);
  }

  /** With a snapshot store (the memory one: the test reads it) and more agents registered. */
  HttpFixture(
      SnapshotStore snapshots,
      Consumer<AgentRuntime.Builder> agents,
      Consumer<HttpAdapter.Builder> configure) {
    this(new MemorySessionStore(), true, snapshots, agents, configure);
  }

  private HttpFixture(
      SessionStore store,
      boolean ownsStore,
      @Nullable SnapshotStore snapshots,
      Consumer<AgentRuntime.Builder> agents,
      Consumer<HttpAdapter.Builder> configure) {
    this.store = store;
    this.ownsStore = ownsStore;
    var engine =
        DurableChat.builder().environment(new Environment("proj", "test")).sessionStore(store);
    if (snapshots != null) {
      engine.snapshotStore(snapshots);
    }
    this.chat = engine.build();
    var runtimeBuilder =
        AgentRuntime.builder(chat)
            .register(echoAgent("echo", Duration.ofSeconds(30)))
            .register(echoAgent("quick", Duration.ofMillis(300)))
            .register(
                ChatAgent.builder("typed")
                    .clientData(Plan.class)
                    .run((turn, out) -> out.text("seats: " + turn.clientData().seats()))
                    .build());
    agents.accept(runtimeBuilder);
    this.runtime = runtimeBuilder.build();
    var b =
        HttpAdapter.builder(runtime)
            .port(0)
            .secretKeys(SECRET, OLD_SECRET)
            .allowedOrigins(ORIGIN, "http://app.example");
    configure.accept(b);
    this.http = b.start();
    this.client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .executor(
                Executors.newCachedThreadPool(
                    r -> {
                      Thread t =
                          new Thread(r, "test-http-client-" + clientThreads.incrementAndGet());
                      t.setDaemon(true);
                      return t;
                    }))
            .build();
  }

  static ChatAgent<?> echoAgent(String agentId, Duration idleTimeout) {
    return ChatAgent.builder(agentId)
        .idleTimeout(idleTimeout)
        .run(
            (turn, out) -> {
              String text = turn.message() == null ? "" : turn.message().text();
              if (text.startsWith("count:")) {
                int n = Integer.parseInt(text.substring(6).trim());
                String id = out.textStart();
                for (int i = 0; i < n; i++) {
                  out.textDelta(id, i + ",");
                }
                out.textEnd(id);
              } else {
                out.text("echo: " + text);
              }
            })
        .build();
  }

  URI uri(String path) {
    return http.baseUri().resolve(path);
  }

  /** Creates the chat's session through the wire (secret key); returns the answer's JSON. */
  JsonObject createSession(String chatId) {
    return createSession(chatId, "echo");
  }

  /** Creates the chat's session for the agent through the wire; returns the answer's JSON. */
  JsonObject createSession(String chatId, String agent) {
    Reply r =
        post(
            "/api/v1/sessions",
            SECRET,
            "{\"type\":\"chat.agent\",\"externalId\":\""
                + chatId
                + "\",\"taskIdentifier\":\""
                + agent
                + "\",\"triggerConfig\":{\"basePayload\":{\"chatId\":\""
                + chatId
                + "\",\"messages\":[]}}}");
    assertThat(r.status()).as(r.body()).isIn(200, 201);
    return r.json();
  }

  /** The body of a submit-message append with one user text message. */
  static String submit(String chatId, String messageId, String text) {
    return "{\"kind\":\"message\",\"payload\":{\"message\":{\"id\":\""
        + messageId
        + "\",\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":\""
        + text
        + "\"}]},\"chatId\":\""
        + chatId
        + "\",\"trigger\":\"submit-message\"}}";
  }

  Reply append(String address, String token, String body) {
    return send(appendRequest(address, token).POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  HttpRequest.Builder appendRequest(String address, String token) {
    return HttpRequest.newBuilder(uri("/realtime/v1/sessions/" + address + "/in/append"))
        .header("Authorization", "Bearer " + token)
        .header("Content-Type", "application/json");
  }

  Reply post(String path, String token, String body) {
    return send(
        HttpRequest.newBuilder(uri(path))
            .header("Authorization", "Bearer " + token)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  Reply send(HttpRequest.Builder request) {
    try {
      HttpResponse<String> r =
          client.send(request.timeout(WAIT).build(), HttpResponse.BodyHandlers.ofString());
      return new Reply(r.statusCode(), r.body(), r.headers().map());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Opens {@code out} as SSE with the given extra headers. */
  SseReader openOut(String address, String token, Map<String, String> headers) {
    var request =
        HttpRequest.newBuilder(uri("/realtime/v1/sessions/" + address + "/out"))
            .header("Accept", "text/event-stream")
            .header("Authorization", "Bearer " + token);
    headers.forEach(request::header);
    try {
      HttpResponse<java.io.InputStream> r =
          client.send(request.GET().build(), HttpResponse.BodyHandlers.ofInputStream());
      return new SseReader(r);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  long lastIn(String address) {
    return chat.lastEventId(address, StreamKind.IN);
  }

  /** Polls until the condition holds, failing after {@link #WAIT}. */
  static void await(String what, BooleanSupplier condition) {
    Awaitility.await(what)
        .atMost(WAIT)
        .pollDelay(Duration.ZERO)
        .pollInterval(Duration.ofMillis(5))
        .until(condition::getAsBoolean);
  }

  @Override
  public void close() {
    http.close();
    runtime.close();
    chat.close();
    if (ownsStore) {
      store.close();
    }
  }

  /** The {@code typed} agent's client data. */
  public record Plan(int seats) {}

  /** A plain answer. */
  record Reply(int status, String body, Map<String, java.util.List<String>> headers) {
    JsonObject json() {
      return Json.parseObject(body);
    }

    String header(String name) {
      for (var e : headers.entrySet()) {
        if (e.getKey().equalsIgnoreCase(name)) {
          return e.getValue().get(0);
        }
      }
      return null;
    }

    String error() {
      return json().string("error").orElseThrow();
    }

    byte[] bytes() {
      return body.getBytes(StandardCharsets.UTF_8);
    }
  }
}
