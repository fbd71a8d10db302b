package dev.durablechat.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.durablechat.http.SseReader.WireRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The session's shared live tail (docs/http.md): a few readers are served on the appending thread,
 * more are spread over the lanes; either way each reader gets every record once, in order.
 */
@DisplayName("One live tail per session, shared by its readers (invariant 4, W7)")
class HubFanOutTest {
  private static final Duration DEADLINE = Duration.ofSeconds(60);

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  @DisplayName(
      "readers joining one by one while the session streams, from a few (served on the appending thread) to many (spread over the lanes), each get every record in order, once")
  void readersJoinWhileStreaming() throws Exception {
    int chunks = 2_000;
    int readerCount = 3 * OutStreams.INLINE_READERS;
    try (var f = new HttpFixture(b -> b.maxReadersPerSession(100))) {
      String token = f.createSession("joining").string("publicAccessToken").orElseThrow();
      var readers = new ArrayList<SseReader>();
      try {
        readers.add(f.openOut("joining", token, Map.of("Timeout-Seconds", "120")));
        readers.add(f.openOut("joining", token, Map.of("Timeout-Seconds", "120")));
        assertThat(
                f.append("joining", token, HttpFixture.submit("joining", "u", "count:" + chunks))
                    .status())
            .isEqualTo(200);
        // The rest join while the reply streams (or after it: then they catch up from the store).
        while (readers.size() < readerCount) {
          readers.add(f.openOut("joining", token, Map.of("Timeout-Seconds", "120")));
        }
        assertThat(readers).allSatisfy(r -> assertThat(r.status()).isEqualTo(200));
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        for (SseReader r : readers) {
          Duration left = Duration.ofNanos(Math.max(1, deadline - System.nanoTime()));
          List<WireRecord> records = r.recordsUntil(HubFanOutTest::turnComplete, left);
          LoadTest.assertInOrderOnce(records, chunks);
        }
      } finally {
        readers.forEach(SseReader::close);
      }
    }
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  @DisplayName(
      "a reader that leaves mid-stream leaves the other readers' streams whole, and its stream is let go")
  void readerLeavesMidStream() throws Exception {
    int chunks = 3_000;
    int readerCount = 2 * OutStreams.INLINE_READERS;
    try (var f = new HttpFixture(b -> b.maxReadersPerSession(100))) {
      String token = f.createSession("leaving").string("publicAccessToken").orElseThrow();
      var readers = new ArrayList<SseReader>();
      try {
        for (int i = 0; i < readerCount; i++) {
          readers.add(f.openOut("leaving", token, Map.of("Timeout-Seconds", "120")));
        }
        assertThat(
                f.append("leaving", token, HttpFixture.submit("leaving", "u", "count:" + chunks))
                    .status())
            .isEqualTo(200);
        SseReader leaver = readers.remove(0);
        assertThat(leaver.next(HttpFixture.WAIT)).as("the leaver's first frame").isPresent();
        leaver.close();
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        for (SseReader r : readers) {
          Duration left = Duration.ofNanos(Math.max(1, deadline - System.nanoTime()));
          List<WireRecord> records = r.recordsUntil(HubFanOutTest::turnComplete, left);
          LoadTest.assertInOrderOnce(records, chunks);
        }
        // The others stay open (Timeout-Seconds 120); the leaver's stream is let go.
        await()
            .atMost(HttpFixture.WAIT)
            .until(() -> f.http.servlet().openStreams() == readerCount - 1);
      } finally {
        readers.forEach(SseReader::close);
      }
    }
  }

  private static boolean turnComplete(WireRecord r) {
    return r.control().filter("turn-complete"::equals).isPresent();
  }
}
