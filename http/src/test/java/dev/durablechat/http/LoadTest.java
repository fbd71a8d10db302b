package dev.durablechat.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.http.SseReader.WireRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@DisplayName("Many readers at once, over loopback (http.md §1, W7, invariant 4)")
class LoadTest {
  private static final int HOT_READERS = 200;
  private static final int SESSIONS = 50;
  private static final int HOT_CHUNKS = 300;
  private static final int CHUNKS = 100;
  private static final Duration DEADLINE = Duration.ofSeconds(40);

  @Test
  @Timeout(value = 90, unit = TimeUnit.SECONDS)
  @DisplayName(
      "200 SSE readers on one session and 50 sessions streaming at once: every reader gets every chunk, in order, once; the server still answers")
  void manyReaders() throws Exception {
    try (var f =
        new HttpFixture(b -> b.pingInterval(Duration.ofSeconds(5)).maxReadersPerSession(250))) {
      String hotToken = f.createSession("hot").string("publicAccessToken").orElseThrow();
      var readers = new ArrayList<SseReader>();
      var expected = new ArrayList<Integer>();
      try {
        for (int i = 0; i < HOT_READERS; i++) {
          readers.add(f.openOut("hot", hotToken, Map.of("Timeout-Seconds", "60")));
          expected.add(HOT_CHUNKS);
        }
        var tokens = new ArrayList<String>();
        for (int s = 0; s < SESSIONS; s++) {
          String chat = "cold-" + s;
          String token = f.createSession(chat).string("publicAccessToken").orElseThrow();
          tokens.add(token);
          readers.add(f.openOut(chat, token, Map.of("Timeout-Seconds", "60")));
          expected.add(CHUNKS);
        }
        assertThat(readers).allSatisfy(r -> assertThat(r.status()).isEqualTo(200));

        // With 250 streams open (each for up to 60 s), the server still answers other requests.
        assertThat(f.post("/api/v1/auth/jwt/claims", HttpFixture.SECRET, "{}").status())
            .isEqualTo(200);
        assertThat(readers).as("still open").noneMatch(SseReader::ended);

        ExecutorService senders = Executors.newFixedThreadPool(8);
        try {
          var sent = new ArrayList<Future<Integer>>();
          sent.add(
              senders.submit(
                  () ->
                      f.append(
                              "hot",
                              hotToken,
                              HttpFixture.submit("hot", "u", "count:" + HOT_CHUNKS))
                          .status()));
          for (int s = 0; s < SESSIONS; s++) {
            String chat = "cold-" + s;
            String token = tokens.get(s);
            sent.add(
                senders.submit(
                    () ->
                        f.append(chat, token, HttpFixture.submit(chat, "u", "count:" + CHUNKS))
                            .status()));
          }
          for (Future<Integer> status : sent) {
            assertThat(status.get(30, TimeUnit.SECONDS)).isEqualTo(200);
          }
        } finally {
          senders.shutdownNow();
        }

        long deadline = System.nanoTime() + DEADLINE.toNanos();
        for (int i = 0; i < readers.size(); i++) {
          Duration left = Duration.ofNanos(Math.max(1, deadline - System.nanoTime()));
          List<WireRecord> records =
              readers.get(i).recordsUntil(r -> r.control().isPresent(), left);
          assertInOrderOnce(records, expected.get(i));
        }
      } finally {
        readers.forEach(SseReader::close);
      }
    }
  }

  @Test
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  @DisplayName(
      "an open stream holds no thread: with 8 request threads, 40 readers stay open and the routes still answer")
  void streamsHoldNoThread() {
    try (var f = new HttpFixture(b -> b.maxThreads(8))) {
      String token = f.createSession("capped").string("publicAccessToken").orElseThrow();
      var readers = new ArrayList<SseReader>();
      try {
        for (int i = 0; i < 40; i++) {
          SseReader r = f.openOut("capped", token, Map.of("Timeout-Seconds", "600"));
          assertThat(r.status()).isEqualTo(200);
          readers.add(r);
        }
        assertThat(f.http.servlet().openStreams()).isEqualTo(40);
        assertThat(f.post("/api/v1/auth/jwt/claims", HttpFixture.SECRET, "{}").status())
            .isEqualTo(200);
        assertThat(
                f.append("capped", token, HttpFixture.submit("capped", "u1", "count:3")).status())
            .isEqualTo(200);
        for (SseReader r : readers) {
          assertThat(r.recordsUntil(WireRecord::isTurnComplete, HttpFixture.WAIT)).isNotEmpty();
        }
      } finally {
        readers.forEach(SseReader::close);
      }
    }
  }

  /** Gapless seqs from 1, then the deltas 0..n-1 in order, then a turn-complete. */
  static void assertInOrderOnce(List<WireRecord> records, int n) {
    for (int i = 0; i < records.size(); i++) {
      assertThat(records.get(i).seq()).isEqualTo(i + 1);
    }
    assertThat(records.get(records.size() - 1).control()).contains("turn-complete");
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
  }
}
