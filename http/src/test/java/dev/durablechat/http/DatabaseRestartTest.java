package dev.durablechat.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.durablechat.api.InEvent;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoreConfig;
import dev.durablechat.http.HttpFixture.Reply;
import dev.durablechat.http.SseReader.WireRecord;
import dev.durablechat.storage.jdbc.JdbcStores;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The PostgreSQL under the server stops and comes back while clients append and read: requests in
 * between get a clear 503 (the clients retry those), every append that was answered 200 is kept,
 * and once the database is back the same server answers the next message.
 */
@DisplayName("the database restarting under the HTTP server")
class DatabaseRestartTest {
  @TempDir Path data;

  @Test
  @Timeout(value = 180, unit = TimeUnit.SECONDS)
  @DisplayName(
      "503 store_unavailable while PostgreSQL is down, nothing answered 200 is lost, and the next"
          + " message after the restart is answered")
  void restart() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    EmbeddedPostgres pg = startAt(data, port);
    String url = "jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=postgres";
    SessionStore store =
        JdbcStores.openSessionStore(
            new StoreConfig(url, Map.of("connectionTimeoutMillis", "1000")));
    try (var f = new HttpFixture(store, true, b -> b.pingInterval(Duration.ofMillis(500)))) {
      String token = f.createSession("chat-db").string("publicAccessToken").orElseThrow();
      var accepted = new ArrayList<Long>();
      try (SseReader sse = f.openOut("chat-db", token, Map.of("Timeout-Seconds", "600"))) {
        Reply first = f.append("chat-db", token, HttpFixture.submit("chat-db", "u1", "before"));
        assertThat(first.status()).isEqualTo(200);
        accepted.add(seq(first));
        sse.recordsUntil(WireRecord::isTurnComplete, HttpFixture.WAIT);
      }

      pg.close();
      Reply during = f.append("chat-db", token, HttpFixture.submit("chat-db", "u2", "during"));
      assertThat(during.status()).as(during.body()).isEqualTo(503);
      assertThat(during.json().string("code")).hasValue("store_unavailable");
      assertThat(during.header("access-control-allow-origin")).isEqualTo("*");
      // The routes that need no database keep answering.
      assertThat(f.post("/api/v1/auth/jwt/claims", HttpFixture.SECRET, "{}").status())
          .isEqualTo(200);

      pg = startAt(data, port);
      try {
        Reply[] after = new Reply[1];
        await()
            .atMost(Duration.ofSeconds(60))
            .until(
                () -> {
                  after[0] =
                      f.append("chat-db", token, HttpFixture.submit("chat-db", "u3", "after"));
                  return after[0].status() == 200;
                });
        long seq3 = seq(after[0]);
        accepted.add(seq3);
        try (SseReader sse = f.openOut("chat-db", token, Map.of("Timeout-Seconds", "600"))) {
          sse.recordsUntil(
              r ->
                  r.isTurnComplete()
                      && Long.parseLong(r.header("session-in-event-id").orElseThrow()) >= seq3,
              Duration.ofSeconds(90));
        }
        // Every append answered 200 is in the in stream; the refused one is not.
        List<String> texts = new ArrayList<>();
        for (StreamRecord<InEvent> r : f.chat.readIn("chat-db", 0, 100)) {
          if (r.event() instanceof InEvent.Message m && m.payload().message() != null) {
            texts.add(m.payload().message().text());
          }
        }
        assertThat(texts).contains("before", "after").doesNotContain("during");
        // The out stream has no gap.
        long last = f.chat.lastEventId("chat-db", StreamKind.OUT);
        assertThat(f.chat.readOut("chat-db", 0, 10_000))
            .extracting(StreamRecord::eventId)
            .containsExactlyElementsOf(
                java.util.stream.LongStream.rangeClosed(1, last).boxed().toList());
      } finally {
        // Stop the server before its database (the fixture closes again, harmlessly).
        f.http.close();
        pg.close();
      }
    }
  }

  private static long seq(Reply r) {
    return ((dev.durablechat.api.JsonNumber) r.json().get("seq")).longValue();
  }

  private static EmbeddedPostgres startAt(Path data, int port) throws Exception {
    return EmbeddedPostgres.builder()
        .setDataDirectory(data)
        .setCleanDataDirectory(false)
        .setPort(port)
        .start();
  }
}
