package dev.durablechat.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.durablechat.api.Json;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.gaul.s3proxy.BlobStores;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Two {@code ./durablechat serve} processes (child JVMs) on one PostgreSQL and one snapshot store
 * (a folder, or a bucket of a real S3-compatible server, s3proxy in this JVM) serve one chat: a
 * message appended through node A is answered on node B's {@code out} stream, and after {@code kill
 * -9} of the node that owns the run mid-reply, the other node finishes that reply by itself, with
 * no new message (its recovery sweep takes the session over once the dead node's run lease ran out,
 * S8, S12); the next message through it is answered too.
 */
@DisplayName("serve --store/--snapshots: two nodes on one PostgreSQL serve one chat")
class ServeNodesTest {
  private static final String KEY = "dc_test_nodes_key";
  private static final Pattern BASE = Pattern.compile("chat page\\s+(http://\\S+)/demo/");
  private static final Duration WAIT = Duration.ofSeconds(90);
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static EmbeddedPostgres embedded;

  private final List<Node> nodes = new ArrayList<>();

  @TempDir Path dir;

  private S3 s3;

  @AfterEach
  void stopNodes() throws Exception {
    nodes.forEach(Node::kill);
    if (s3 != null) {
      s3.close();
    }
  }

  @AfterAll
  static void stopPostgres() throws IOException {
    if (embedded != null) {
      embedded.close();
    }
  }

  @ParameterizedTest(name = "snapshots on {0}")
  @ValueSource(strings = {"file", "s3"})
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  @DisplayName(
      "appends through A are answered on B's out stream; after kill -9 of the owner mid-reply, B"
          + " finishes that reply by itself (no new message), then answers the next one")
  void twoNodesOneChat(String snapshotStore) throws Exception {
    String store = postgresUrl();
    String snapshots;
    if (snapshotStore.equals("s3")) {
      s3 = S3.start();
      snapshots = "s3://" + s3.newBucket() + "/chats?endpoint=" + s3.endpoint();
    } else {
      snapshots = "file:" + dir.resolve("snapshots");
    }
    Node a = start("A", store, snapshots);
    Node b = start("B", store, snapshots);
    String chatId = "nodes-" + UUID.randomUUID();

    HttpResponse<String> created =
        post(
            a.base.resolve("/api/v1/sessions"),
            "{\"type\":\"chat.agent\",\"externalId\":\""
                + chatId
                + "\",\"taskIdentifier\":\"demo\",\"triggerConfig\":{\"basePayload\":{\"chatId\":\""
                + chatId
                + "\",\"messages\":[]}}}",
            KEY);
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    String token = Json.parseObject(created.body()).string("publicAccessToken").orElseThrow();

    // 1. Through A in, through B out.
    try (Sse out = Sse.open(b.base, chatId, token, 0)) {
      long seq1 = append(a.base, chatId, token, "u1", "hello two nodes");
      String reply = out.replyTo(seq1);
      assertThat(reply).isEqualTo(ServeCommand.replyText("hello two nodes"));

      // The published TriggerChatTransport: sessions and appends through A, out through B.
      sdkThroughTwoNodes(a, b, "sdk-" + chatId, "hello from the sdk");

      // 2. A owns the run: kill it mid-reply (after the first words reached B).
      long seq2 = append(a.base, chatId, token, "u2", "this reply is cut short");
      out.awaitText(seq2);
      a.kill();

      // Nobody sends anything: B's recovery sweep takes over once A's run lease ran out, and
      // answers the message again (the partial reply stays, cleaned up, H4).
      String finished = out.replyTo(seq2);
      assertThat(finished).endsWith(ServeCommand.replyText("this reply is cut short"));
    }

    // 3. The next message, through B, is answered (from where the reader left off).
    long seq3 = append(b.base, chatId, token, "u3", "are you still there");
    try (Sse out = Sse.open(b.base, chatId, token, 0)) {
      String reply = out.replyTo(seq3);
      assertThat(reply).endsWith(ServeCommand.replyText("are you still there"));
    }
  }

  /** Runs {@code clients/two-nodes.mjs}: the real SDK transport, appending via A, reading via B. */
  private static void sdkThroughTwoNodes(Node a, Node b, String chatId, String text)
      throws Exception {
    Path clients = Path.of("..", "clients").toAbsolutePath().normalize();
    if (!java.nio.file.Files.isDirectory(clients.resolve("node_modules/@trigger.dev/sdk"))) {
      Process npm =
          new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund")
              .directory(clients.toFile())
              .redirectErrorStream(true)
              .start();
      String out = new String(npm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(npm.waitFor()).as("npm ci in [" + clients + "]:\n" + out).isZero();
    }
    ProcessBuilder pb =
        new ProcessBuilder("node", "two-nodes.mjs", chatId, text)
            .directory(clients.toFile())
            .redirectErrorStream(true);
    pb.environment().put("TRIGGER_API_URL", a.base.toString());
    pb.environment().put("TRIGGER_SECRET_KEY", KEY);
    pb.environment().put("NODE_B_URL", b.base.toString());
    pb.environment().put("EXPECTED_REPLY", ServeCommand.replyText(text));
    Process node = pb.start();
    CompletableFuture<String> output =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
              } catch (IOException e) {
                return e.toString();
              }
            });
    boolean ended = node.waitFor(150, TimeUnit.SECONDS);
    if (!ended) {
      node.destroyForcibly();
    }
    String out = output.get(10, TimeUnit.SECONDS);
    assertThat(ended).as("node two-nodes.mjs timed out:\n" + out).isTrue();
    assertThat(node.exitValue()).as("node two-nodes.mjs:\n" + out).isZero();
    assertThat(out).contains("\"passed\":true");
  }

  // ------------------------------------------------------------------ nodes

  private Node start(String name, String store, String snapshots) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    var command =
        List.of(
            java,
            "-Xmx256m",
            "-cp",
            System.getProperty("java.class.path"),
            "dev.durablechat.cli.Main",
            "serve",
            "--port",
            "0",
            "--store",
            store,
            "--snapshots",
            snapshots,
            "--secret-key",
            KEY,
            "--chunk-delay-ms",
            "150");
    var builder = new ProcessBuilder(command).redirectErrorStream(true);
    // A developer's own object store settings must not redirect the nodes; s3proxy's keys.
    builder.environment().keySet().removeIf(k -> k.startsWith("OBJECT_STORE_"));
    builder.environment().put("OBJECT_STORE_ACCESS_KEY_ID", S3.ACCESS_KEY);
    builder.environment().put("OBJECT_STORE_SECRET_ACCESS_KEY", S3.SECRET_KEY);
    Process process = builder.start();
    Node node = new Node(name, process);
    nodes.add(node);
    node.base = node.awaitBase();
    return node;
  }

  /** One serve process and what it printed. */
  private static final class Node {
    final String name;
    final Process process;
    final StringBuffer output = new StringBuffer();
    final CompletableFuture<URI> listening = new CompletableFuture<>();
    URI base;

    Node(String name, Process process) {
      this.name = name;
      this.process = process;
      Thread pump =
          new Thread(
              () -> {
                try (var in =
                    new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                  String line;
                  while ((line = in.readLine()) != null) {
                    output.append(line).append('\n');
                    Matcher m = BASE.matcher(line);
                    if (m.find()) {
                      listening.complete(URI.create(m.group(1)));
                    }
                  }
                } catch (IOException e) {
                  // the process is gone
                }
                listening.completeExceptionally(
                    new IllegalStateException("node " + name + " exited:\n" + output));
              },
              "serve-node-" + name);
      pump.setDaemon(true);
      pump.start();
    }

    URI awaitBase() throws Exception {
      return listening.get(60, TimeUnit.SECONDS);
    }

    /** {@code kill -9}: no shutdown hook runs, the run lease is left to expire. */
    void kill() {
      process.destroyForcibly();
      try {
        process.waitFor(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** s3proxy 4.1.0 on an in-memory blob store in this JVM, as storage-s3's tests run it. */
  private static final class S3 {
    static final String ACCESS_KEY = "access";
    static final String SECRET_KEY = "secret-do-not-print";
    private final S3Proxy proxy;

    private S3(S3Proxy proxy) {
      this.proxy = proxy;
    }

    static S3 start() throws Exception {
      var properties = new Properties();
      properties.setProperty(
          "jclouds.filesystem.basedir",
          Files.createTempDirectory("s3proxy").toFile().getCanonicalPath());
      properties.setProperty("jclouds.identity", ACCESS_KEY);
      properties.setProperty("jclouds.credential", SECRET_KEY);
      S3Proxy proxy =
          S3Proxy.builder()
              .blobStore(BlobStores.create("transient-nio2", properties))
              .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
              .endpoint(URI.create("http://127.0.0.1:0"))
              .build();
      proxy.start();
      await("s3proxy started")
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(5))
          .until(() -> proxy.getState().equals("STARTED"));
      return new S3(proxy);
    }

    URI endpoint() {
      return URI.create("http://127.0.0.1:" + proxy.getPort());
    }

    String newBucket() {
      String bucket = "chat-" + UUID.randomUUID().toString().substring(0, 8);
      try (S3Client client =
          S3Client.builder()
              .endpointOverride(endpoint())
              .region(Region.US_EAST_1)
              .credentialsProvider(
                  StaticCredentialsProvider.create(
                      AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)))
              .forcePathStyle(true)
              .build()) {
        client.createBucket(b -> b.bucket(bucket));
      }
      return bucket;
    }

    void close() throws Exception {
      proxy.stop();
    }
  }

  private static synchronized String postgresUrl() throws IOException {
    String configured = System.getenv("PG_JDBC_URL");
    if (configured != null && !configured.isBlank()) {
      return configured;
    }
    if (embedded == null) {
      embedded = EmbeddedPostgres.builder().start();
    }
    return embedded.getJdbcUrl("postgres", "postgres");
  }

  // ------------------------------------------------------------------ the wire

  private static long append(URI base, String chatId, String token, String id, String text)
      throws Exception {
    String body =
        "{\"kind\":\"message\",\"payload\":{\"message\":{\"id\":\""
            + id
            + "\",\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":\""
            + text
            + "\"}]},\"chatId\":\""
            + chatId
            + "\",\"trigger\":\"submit-message\"}}";
    HttpResponse<String> r =
        post(base.resolve("/realtime/v1/sessions/" + chatId + "/in/append"), body, token);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return ((dev.durablechat.api.JsonNumber) Json.parseObject(r.body()).get("seq")).longValue();
  }

  private static HttpResponse<String> post(URI uri, String body, String bearer) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(uri)
            .header("Authorization", "Bearer " + bearer)
            .header("Content-Type", "application/json")
            .timeout(Duration.ofSeconds(30))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /**
   * An SSE reader of a session's out stream that reconnects with Last-Event-ID when the stream
   * ends, as the clients do.
   */
  private static final class Sse implements AutoCloseable {
    final URI base;
    final String chatId;
    final String token;
    final BlockingQueue<JsonObject> records = new LinkedBlockingQueue<>();
    volatile long last;
    volatile boolean closed;
    volatile InputStream body;
    final Thread thread;

    private Sse(URI base, String chatId, String token, long after) {
      this.base = base;
      this.chatId = chatId;
      this.token = token;
      this.last = after;
      this.thread = new Thread(this::loop, "sse-" + chatId);
      thread.setDaemon(true);
      thread.start();
    }

    static Sse open(URI base, String chatId, String token, long after) {
      return new Sse(base, chatId, token, after);
    }

    private void loop() {
      while (!closed) {
        try {
          var request =
              HttpRequest.newBuilder(base.resolve("/realtime/v1/sessions/" + chatId + "/out"))
                  .header("Authorization", "Bearer " + token)
                  .header("Accept", "text/event-stream")
                  .header("Timeout-Seconds", "30");
          if (last > 0) {
            request.header("Last-Event-ID", Long.toString(last));
          }
          HttpResponse<InputStream> r =
              HTTP.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
          body = r.body();
          try (var in = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
              if (line.startsWith("data: {\"records\"")) {
                JsonObject batch = Json.parseObject(line.substring(6));
                for (JsonValue v : ((JsonArray) batch.get("records")).elements()) {
                  JsonObject record = (JsonObject) v;
                  last = ((dev.durablechat.api.JsonNumber) record.get("seq_num")).longValue();
                  records.add(record);
                }
              }
            }
          }
        } catch (IOException | RuntimeException e) {
          // reconnect
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    /** The text of the reply whose turn-complete covers the in record {@code seq}. */
    String replyTo(long seq) throws InterruptedException {
      var text = new StringBuilder();
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (System.nanoTime() < deadline) {
        JsonObject r = records.poll(1, TimeUnit.SECONDS);
        if (r == null) {
          continue;
        }
        String control = header(r, "trigger-control");
        if ("turn-complete".equals(control)) {
          if (Long.parseLong(header(r, "session-in-event-id")) >= seq) {
            return text.toString();
          }
          text.setLength(0);
        } else if (control == null) {
          JsonObject chunk =
              (JsonObject) Json.parseObject(r.string("body").orElseThrow()).get("data");
          if ("text-delta".equals(chunk.string("type").orElse(""))) {
            text.append(chunk.string("delta").orElseThrow());
          }
        }
      }
      throw new AssertionError("no turn-complete for in [" + seq + "] within " + WAIT);
    }

    /** Waits until the reply to {@code seq} has begun to stream its text. */
    void awaitText(long seq) {
      await()
          .atMost(WAIT)
          .until(
              () -> {
                JsonObject r = records.poll(1, TimeUnit.SECONDS);
                if (r == null || header(r, "trigger-control") != null) {
                  return false;
                }
                JsonObject chunk =
                    (JsonObject) Json.parseObject(r.string("body").orElseThrow()).get("data");
                return "text-delta".equals(chunk.string("type").orElse(""));
              });
    }

    private static String header(JsonObject record, String name) {
      for (JsonValue h : ((JsonArray) record.get("headers")).elements()) {
        var pair = (JsonArray) h;
        if (pair.elements().get(0) instanceof dev.durablechat.api.JsonString n
            && n.value().equals(name)) {
          return ((dev.durablechat.api.JsonString) pair.elements().get(1)).value();
        }
      }
      return null;
    }

    @Override
    public void close() {
      closed = true;
      InputStream b = body;
      if (b != null) {
        try {
          b.close();
        } catch (IOException e) {
          // closing anyway
        }
      }
      thread.interrupt();
    }
  }
}
