package dev.durablechat.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.durablechat.api.OutEvent;
import dev.durablechat.api.StreamKind;
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
        everyReaderGotTheReply(readers, chunks);
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
        everyReaderGotTheReply(readers, chunks);
        // The others stay open (Timeout-Seconds 120); the leaver's stream is let go.
        await()
            .atMost(HttpFixture.WAIT)
            .until(() -> f.http.servlet().openStreams() == readerCount - 1);
      } finally {
        readers.forEach(SseReader::close);
      }
    }
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  @DisplayName(
      "a lane that fell behind writes every frame waiting for it to each reader as one write, the frames back to back, each record once and in order")
  void laneBehindWritesOnce() throws Exception {
    int chunks = 50;
    // No ping may come between the frames held up and the test's read of the raw connection.
    try (var f =
        new HttpFixture(b -> b.maxReadersPerSession(100).pingInterval(Duration.ofMinutes(10)))) {
      String token = f.createSession("behind").string("publicAccessToken").orElseThrow();
      String sessionId = f.chat.session("behind").friendlyId();
      var readers = new ArrayList<SseReader>();
      try (var raw = new java.net.Socket("127.0.0.1", f.http.port())) {
        // One raw reader, to see the HTTP chunks (one per write), and enough others to spread.
        raw.getOutputStream()
            .write(
                ("GET /realtime/v1/sessions/behind/out HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        + "Accept: text/event-stream\r\nAuthorization: Bearer "
                        + token
                        + "\r\nTimeout-Seconds: 120\r\n\r\n")
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        var in = new java.io.BufferedInputStream(raw.getInputStream());
        assertThat(RawHttp.line(in)).startsWith("HTTP/1.1 200");
        RawHttp.headers(in);
        for (int i = 0; i < OutStreams.INLINE_READERS; i++) {
          readers.add(f.openOut("behind", token, Map.of("Timeout-Seconds", "120")));
        }
        OutStreams.Hub hub = spreadHub(f, sessionId, OutStreams.INLINE_READERS + 1);
        appendWithLanesHeld(f, hub, "behind", token, chunks);
        // The first HTTP chunk after the lanes resume holds the whole reply: one write.
        String chunk = RawHttp.chunk(in);
        var sse = new java.util.ArrayList<SseReader.Event>();
        for (String block : chunk.split("\n\n")) {
          String event = "";
          String data = "";
          for (String line : block.split("\n")) {
            if (line.startsWith("event: ")) {
              event = line.substring(7);
            } else if (line.startsWith("data: ")) {
              data = line.substring(6);
            }
          }
          sse.add(new SseReader.Event(event, data));
        }
        var records = new ArrayList<WireRecord>();
        sse.forEach(e -> records.addAll(e.records()));
        assertThat(sse)
            .as("frames in the first write after the lanes resume")
            .hasSizeGreaterThan(chunks);
        assertThat(records.get(records.size() - 1).control()).contains("turn-complete");
        LoadTest.assertInOrderOnce(records, chunks);
        // The other readers got the same records, once each, in order.
        everyReaderGotTheReply(readers, chunks);
      } finally {
        readers.forEach(SseReader::close);
      }
    }
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  @DisplayName(
      "a lane that falls half a reader's buffer behind lets its readers go: each follows the stream on its own, no record lost or repeated, and the hub is given up")
  void laneTooFarBehindLetsItsReadersGo() throws Exception {
    int chunks = 100; // about 25 KB of frames, past half of the 16 KiB reader buffer
    try (var f =
        new HttpFixture(
            b ->
                b.maxReadersPerSession(100)
                    .readerBufferBytes(16 * 1024)
                    .pingInterval(Duration.ofMinutes(10)))) {
      String token = f.createSession("far").string("publicAccessToken").orElseThrow();
      String sessionId = f.chat.session("far").friendlyId();
      var readers = new ArrayList<SseReader>();
      try {
        for (int i = 0; i <= OutStreams.INLINE_READERS; i++) {
          readers.add(f.openOut("far", token, Map.of("Timeout-Seconds", "120")));
        }
        OutStreams.Hub hub = spreadHub(f, sessionId, OutStreams.INLINE_READERS + 1);
        appendWithLanesHeld(f, hub, "far", token, chunks);
        everyReaderGotTheReply(readers, chunks);
        // Every reader left the hub (each follows a tail of its own), so the hub was given up.
        HttpFixture.await(
            "the hub given up", () -> f.http.servlet().outStreams().hub(sessionId) == null);
        assertThat(hub.lanes).allMatch(lane -> lane.queued.isEmpty());
      } finally {
        readers.forEach(SseReader::close);
      }
    }
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  @DisplayName(
      "a spread hub wakes its lanes once the tail has handed it an append's records, not on the first of them: the records of one append go out together")
  void lanesWakeAfterTheAppendsRecords() throws Exception {
    try (var f =
        new HttpFixture(b -> b.maxReadersPerSession(100).pingInterval(Duration.ofMinutes(10)))) {
      String token = f.createSession("woken").string("publicAccessToken").orElseThrow();
      String sessionId = f.chat.session("woken").friendlyId();
      var readers = new ArrayList<SseReader>();
      try {
        for (int i = 0; i <= OutStreams.INLINE_READERS; i++) {
          readers.add(f.openOut("woken", token, Map.of("Timeout-Seconds", "120")));
        }
        OutStreams.Hub hub = spreadHub(f, sessionId, OutStreams.INLINE_READERS + 1);
        assertThat(f.append("woken", token, HttpFixture.submit("woken", "u", "count:5")).status())
            .isEqualTo(200);
        everyReaderGotTheReply(readers, 5);
        HttpFixture.await(
            "every lane idle",
            () -> java.util.Arrays.stream(hub.lanes).allMatch(lane -> lane.queued.isEmpty()));
        // The tail's work, as the appending thread runs it: records handed one by one. (These were
        // delivered already: the readers skip them, the lanes still carry them.)
        var records = f.chat.readOut(sessionId, 0, 4);
        var whileHanding = new ArrayList<String>();
        hub.drainHere(
            () -> {
              for (var r : records) {
                hub.onNext(new dev.durablechat.core.TailItem.Event<>(r));
              }
              for (int lane = 0; lane < hub.lanes.length; lane++) {
                whileHanding.add(
                    "lane "
                        + lane
                        + ": "
                        + hub.lanes[lane].queued.size()
                        + " queued, due "
                        + hub.lanes[lane].due.get());
              }
            });
        assertThat(whileHanding)
            .as("no lane woken while the tail hands over")
            .allMatch(line -> line.endsWith(": " + records.size() + " queued, due false"));
        HttpFixture.await(
            "the lanes woken once the tail's work is done",
            () -> java.util.Arrays.stream(hub.lanes).allMatch(lane -> lane.queued.isEmpty()));
      } finally {
        readers.forEach(SseReader::close);
      }
    }
  }

  /**
   * Every reader got the whole reply of {@code chunks} deltas, each record once and in order, all
   * within one deadline.
   */
  private static void everyReaderGotTheReply(List<SseReader> readers, int chunks) {
    long deadline = System.nanoTime() + DEADLINE.toNanos();
    for (SseReader r : readers) {
      Duration left = Duration.ofNanos(Math.max(1, deadline - System.nanoTime()));
      LoadTest.assertInOrderOnce(r.recordsUntil(WireRecord::isTurnComplete, left), chunks);
    }
  }

  /** Waits until the session's hub has spread over its lanes with that many readers on them. */
  private static OutStreams.Hub spreadHub(HttpFixture f, String sessionId, int readers) {
    OutStreams streams = f.http.servlet().outStreams();
    await()
        .atMost(HttpFixture.WAIT)
        .until(
            () -> {
              OutStreams.Hub hub = streams.hub(sessionId);
              return hub != null
                  && hub.spread
                  && java.util.Arrays.stream(hub.lanes).mapToInt(lane -> lane.members.size()).sum()
                      == readers;
            });
    return streams.hub(sessionId);
  }

  /**
   * Appends a {@code count:N} message with every lane of the hub held up, and waits until the whole
   * reply, turn-complete included, is queued for every lane (the hand-over to the hub comes just
   * after the store append: a stored turn-complete is not yet a queued one).
   */
  private static void appendWithLanesHeld(
      HttpFixture f, OutStreams.Hub hub, String chatId, String token, int chunks) {
    String sessionId = f.chat.session(chatId).friendlyId();
    holdLanes(
        hub,
        0,
        () -> {
          assertThat(
                  f.append(chatId, token, HttpFixture.submit(chatId, "u", "count:" + chunks))
                      .status())
              .isEqualTo(200);
          HttpFixture.await(
              "the whole reply, turn-complete included, waiting for every lane",
              () -> {
                long last = f.chat.lastEventId(sessionId, StreamKind.OUT);
                return last > 0
                    && f.chat.readOut(sessionId, last - 1, 1).get(0).event()
                        instanceof OutEvent.TurnComplete
                    && java.util.Arrays.stream(hub.lanes)
                        .allMatch(lane -> lane.queued.size() == last);
              });
        });
  }

  /** Runs the action with every lane of the hub held (its tasks wait for the lane's lock). */
  private static void holdLanes(OutStreams.Hub hub, int lane, Runnable action) {
    if (lane == hub.lanes.length) {
      action.run();
      return;
    }
    synchronized (hub.lanes[lane].lock) {
      holdLanes(hub, lane + 1, action);
    }
  }
}
