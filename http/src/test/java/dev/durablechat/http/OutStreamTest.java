package dev.durablechat.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.JsonObject;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.StreamKind;
import dev.durablechat.http.SseReader.Event;
import dev.durablechat.http.SseReader.WireRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("GET /realtime/v1/sessions/{id}/out (http.md §1)")
class OutStreamTest {
  private final HttpFixture f = new HttpFixture(b -> b.pingInterval(Duration.ofMillis(200)));

  @AfterEach
  void close() {
    f.close();
  }

  @Test
  @DisplayName(
      "answers SSE v2: X-Stream-Version v2, event: batch frames of records, turn-complete as a header-only control record (W6)")
  void framing() {
    String token = f.createSession("chat-1").string("publicAccessToken").orElseThrow();
    long seq =
        f.append("chat-1", token, HttpFixture.submit("chat-1", "u1", "hello")).json().get("seq")
                instanceof dev.durablechat.api.JsonNumber n
            ? n.longValue()
            : -1;
    assertThat(seq).isEqualTo(1);
    try (SseReader sse = f.openOut("chat-1", token, Map.of())) {
      assertThat(sse.status()).isEqualTo(200);
      assertThat(sse.header("content-type")).startsWith("text/event-stream");
      assertThat(sse.header("x-stream-version")).isEqualTo("v2");
      assertThat(sse.header("x-session-settled")).isIn("true", "false");
      assertThat(sse.header("access-control-allow-origin")).isEqualTo("*");
      List<WireRecord> records = sse.recordsUntil(WireRecord::isTurnComplete, HttpFixture.WAIT);
      assertThat(records).extracting(WireRecord::seq).isSorted().doesNotHaveDuplicates();
      assertThat(records.get(0).seq()).isEqualTo(1);
      WireRecord tc = records.get(records.size() - 1);
      assertThat(tc.body()).isEmpty();
      assertThat(tc.header("session-in-event-id")).contains("1");
      assertThat(tc.header("public-access-token"))
          .hasValueSatisfying(t -> assertThat(t.split("\\.")).hasSize(3));
      List<WireRecord> data = records.subList(0, records.size() - 1);
      assertThat(data).allSatisfy(r -> assertThat(r.headers()).isEmpty());
      assertThat(data)
          .extracting(r -> r.chunk().string("type").orElseThrow())
          .containsExactly("start", "text-start", "text-delta", "text-end", "finish");
      assertThat(data.get(2).chunk().string("delta")).contains("echo: hello");
      assertThat(data).extracting(WireRecord::recordId).doesNotHaveDuplicates();
    }
  }

  @Test
  @DisplayName(
      "S12: a reader connecting to an active session tells the engine's reader listeners (an agent"
          + " runtime then looks whether the session's run died), naming the session by friendly id")
  void readerConnectedHook() {
    var told = new java.util.concurrent.CopyOnWriteArrayList<String>();
    java.util.function.Consumer<String> listener = told::add;
    f.chat.addReaderListener(listener);
    try {
      String token = f.createSession("chat-h").string("publicAccessToken").orElseThrow();
      String friendlyId = f.chat.session("chat-h").friendlyId();
      try (SseReader sse = f.openOut("chat-h", token, Map.of())) {
        assertThat(sse.status()).isEqualTo(200);
        HttpFixture.await("the listener to be told", () -> told.contains(friendlyId));
      }
      assertThat(told).containsOnly(friendlyId);
    } finally {
      f.chat.removeReaderListener(listener);
    }
  }

  @Test
  @DisplayName(
      "batches several records per frame when they are available at once, with a tail one past the last")
  void batches() {
    String token = f.createSession("chat-b").string("publicAccessToken").orElseThrow();
    f.append("chat-b", token, HttpFixture.submit("chat-b", "u1", "count:50"));
    HttpFixture.await("turn-complete stored", () -> endsWithTurnComplete("chat-b"));
    try (SseReader sse = f.openOut("chat-b", token, Map.of())) {
      Event first = nextBatch(sse);
      List<WireRecord> records = first.records();
      assertThat(records.size()).isGreaterThan(1);
      long tail =
          ((dev.durablechat.api.JsonNumber)
                  ((dev.durablechat.api.JsonObject) first.json().get("tail")).get("seq_num"))
              .longValue();
      assertThat(tail).isEqualTo(records.get(records.size() - 1).seq() + 1);
    }
  }

  @Test
  @DisplayName(
      "W7: resuming with Last-Event-ID N delivers N+1 first; nothing is missing or repeated")
  void resume() {
    String token = f.createSession("chat-r").string("publicAccessToken").orElseThrow();
    f.append("chat-r", token, HttpFixture.submit("chat-r", "u1", "count:30"));
    HttpFixture.await("turn-complete stored", () -> endsWithTurnComplete("chat-r"));
    long last = f.chat.lastEventId("chat-r", StreamKind.OUT);
    var seen = new ArrayList<Long>();
    long cursor = 0;
    // Read a few records at a time, dropping the connection and resuming from the last seen id.
    while (cursor < last) {
      try (SseReader sse =
          f.openOut(
              "chat-r",
              token,
              cursor == 0 ? Map.of() : Map.of("Last-Event-ID", Long.toString(cursor)))) {
        Event batch = nextBatch(sse);
        List<WireRecord> records = batch.records();
        assertThat(records.get(0).seq()).isEqualTo(cursor + 1);
        WireRecord r = records.get(0);
        seen.add(r.seq());
        cursor = r.seq();
      }
    }
    assertThat(seen).containsExactlyElementsOf(range(1, last));
  }

  @Test
  @DisplayName(
      "W7: Last-Event-ID is read tolerantly: 123-4 means 123, garbage means from the start")
  void tolerantLastEventId() {
    String token = f.createSession("chat-t").string("publicAccessToken").orElseThrow();
    f.append("chat-t", token, HttpFixture.submit("chat-t", "u1", "hi"));
    HttpFixture.await("turn-complete stored", () -> endsWithTurnComplete("chat-t"));
    try (SseReader sse = f.openOut("chat-t", token, Map.of("Last-Event-ID", "2-7"))) {
      assertThat(nextBatch(sse).records().get(0).seq()).isEqualTo(3);
    }
    try (SseReader sse = f.openOut("chat-t", token, Map.of("Last-Event-ID", "garbage!"))) {
      assertThat(sse.status()).isEqualTo(200);
      assertThat(nextBatch(sse).records().get(0).seq()).isEqualTo(1);
    }
  }

  @Test
  @DisplayName(
      "a ping is a keep-alive: sent only after a ping interval with nothing written, never between records that come faster")
  void pingsOnlyWhenIdle() {
    long pingMillis = 500;
    try (var paced =
        new HttpFixture(
            b ->
                b.pingInterval(Duration.ofMillis(pingMillis))
                    .appendRateLimit(100_000, Duration.ofSeconds(1)))) {
      String token = paced.createSession("chat-p").string("publicAccessToken").orElseThrow();
      try (SseReader sse = paced.openOut("chat-p", token, Map.of("Timeout-Seconds", "600"))) {
        // Turn after turn, each sent when the last one ended, for three ping intervals: records
        // far more often than the interval (on a busy machine a gap may still pass it, and a ping
        // then is right). Then nothing, until the idle stream's keep-alive.
        var events = new ArrayList<Event>();
        long busyUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(3 * pingMillis);
        int turns = 0;
        while (System.nanoTime() < busyUntil) {
          turns++;
          assertThat(
                  paced
                      .append("chat-p", token, HttpFixture.submit("chat-p", "u" + turns, "hi"))
                      .status())
              .isEqualTo(200);
          while (true) {
            Event e = sse.next(HttpFixture.WAIT).orElseThrow();
            events.add(e);
            if (e.isBatch() && e.records().stream().anyMatch(WireRecord::isTurnComplete)) {
              break;
            }
          }
        }
        while (true) {
          Event e = sse.next(HttpFixture.WAIT).orElseThrow();
          events.add(e);
          if (e.event().equals("ping")) {
            break;
          }
        }
        // Every ping (the frames' own server times) follows at least a ping interval in which
        // nothing was written; a tail's timestamp is taken before its frame is written. The slack
        // is for the two clocks (the monotonic one that times the interval, the wall one stamped).
        for (int i = 1; i < events.size(); i++) {
          if (events.get(i).event().equals("ping")) {
            long ping = stamp(events.get(i));
            long before = stamp(events.get(i - 1));
            assertThat(ping - before)
                .as("ms between the frame before ping %d and the ping", i)
                .isGreaterThanOrEqualTo(pingMillis - 20);
          }
        }
        assertThat(events.stream().filter(Event::isBatch).count())
            .as("batch frames, with the reply's records")
            .isGreaterThan(3);
      }
    }
  }

  /** A frame's server time: a ping's timestamp, a batch's tail timestamp. */
  private static long stamp(Event e) {
    JsonObject json = e.json();
    JsonObject stamped = e.event().equals("ping") ? json : (JsonObject) json.get("tail");
    return ((dev.durablechat.api.JsonNumber) stamped.get("timestamp")).longValue();
  }

  @Test
  @DisplayName(
      "Timeout-Seconds: with no record for that long the stream ends with data: [DONE]; pings meanwhile")
  void timeout() {
    String token = f.createSession("chat-d").string("publicAccessToken").orElseThrow();
    try (SseReader sse = f.openOut("chat-d", token, Map.of("Timeout-Seconds", "1"))) {
      List<Event> events = sse.untilEnd(Duration.ofSeconds(30));
      assertThat(events).isNotEmpty();
      assertThat(events.get(events.size() - 1).data()).isEqualTo("[DONE]");
      assertThat(events).anySatisfy(e -> assertThat(e.event()).isEqualTo("ping"));
      assertThat(
              events.stream()
                  .filter(e -> e.event().equals("ping"))
                  .findFirst()
                  .orElseThrow()
                  .json()
                  .get("timestamp"))
          .isNotNull();
      assertThat(sse.ended()).isTrue();
    }
  }

  @Test
  @DisplayName("Timeout-Seconds is read tolerantly: 1–600, clamped, default 60 for garbage")
  void timeoutParsing() {
    assertThat(OutStreams.timeoutSeconds(null)).isEqualTo(60);
    assertThat(OutStreams.timeoutSeconds("abc")).isEqualTo(60);
    assertThat(OutStreams.timeoutSeconds("0")).isEqualTo(1);
    assertThat(OutStreams.timeoutSeconds("120")).isEqualTo(120);
    assertThat(OutStreams.timeoutSeconds("99999")).isEqualTo(600);
  }

  @Test
  @DisplayName(
      "X-Peek-Settled: 1 on a settled session answers X-Session-Settled: true, sends what is left and closes")
  void peekSettled() {
    String token = f.createSession("chat-p").string("publicAccessToken").orElseThrow();
    f.append("chat-p", token, HttpFixture.submit("chat-p", "u1", "hi"));
    HttpFixture.await("turn-complete stored", () -> endsWithTurnComplete("chat-p"));
    long last = f.chat.lastEventId("chat-p", StreamKind.OUT);
    try (SseReader sse =
        f.openOut(
            "chat-p",
            token,
            Map.of("X-Peek-Settled", "1", "Last-Event-ID", Long.toString(last - 2)))) {
      assertThat(sse.header("x-session-settled")).isEqualTo("true");
      List<Event> events = sse.untilEnd(Duration.ofSeconds(5));
      assertThat(sse.ended()).isTrue();
      List<WireRecord> records = new ArrayList<>();
      events.stream().filter(Event::isBatch).forEach(e -> records.addAll(e.records()));
      assertThat(records).extracting(WireRecord::seq).containsExactly(last - 1, last);
    }
  }

  @Test
  @DisplayName("X-Session-Settled is false while a turn is in flight")
  void notSettledMidTurn() {
    String token = f.createSession("chat-m").string("publicAccessToken").orElseThrow();
    // A user message and no answer yet: nothing on out, so nothing settled.
    try (SseReader sse =
        f.openOut("chat-m", token, Map.of("X-Peek-Settled", "1", "Timeout-Seconds", "1"))) {
      assertThat(sse.header("x-session-settled")).isEqualTo("false");
    }
  }

  @Test
  @DisplayName(
      "a closed session ends its readers with a synthesized session-closed control record naming the reason, after every stored record")
  void sessionClosed() {
    String token = f.createSession("chat-c").string("publicAccessToken").orElseThrow();
    f.append("chat-c", token, HttpFixture.submit("chat-c", "u1", "hi"));
    HttpFixture.await("turn-complete stored", () -> endsWithTurnComplete("chat-c"));
    long last = f.chat.lastEventId("chat-c", StreamKind.OUT);
    try (SseReader sse = f.openOut("chat-c", token, Map.of())) {
      List<WireRecord> before = sse.recordsUntil(WireRecord::isTurnComplete, HttpFixture.WAIT);
      assertThat(before.get(before.size() - 1).seq()).isEqualTo(last);
      assertThat(
              f.post(
                      "/api/v1/sessions/chat-c/close",
                      HttpFixture.SECRET,
                      "{\"reason\":\"done here\"}")
                  .status())
          .isEqualTo(200);
      List<WireRecord> after =
          sse.recordsUntil(
              r -> r.control().filter("session-closed"::equals).isPresent(), HttpFixture.WAIT);
      WireRecord closed = after.get(after.size() - 1);
      assertThat(closed.body()).isEmpty();
      assertThat(closed.header("session-closed-reason")).contains("done here");
      assertThat(closed.seq()).isGreaterThan(last);
      assertThat(sse.untilEnd(Duration.ofSeconds(5))).noneMatch(Event::isBatch);
      assertThat(sse.ended()).isTrue();
    }
    // A reader that comes later gets everything, then the notice.
    try (SseReader sse = f.openOut("chat-c", token, Map.of())) {
      List<WireRecord> all =
          sse.recordsUntil(
              r -> r.control().filter("session-closed"::equals).isPresent(), HttpFixture.WAIT);
      assertThat(all).extracting(WireRecord::seq).startsWith(1L).isSorted().doesNotHaveDuplicates();
      assertThat(all).hasSize((int) last + 1);
    }
  }

  @Test
  @DisplayName(
      "a reader follows live appends as they come (the agent answers while the stream is open)")
  void live() {
    String token = f.createSession("chat-l").string("publicAccessToken").orElseThrow();
    try (SseReader sse = f.openOut("chat-l", token, Map.of())) {
      for (int i = 1; i <= 3; i++) {
        f.append("chat-l", token, HttpFixture.submit("chat-l", "u" + i, "turn " + i));
        List<WireRecord> records = sse.recordsUntil(WireRecord::isTurnComplete, HttpFixture.WAIT);
        assertThat(records.get(records.size() - 1).header("session-in-event-id"))
            .contains(Integer.toString(i));
      }
    }
  }

  @Test
  @DisplayName(
      "X-Trigger-Stream-Start: latest without Last-Event-ID starts after the newest record")
  void startLatest() {
    String token = f.createSession("chat-n").string("publicAccessToken").orElseThrow();
    f.append("chat-n", token, HttpFixture.submit("chat-n", "u1", "first"));
    HttpFixture.await("turn-complete stored", () -> endsWithTurnComplete("chat-n"));
    long last = f.chat.lastEventId("chat-n", StreamKind.OUT);
    try (SseReader sse = f.openOut("chat-n", token, Map.of("X-Trigger-Stream-Start", "latest"))) {
      f.append("chat-n", token, HttpFixture.submit("chat-n", "u2", "second"));
      List<WireRecord> records = sse.recordsUntil(WireRecord::isTurnComplete, HttpFixture.WAIT);
      assertThat(records.get(0).seq()).isEqualTo(last + 1);
      assertThat(records.get(records.size() - 1).header("session-in-event-id")).contains("2");
    }
  }

  @Test
  @DisplayName("closing the adapter ends the open streams")
  void adapterClose() {
    String token = f.createSession("chat-x").string("publicAccessToken").orElseThrow();
    try (SseReader sse = f.openOut("chat-x", token, Map.of("Timeout-Seconds", "600"))) {
      assertThat(sse.status()).isEqualTo(200);
      f.http.close();
      // Ended by the close: its own timeout is 600 s.
      sse.untilEnd(Duration.ofSeconds(30));
      assertThat(sse.ended()).isTrue();
    }
  }

  @Test
  @DisplayName("S3: the out stream is served at the friendly id too")
  void friendlyId() {
    var created = f.createSession("chat-f");
    String token = created.string("publicAccessToken").orElseThrow();
    String friendly = created.string("id").orElseThrow();
    f.append(friendly, token, HttpFixture.submit("chat-f", "u1", "hi"));
    try (SseReader sse = f.openOut(friendly, token, Map.of())) {
      assertThat(sse.recordsUntil(WireRecord::isTurnComplete, HttpFixture.WAIT)).isNotEmpty();
    }
  }

  @Test
  @DisplayName("an unknown session is a 404 JSON error before any stream starts")
  void unknown() {
    try (SseReader sse = f.openOut("nope", HttpFixture.SECRET, Map.of())) {
      assertThat(sse.status()).isEqualTo(404);
      assertThat(sse.header("access-control-allow-origin")).isEqualTo("*");
    }
  }

  private boolean endsWithTurnComplete(String address) {
    long last = f.chat.lastEventId(address, StreamKind.OUT);
    return last > 0
        && f.chat.readOut(address, last - 1, 1).get(0).event() instanceof OutEvent.TurnComplete;
  }

  private static Event nextBatch(SseReader sse) {
    while (true) {
      Optional<Event> e = sse.next(HttpFixture.WAIT);
      assertThat(e).as("a batch frame").isPresent();
      if (e.get().isBatch()) {
        return e.get();
      }
    }
  }

  private static List<Long> range(long from, long to) {
    var out = new ArrayList<Long>();
    for (long i = from; i <= to; i++) {
      out.add(i);
    }
    return out;
  }
}
