package dev.durablechat.storage.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.durablechat.api.Environment;
import dev.durablechat.api.SnapshotConflictException;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StoreUnavailableException;
import dev.durablechat.api.spi.StoreConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The retry strategy of the client the provider builds, against an HTTP server that answers with
 * scripted S3 errors: s3proxy cannot be made to throttle or fail on demand.
 */
@DisplayName("S3 snapshot store retries")
class S3RetryTest {
  private static final SnapshotKey KEY =
      new SnapshotKey(new Environment("proj_retry", "dev"), "session_retry");

  /** Status and S3 error code of each answer in turn; 200 once the script is used up. */
  private final Deque<Object[]> script = new ArrayDeque<>();

  private final AtomicInteger requests = new AtomicInteger();

  /** Whether PUT bodies land even when the answer is an error (an answer lost on the way). */
  private volatile boolean putsLand;

  private volatile byte[] stored = new byte[0];
  private HttpServer http;
  private S3SnapshotStore store;

  @BeforeEach
  void start() throws IOException {
    http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    http.createContext("/", this::answer);
    http.start();
    Map<String, String> env =
        Map.of(
            "OBJECT_STORE_BASE_URL", "http://127.0.0.1:" + http.getAddress().getPort(),
            "OBJECT_STORE_ACCESS_KEY_ID", "access",
            "OBJECT_STORE_SECRET_ACCESS_KEY", "secret",
            "OBJECT_STORE_DEFAULT_PROTOCOL", "minio",
            "OBJECT_STORE_BUCKET", "retry-bucket");
    store = new S3SnapshotStoreProvider(env).open(StoreConfig.of("s3:"));
  }

  @AfterEach
  void stop() {
    store.close();
    http.stop(0);
  }

  private void answer(HttpExchange exchange) throws IOException {
    try (exchange) {
      byte[] request = decodeAwsChunked(exchange.getRequestBody().readAllBytes());
      requests.incrementAndGet();
      boolean put = exchange.getRequestMethod().equals("PUT");
      Object[] next;
      synchronized (script) {
        next = script.poll();
      }
      if (put && (next == null || putsLand)) {
        stored = request;
      }
      if (next == null) {
        exchange.getResponseHeaders().add("ETag", "\"v-ok\"");
        byte[] body = put ? new byte[0] : stored;
        exchange.sendResponseHeaders(200, body.length == 0 ? -1 : body.length);
        exchange.getResponseBody().write(body);
        return;
      }
      byte[] body =
          ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>"
                  + next[1]
                  + "</Code><Message>scripted</Message></Error>")
              .getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "application/xml");
      exchange.sendResponseHeaders((Integer) next[0], body.length);
      exchange.getResponseBody().write(body);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Undoes SigV4 streaming (aws-chunked) encoding, which the SDK uses for a PUT body over plain
   * HTTP: {@code hex-size;chunk-signature=...\r\n data \r\n}, ending with a zero-size chunk.
   */
  private static byte[] decodeAwsChunked(byte[] body) {
    String text = new String(body, StandardCharsets.ISO_8859_1);
    if (!text.matches("(?s)[0-9a-f]+;chunk-signature=.*")) {
      return body;
    }
    var out = new ByteArrayOutputStream();
    int at = 0;
    while (true) {
      int lineEnd = text.indexOf("\r\n", at);
      int size = Integer.parseInt(text.substring(at, text.indexOf(';', at)), 16);
      if (size == 0) {
        return out.toByteArray();
      }
      out.write(body, lineEnd + 2, size);
      at = lineEnd + 2 + size + 2;
    }
  }

  private void then(int status, String code) {
    synchronized (script) {
      script.add(new Object[] {status, code});
    }
  }

  private static byte[] json() {
    return "{}".getBytes(StandardCharsets.UTF_8);
  }

  @Test
  @DisplayName("throttling (503 SlowDown) is retried with backoff and the write then succeeds")
  void throttlingIsRetried() {
    then(503, "SlowDown");
    then(500, "InternalError");

    assertThat(store.write(KEY, json(), null)).isEqualTo("\"v-ok\"");
    assertThat(requests).hasValue(3);
  }

  @Test
  @DisplayName(
      "a store that keeps failing with 5xx is StoreUnavailableException after a bounded number of attempts")
  void persistent5xxIsUnavailable() {
    for (int i = 0; i < 10; i++) {
      then(500, "InternalError");
    }

    assertThatThrownBy(() -> store.write(KEY, json(), "\"v1\""))
        .isInstanceOf(StoreUnavailableException.class)
        .hasMessageContaining("status [500]")
        .hasMessageContaining("InternalError");
    assertThat(requests).hasValue(S3Settings.MAX_ATTEMPTS);
  }

  @Test
  @DisplayName("a 412 is answered once, not retried: the writer is stale")
  void preconditionFailedIsNotRetried() {
    then(412, "PreconditionFailed");

    assertThatThrownBy(() -> store.write(KEY, json(), "\"v1\""))
        .isInstanceOf(SnapshotConflictException.class);
    assertThat(requests).hasValue(1);
  }

  @Test
  @DisplayName("a 412 on a retry is our own earlier write if the store holds our bytes: success")
  void preconditionFailedAfterLostAnswerIsOurWrite() {
    putsLand = true;
    then(500, "InternalError");
    then(412, "PreconditionFailed");

    assertThat(store.write(KEY, json(), "\"v1\"")).isEqualTo("\"v-ok\"");
    assertThat(requests).hasValue(3);
  }

  @Test
  @DisplayName("a 412 on a retry is a conflict if the store holds other bytes")
  void preconditionFailedAfterRetryWithOtherBytesIsConflict() {
    then(500, "InternalError");
    then(412, "PreconditionFailed");

    assertThatThrownBy(() -> store.write(KEY, json(), "\"v1\""))
        .isInstanceOf(SnapshotConflictException.class);
    assertThat(requests).hasValue(3);
  }
}
