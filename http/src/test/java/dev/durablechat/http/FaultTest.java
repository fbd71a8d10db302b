package dev.durablechat.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.durablechat.api.StreamKind;
import dev.durablechat.http.HttpFixture.Reply;
import dev.durablechat.http.SseReader.WireRecord;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Bad input and faults at the HTTP edge: oversized headers and bodies on every route, a reader that
 * never reads, many readers leaving at once (T4, W4, docs/http.md).
 */
@DisplayName("Bad input and faults at the HTTP edge")
class FaultTest {
  private final HttpFixture f =
      new HttpFixture(
          b ->
              b.pingInterval(Duration.ofMillis(200))
                  .readerBufferBytes(64 * 1024)
                  .stalledReaderTimeout(Duration.ofMillis(500))
                  // 500 readers on one session: above the default cap (T4).
                  .maxReadersPerSession(1000));

  @AfterEach
  void close() {
    f.close();
  }

  @ParameterizedTest(name = "{0} {1} with {2} bytes of headers")
  @DisplayName(
      "T4: headers over the limit are a 431 with a JSON body naming the problem and CORS, on every"
          + " route, answered by the servlet or by Jetty")
  @CsvSource({
    "GET, /realtime/v1/sessions/chat-h/out, 20000",
    "POST, /realtime/v1/sessions/chat-h/in/append, 20000",
    "POST, /api/v1/sessions, 20000",
    "POST, /api/v1/sessions/chat-h/close, 20000",
    "POST, /api/v1/auth/jwt/claims, 20000",
    "OPTIONS, /api/v1/sessions, 20000",
    "GET, /realtime/v1/sessions/chat-h/out, 60000",
    "POST, /realtime/v1/sessions/chat-h/in/append, 60000",
    "POST, /api/v1/sessions, 60000",
  })
  void headersTooLarge(String method, String path, int size) {
    f.createSession("chat-h");
    long inBefore = f.lastIn("chat-h");
    Reply r =
        f.send(
            HttpRequest.newBuilder(f.uri(path))
                .header("Authorization", "Bearer " + HttpFixture.SECRET)
                .header("Content-Type", "application/json")
                .header("Origin", "http://app.example")
                .header("X-Padding", "p".repeat(size))
                .method(
                    method,
                    method.equals("POST")
                        ? HttpRequest.BodyPublishers.ofString(
                            HttpFixture.submit("chat-h", "u1", "hi"))
                        : HttpRequest.BodyPublishers.noBody()));
    assertThat(r.status()).as(r.body()).isEqualTo(431);
    assertThat(r.header("content-type")).startsWith("application/json");
    assertThat(r.error()).contains("header");
    assertThat(r.header("access-control-allow-origin")).isNotNull();
    assertThat(f.lastIn("chat-h")).isEqualTo(inBefore);
  }

  @ParameterizedTest(name = "{0} {1}")
  @DisplayName(
      "a body that a route does not read (a preflight's, a GET's, an out stream's, a refused"
          + " path's) is read and dropped: the connection stays open for the client's next request")
  @CsvSource({
    "OPTIONS, /api/v1/sessions, 204,",
    "GET, /api/v1/sessions, 200,",
    "OPTIONS, /nowhere, 204,",
    // A settled session's peek: a whole SSE answer from the streaming route.
    "GET, /realtime/v1/sessions/chat-s/out, 200, X-Peek-Settled: 1",
    // Paths the router refuses (escapes that are not UTF-8, an empty id), naming the segment: Jetty
    // would refuse them as malformed and close the connection with the body unread, resetting it.
    "POST, /realtime/v1/sessions/%E2%82/out, 400,",
    "POST, /realtime/v1/sessions/%E2%82%28/in/append, 400,",
    "POST, /api/v1/sessions/%C0%AF/close, 400,",
    "POST, /realtime/v1/sessions//in/append, 404,",
  })
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void unreadBodyKeepsTheConnection(String method, String path, int status, @Nullable String header)
      throws Exception {
    f.createSession("chat-s");
    f.chat.closeSession("chat-s", "settled");
    // 4 MiB: far more than the socket buffers hold, so the whole body is sent only if the server
    // reads it (a server that answers without reading it closes the connection after the answer).
    int size = 4 * 1024 * 1024;
    try (var socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", f.http.port()), 5_000);
      socket.setSoTimeout(30_000);
      var out = socket.getOutputStream();
      byte[] head =
          (method
                  + " "
                  + path
                  + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                  + HttpFixture.SECRET
                  + "\r\nContent-Type: application/json\r\n"
                  + (header == null ? "" : header + "\r\n")
                  + "Content-Length: "
                  + size
                  + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII);
      // The body from another thread: the server may answer before it has read it all.
      var sent = new CompletableFuture<@Nullable Void>();
      new Thread(
              () -> {
                try {
                  out.write(head);
                  out.write(new byte[size]);
                  out.flush();
                  sent.complete(null);
                } catch (IOException e) {
                  sent.completeExceptionally(e);
                }
              })
          .start();
      InputStream in = socket.getInputStream();
      assertThat(RawHttp.line(in)).startsWith("HTTP/1.1 " + status);
      String answer = RawHttp.body(in, RawHttp.headers(in));
      if (status == 400) {
        assertThat(answer).contains("path segment [", "] is not UTF-8");
      }
      assertThat(sent).as("the whole body was read by the server").succeedsWithin(HttpFixture.WAIT);
      out.write(
          "GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      assertThat(RawHttp.line(in))
          .as("the next request on the same connection")
          .startsWith("HTTP/1.1 404");
    }
  }

  @ParameterizedTest(name = "POST {0}")
  @DisplayName(
      "W4: a body over the cap is a 413 with a JSON body on every route; nothing is stored")
  @CsvSource({
    "/realtime/v1/sessions/chat-b/in/append",
    "/api/v1/sessions",
    "/api/v1/sessions/chat-b/close",
    "/api/v1/auth/jwt/claims",
  })
  void bodyTooLarge(String path) {
    f.createSession("chat-b");
    int cap = f.chat.maxAppendBytes();
    String big =
        "{\"kind\":\"message\",\"payload\":{\"chatId\":\"chat-b\",\"pad\":\""
            + "x".repeat(cap + 10)
            + "\"}}";
    Reply r = f.post(path, HttpFixture.SECRET, big);
    assertThat(r.status()).as(r.body()).isEqualTo(413);
    assertThat(r.header("content-type")).startsWith("application/json");
    assertThat(r.error()).contains("over the limit of " + cap + " bytes");
    assertThat(r.header("access-control-allow-origin")).isEqualTo("*");
    // Nothing stored: no in record, the session still open, and it still takes a message.
    assertThat(f.lastIn("chat-b")).isZero();
    assertThat(f.chat.session("chat-b").closedAt()).isNull();
    String token = f.createSession("chat-b").string("publicAccessToken").orElseThrow();
    assertThat(f.append("chat-b", token, HttpFixture.submit("chat-b", "u1", "hi")).status())
        .isEqualTo(200);
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  @DisplayName(
      "a reader that never reads is dropped once its bounded buffer stays full; another reader of"
          + " the same session gets every chunk, in order")
  void readerThatNeverReads() throws Exception {
    String token = f.createSession("chat-slow").string("publicAccessToken").orElseThrow();
    try (Socket stuck = rawReader("chat-slow", token);
        SseReader good = f.openOut("chat-slow", token, Map.of("Timeout-Seconds", "120"))) {
      assertThat(stuck.isConnected()).isTrue();
      await().atMost(HttpFixture.WAIT).until(() -> f.http.servlet().openStreams() == 2);
      int n = 20_000; // about 5 MB of frames: more than the socket buffers and the reader buffer
      assertThat(f.append("chat-slow", token, HttpFixture.submit("chat-slow", "u1", "count:" + n)))
          .extracting(Reply::status)
          .isEqualTo(200);

      List<WireRecord> records =
          good.recordsUntil(r -> r.control().isPresent(), Duration.ofSeconds(90));
      var deltas = new ArrayList<String>();
      for (WireRecord r : records) {
        if (r.control().isEmpty() && r.chunk().string("type").orElse("").equals("text-delta")) {
          deltas.add(r.chunk().string("delta").orElseThrow());
        }
      }
      assertThat(deltas).hasSize(n);
      for (int i = 0; i < n; i++) {
        assertThat(deltas.get(i)).isEqualTo(i + ",");
      }
      // The stuck reader was dropped; the good one is still open.
      await().atMost(HttpFixture.WAIT).until(() -> f.http.servlet().openStreams() == 1);
    }
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  @DisplayName(
      "500 readers disconnecting at once are all let go; the server keeps serving the session")
  void manyReadersLeaveAtOnce() throws Exception {
    String token = f.createSession("chat-many").string("publicAccessToken").orElseThrow();
    var sockets = new ArrayList<Socket>();
    try {
      for (int i = 0; i < 500; i++) {
        sockets.add(rawReader("chat-many", token));
      }
      for (Socket s : sockets) {
        assertThat(RawHttp.line(s.getInputStream())).startsWith("HTTP/1.1 200");
      }
      await().atMost(HttpFixture.WAIT).until(() -> f.http.servlet().openStreams() == 500);
    } finally {
      for (Socket s : sockets) {
        s.close();
      }
    }
    // The pings find every closed connection.
    await().atMost(Duration.ofSeconds(30)).until(() -> f.http.servlet().openStreams() == 0);

    try (SseReader sse = f.openOut("chat-many", token, Map.of())) {
      assertThat(f.append("chat-many", token, HttpFixture.submit("chat-many", "u1", "hi")).status())
          .isEqualTo(200);
      assertThat(sse.recordsUntil(r -> r.control().isPresent(), HttpFixture.WAIT)).isNotEmpty();
    }
    assertThat(f.chat.lastEventId("chat-many", StreamKind.OUT)).isPositive();
  }

  /** A raw SSE request whose socket the test never reads (a tiny receive buffer). */
  private Socket rawReader(String chatId, String token) throws IOException {
    Socket s = new Socket();
    s.setReceiveBufferSize(4096);
    s.connect(new InetSocketAddress(f.http.baseUri().getHost(), f.http.port()));
    s.getOutputStream()
        .write(
            ("GET /realtime/v1/sessions/"
                    + chatId
                    + "/out HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                    + "Authorization: Bearer "
                    + token
                    + "\r\nTimeout-Seconds: 120\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
    s.getOutputStream().flush();
    return s;
  }
}
