package dev.durablechat.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.durablechat.api.FencedException;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.api.spi.AppendResult;
import dev.durablechat.api.spi.NewRecord;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoredRecord;
import dev.durablechat.storage.memory.MemorySessionStore;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.LongStream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * An {@code out} append on this node hands its records to the node's live tails, which then neither
 * read them back from the store nor decode them; the store stays the one source of order. These
 * tests race appends against subscribes and check what the hand-over must never change: W7 and
 * invariant 4 (after N, exactly N+1.. in order, none lost or repeated, also for a reader that
 * subscribes mid-append), invariant 6 (a fenced-out run's refused append is never delivered) and
 * invariant 2 (concurrent appenders, gapless). {@code PostgresTailHandoverTest} in storage-jdbc
 * runs the race on PostgreSQL.
 */
@DisplayName("Live tails handed the records of this node's appends (W7, invariants 2, 4, 6)")
class TailHandoverTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  private final CountingReads store = new CountingReads(new MemorySessionStore());
  private final Fixture f = new Fixture(store, DurableChat.DEFAULT_MAX_APPEND_BYTES);
  private final String runId;

  TailHandoverTest() {
    f.newSession("c");
    runId = f.chat.ensureRun("c", RunReason.INITIAL).run().runId();
  }

  @AfterEach
  void close() {
    f.close();
  }

  @Test
  @DisplayName(
      "readers that subscribe while three threads append each get every record after their bookmark exactly once, in order (W7, invariants 2 and 4)")
  void subscribesRaceAppends() throws Exception {
    HandoverRace.run(f.chat, "c", runId, 300, 12);
  }

  @Test
  @DisplayName(
      "an append that lands first but hands its record over last: the tail reads the gap from the store rather than skip it (invariant 4)")
  void handOverOutOfOrder() throws Exception {
    var received = new Collector(Long.MAX_VALUE);
    f.chat.subscribeOut("c", 0, Runnable::run).subscribe(received);
    ExecutorService first = Executors.newSingleThreadExecutor();
    try {
      // The first append's record lands (event id 1), then its thread stops before the hand-over.
      Future<?> landed =
          first.submit(
              () -> {
                store.pauseAfterAppend.set(Thread.currentThread());
                f.chat.appendOut("c", runId, chunk("first"));
                return null;
              });
      await().atMost(WAIT).until(() -> store.paused.getCount() == 0);
      assertThat(received.ids()).as("nothing handed over yet").isEmpty();
      // The second lands after it (event id 2) and is handed over at once, before the first.
      f.chat.appendOut("c", runId, chunk("second"));
      assertThat(received.ids()).containsExactly(1L, 2L);
      store.resume.countDown();
      landed.get();
      f.chat.appendOut("c", runId, chunk("marker"));
      assertThat(received.ids()).containsExactly(1L, 2L, 3L);
      assertThat(received.events())
          .containsExactly(chunk("first"), chunk("second"), chunk("marker"));
    } finally {
      store.resume.countDown();
      first.shutdownNow();
    }
  }

  @Test
  @DisplayName(
      "a caught-up tail is handed each append's records: no store read per record, and the events are the ones appended")
  void noStoreReadPerRecord() throws Exception {
    var received = new Collector(Long.MAX_VALUE);
    f.chat.subscribeOut("c", 0, Runnable::run).subscribe(received);
    int readsAfterCatchUp = store.reads.get();

    List<OutEvent> appended = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      OutEvent e = chunk("d" + i);
      appended.add(e);
      f.chat.appendOut("c", runId, e);
    }
    // A batch of three in one append: handed over as three records, in order.
    List<OutEvent> batch = List.of(chunk("x"), chunk("y"), new OutEvent.TurnComplete(7));
    f.chat.appendOut("c", runId, batch);
    appended.addAll(batch);

    assertThat(received.ids()).containsExactlyElementsOf(range(1, 53));
    assertThat(received.events()).containsExactlyElementsOf(appended);
    assertThat(store.reads.get()).as("store reads after the catch-up").isEqualTo(readsAfterCatchUp);
    // What a reader reading the store gets is the same: the hand-over delivers what is stored.
    assertThat(f.chat.readOut("c", 0, 100).stream().map(StreamRecord::event).toList())
        .containsExactlyElementsOf(appended);
  }

  @Test
  @DisplayName(
      "invariant 6: the append of a run that was swapped out is refused and never delivered; the new run's records are")
  void fencedAppendIsNeverDelivered() throws Exception {
    var received = new Collector(Long.MAX_VALUE);
    f.chat.subscribeOut("c", 0, Runnable::run).subscribe(received);
    f.chat.appendOut("c", runId, chunk("before the swap"));
    String next = f.chat.endAndContinue("c", runId, RunReason.CONTINUATION).winnerRunId();

    assertThatThrownBy(() -> f.chat.appendOut("c", runId, chunk("stale")))
        .isInstanceOf(FencedException.class);
    // The marker: appended after the refused one, so the refused one would have come first.
    f.chat.appendOut("c", next, chunk("after the swap"));

    await().atMost(WAIT).until(() -> received.ids().contains(2L));
    assertThat(received.events())
        .containsExactly(chunk("before the swap"), chunk("after the swap"));
  }

  @Test
  @DisplayName(
      "a subscriber that asks for one record at a time while many are appended gets all of them in order, once (hand-overs past its demand are dropped, the store has them)")
  void slowSubscriber() throws Exception {
    var received = new Collector(1);
    f.chat.subscribeOut("c", 0, Runnable::run).subscribe(received);
    int total = 3 * Tail.PAGE;
    for (int i = 0; i < total; i++) {
      f.chat.appendOut("c", runId, chunk("n" + i));
      if (i % 7 == 0) {
        received.request(1);
      }
    }
    received.request(Long.MAX_VALUE);
    await().atMost(WAIT).until(() -> received.ids().size() >= total);
    f.chat.appendOut("c", runId, chunk("marker"));
    await().atMost(WAIT).until(() -> received.ids().contains(total + 1L));
    assertThat(received.ids()).containsExactlyElementsOf(range(1, total + 1));
  }

  @Test
  @DisplayName(
      "two engines on one store: an append through one wakes the other's tail (the hand-over of one engine never silences another's)")
  void anotherEngineOnTheSameStore() throws Exception {
    try (DurableChat other =
        DurableChat.builder().environment(Fixture.ENV).sessionStore(store).build()) {
      var received = new Collector(Long.MAX_VALUE);
      f.chat.subscribeOut("c", 0, Runnable::run).subscribe(received);
      var otherReceived = new Collector(Long.MAX_VALUE);
      other.subscribeOut("c", 0, Runnable::run).subscribe(otherReceived);
      for (int i = 0; i < 20; i++) {
        (i % 2 == 0 ? other : f.chat).appendOut("c", runId, chunk("n" + i));
      }
      await().atMost(WAIT).until(() -> received.ids().size() == 20);
      await().atMost(WAIT).until(() -> otherReceived.ids().size() == 20);
      assertThat(received.ids()).containsExactlyElementsOf(range(1, 20));
      assertThat(otherReceived.ids()).containsExactlyElementsOf(range(1, 20));
    }
  }

  @Test
  @DisplayName(
      "tails on the engine's own executor are handed the records too, each delivered once in order")
  void onTheEnginesExecutor() throws Exception {
    var received = new Collector(Long.MAX_VALUE);
    f.chat.subscribeOut("c", 0).subscribe(received);
    for (int i = 0; i < 100; i++) {
      f.chat.appendOut("c", runId, chunk("n" + i));
    }
    await().atMost(WAIT).until(() -> received.ids().size() >= 100);
    f.chat.appendOut("c", runId, chunk("marker"));
    await().atMost(WAIT).until(() -> received.ids().contains(101L));
    assertThat(received.ids()).containsExactlyElementsOf(range(1, 101));
  }

  static OutEvent chunk(String delta) {
    return OutEvent.Chunk.of(
        new UIMessageChunk(
            JsonObject.builder()
                .put("type", "text-delta")
                .put("id", "t0")
                .put("delta", delta)
                .build()));
  }

  static List<Long> range(long from, long to) {
    return LongStream.rangeClosed(from, to).boxed().toList();
  }

  /**
   * The race, for any store: at least {@code appends} records by each of three appender threads
   * (single records and batches of three), who go on until {@code readers} readers have subscribed
   * one after another, each after the event id the stream had reached then (a reader joining
   * mid-append, as {@code X-Trigger-Stream-Start: latest} does) or from 0, half on the appending
   * thread and half on the engine's executor. Every reader must get exactly the records after its
   * bookmark, in order, up to a marker appended once the race is over.
   */
  static final class HandoverRace {
    private HandoverRace() {}

    static void run(DurableChat chat, String address, String runId, int appends, int readers)
        throws Exception {
      int appenders = 3;
      ExecutorService threads = Executors.newFixedThreadPool(appenders);
      var start = new CountDownLatch(1);
      // The appenders go on until every reader has subscribed (up to a cap): subscribes race
      // appends.
      var readersIn = new AtomicBoolean();
      var appended = new AtomicLong();
      var subscribed = new ArrayList<Collector>();
      var bookmarks = new ArrayList<Long>();
      try {
        var futures = new ArrayList<Future<?>>();
        for (int t = 0; t < appenders; t++) {
          int thread = t;
          futures.add(
              threads.submit(
                  () -> {
                    start.await();
                    // Capped, so that a reader slow to subscribe cannot fill the heap.
                    for (int i = 0; i < appends || (!readersIn.get() && i < 20 * appends); ) {
                      if (i % 10 == 9 && i + 3 <= appends) {
                        chat.appendOut(
                            address,
                            runId,
                            List.of(chunk(thread + "." + i), chunk("b"), chunk("c")));
                        i += 3;
                        appended.addAndGet(3);
                      } else {
                        chat.appendOut(address, runId, chunk(thread + "." + i));
                        i++;
                        appended.incrementAndGet();
                      }
                    }
                    return null;
                  }));
        }
        start.countDown();
        long step = Math.max(1, (long) appenders * appends / (readers + 1));
        for (int r = 0; r < readers; r++) {
          // Spread the readers over the stream: wait for it to grow a little between them.
          long target = (r + 1) * step;
          await().atMost(WAIT).until(() -> chat.lastEventId(address, StreamKind.OUT) >= target);
          long after = r % 3 == 2 ? 0 : chat.lastEventId(address, StreamKind.OUT);
          var c = new Collector(Long.MAX_VALUE);
          if (r % 2 == 0) {
            chat.subscribeOut(address, after, Runnable::run).subscribe(c);
          } else {
            chat.subscribeOut(address, after).subscribe(c);
          }
          subscribed.add(c);
          bookmarks.add(after);
        }
        readersIn.set(true);
        for (Future<?> future : futures) {
          future.get();
        }
        long total = appended.get();
        long last = chat.lastEventId(address, StreamKind.OUT);
        assertThat(last).as("invariant 2: gapless under concurrent appenders").isEqualTo(total);
        chat.appendOut(address, runId, chunk("marker"));
        for (int r = 0; r < subscribed.size(); r++) {
          Collector c = subscribed.get(r);
          long after = bookmarks.get(r);
          await().atMost(WAIT).until(() -> c.ids().contains(total + 1) || c.failure() != null);
          assertThat(c.failure()).as("reader %s", r).isNull();
          assertThat(c.ids())
              .as("reader %s, subscribed after %s", r, after)
              .containsExactlyElementsOf(range(after + 1, total + 1));
        }
      } finally {
        threads.shutdownNow();
        subscribed.forEach(Collector::cancel);
      }
    }
  }

  /** Keeps what a tail delivers; asks for {@code initial} at first. */
  static final class Collector implements Flow.Subscriber<TailItem<OutEvent>> {
    private final long initial;
    private final List<Long> ids = new ArrayList<>();
    private final List<OutEvent> events = new ArrayList<>();
    private volatile Flow.Subscription subscription;
    private volatile Throwable failure;

    Collector(long initial) {
      this.initial = initial;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      s.request(initial);
    }

    @Override
    public synchronized void onNext(TailItem<OutEvent> item) {
      if (item instanceof TailItem.Event<OutEvent> e) {
        ids.add(e.record().eventId());
        events.add(e.record().event());
      } else {
        failure = new AssertionError("unexpected " + item);
      }
    }

    @Override
    public void onError(Throwable t) {
      failure = t;
    }

    @Override
    public void onComplete() {}

    void request(long n) {
      subscription.request(n);
    }

    void cancel() {
      Flow.Subscription s = subscription;
      if (s != null) {
        s.cancel();
      }
    }

    synchronized List<Long> ids() {
      return List.copyOf(ids);
    }

    synchronized List<OutEvent> events() {
      return List.copyOf(events);
    }

    Throwable failure() {
      return failure;
    }
  }

  /**
   * The real memory store, counting the reads of a stream, and able to stop one thread after its
   * append landed, before the engine sees the answer. Every call goes to the store.
   */
  static final class CountingReads extends ForwardingSessionStore {
    final AtomicInteger reads = new AtomicInteger();
    final AtomicReference<Thread> pauseAfterAppend = new AtomicReference<>();
    final CountDownLatch paused = new CountDownLatch(1);
    final CountDownLatch resume = new CountDownLatch(1);

    CountingReads(SessionStore delegate) {
      super(delegate);
    }

    @Override
    public AppendResult append(
        String sessionId,
        StreamKind stream,
        List<NewRecord> records,
        @Nullable String fencingRunId,
        Instant now) {
      AppendResult result = delegate.append(sessionId, stream, records, fencingRunId, now);
      if (pauseAfterAppend.get() == Thread.currentThread()) {
        paused.countDown();
        try {
          resume.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return result;
    }

    @Override
    public List<StoredRecord> read(String sessionId, StreamKind stream, long afterSeq, int limit) {
      reads.incrementAndGet();
      return delegate.read(sessionId, stream, afterSeq, limit);
    }
  }
}
