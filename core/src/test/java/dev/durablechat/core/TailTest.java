package dev.durablechat.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.DurableChatException;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.InvalidInputException;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.StreamKind;
import dev.durablechat.storage.memory.MemorySessionStore;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Live tails")
class TailTest {
  private final WatchCountingStore store = new WatchCountingStore(new MemorySessionStore());
  // One thread delivers every tail, so a task queued behind the deliveries is a marker that
  // runs after them all (settle()).
  private final ExecutorService tails = Executors.newSingleThreadExecutor();
  private final Fixture f = new Fixture(store, DurableChat.DEFAULT_MAX_APPEND_BYTES, tails);
  private String runId;

  TailTest() {
    f.newSession("c");
    runId = f.chat.ensureRun("c", RunReason.INITIAL).run().runId();
  }

  @AfterEach
  void close() {
    f.close();
    tails.shutdownNow();
  }

  /**
   * Returns once every delivery that the calls so far set off has run: the appends and requests
   * before it queued their drains on the one delivery thread, and this marker runs after them. So
   * "nothing arrived" after it means nothing was going to, without waiting for a time.
   */
  private void settle() throws Exception {
    tails.submit(() -> {}).get(5, TimeUnit.SECONDS);
  }

  private void out(long n) {
    for (long i = 0; i < n; i++) {
      f.chat.appendOut("c", runId, new OutEvent.TurnComplete(i));
    }
  }

  private static long id(TailItem<?> item) {
    assertThat(item).isInstanceOf(TailItem.Event.class);
    return ((TailItem.Event<?>) item).record().eventId();
  }

  private static List<Long> ids(List<? extends TailItem<?>> items) {
    List<Long> ids = new ArrayList<>();
    items.forEach(i -> ids.add(id(i)));
    return ids;
  }

  @Test
  @DisplayName("follows appends: the stored records first, then each new one as it lands")
  void followsAppends() throws Exception {
    out(2);
    var sub = new TestSubscriber<TailItem<OutEvent>>();
    f.chat.subscribeOut("c", 0).subscribe(sub);
    sub.request(Long.MAX_VALUE);

    assertThat(ids(sub.next(2))).containsExactly(1L, 2L);
    out(3);
    assertThat(ids(sub.next(3))).containsExactly(3L, 4L, 5L);
    settle();
    sub.expectNothing();
  }

  @Test
  @DisplayName(
      "with Runnable::run as the tail's executor, each record reaches the subscriber on the appending thread, before appendOut returns")
  void onTheAppendingThread() {
    out(1);
    var seen = new ArrayList<String>();
    var ids = new ArrayList<Long>();
    f.chat
        .subscribeOut("c", 0, Runnable::run)
        .subscribe(
            new java.util.concurrent.Flow.Subscriber<TailItem<OutEvent>>() {
              @Override
              public void onSubscribe(java.util.concurrent.Flow.Subscription s) {
                s.request(Long.MAX_VALUE);
              }

              @Override
              public void onNext(TailItem<OutEvent> item) {
                seen.add(Thread.currentThread().getName());
                ids.add(id(item));
              }

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onComplete() {}
            });
    // The stored record came with the subscription, on this thread.
    assertThat(ids).containsExactly(1L);
    out(2);
    // No wait: the appends delivered their records themselves.
    assertThat(ids).containsExactly(1L, 2L, 3L);
    assertThat(seen).containsOnly(Thread.currentThread().getName());
  }

  @Test
  @DisplayName("W7: keeps following across a run swap without doing anything")
  void acrossRunSwap() throws Exception {
    var sub = new TestSubscriber<TailItem<OutEvent>>();
    f.chat.subscribeOut("c", 0).subscribe(sub);
    sub.request(10);
    out(1);
    assertThat(id(sub.next())).isEqualTo(1);

    String next = f.chat.endAndContinue("c", runId, RunReason.UPGRADE).winnerRunId();
    f.chat.appendOut("c", next, new OutEvent.UpgradeRequired());

    TailItem<OutEvent> item = sub.next();
    assertThat(id(item)).isEqualTo(2);
    assertThat(((TailItem.Event<OutEvent>) item).record().event())
        .isEqualTo(new OutEvent.UpgradeRequired());
  }

  @Test
  @DisplayName("honours request(n): never more items than requested")
  void backPressure() throws Exception {
    out(5);
    var sub = new TestSubscriber<TailItem<OutEvent>>();
    f.chat.subscribeOut("c", 0).subscribe(sub);

    settle();
    sub.expectNothing();
    sub.request(2);
    assertThat(ids(sub.next(2))).containsExactly(1L, 2L);
    settle();
    sub.expectNothing();

    sub.request(3);
    assertThat(ids(sub.next(3))).containsExactly(3L, 4L, 5L);
    out(1);
    settle();
    sub.expectNothing();

    sub.request(1);
    assertThat(id(sub.next())).isEqualTo(6);
    assertThat(sub.overlapped()).isFalse();
  }

  @Test
  @DisplayName("reads in pages: a backlog larger than a page arrives whole and in order")
  void pages() throws Exception {
    List<OutEvent> batch = new ArrayList<>();
    for (int i = 0; i < Tail.PAGE * 2 + 7; i++) {
      batch.add(new OutEvent.TurnComplete(i));
    }
    f.chat.appendOut("c", runId, batch);
    var sub = new TestSubscriber<TailItem<OutEvent>>();
    f.chat.subscribeOut("c", 0).subscribe(sub);
    sub.request(Long.MAX_VALUE);

    assertThat(ids(sub.next(batch.size())))
        .containsExactlyElementsOf(LongStream.rangeClosed(1, batch.size()).boxed().toList());
  }

  @Test
  @DisplayName("cancel stops delivery and releases the store watch")
  void cancelStops() throws Exception {
    var sub = new TestSubscriber<TailItem<OutEvent>>();
    f.chat.subscribeOut("c", 0).subscribe(sub);
    sub.request(Long.MAX_VALUE);
    out(1);
    assertThat(id(sub.next())).isEqualTo(1);
    assertThat(store.openWatches()).isEqualTo(1);

    sub.cancel();
    awaitNoWatches();
    out(2);

    settle();
    sub.expectNothing();
    assertThat(store.openWatches()).isZero();
  }

  private void awaitNoWatches() throws Exception {
    settle();
    assertThat(store.openWatches()).isZero();
  }

  @Test
  @DisplayName(
      "H5: a reader whose bookmark was trimmed is told it moved, then gets the first kept record")
  void trimmedBookmark() throws Exception {
    out(5);
    store.trim(f.chat.session("c").friendlyId(), StreamKind.OUT, 3);
    var sub = new TestSubscriber<TailItem<OutEvent>>();
    f.chat.subscribeOut("c", 1).subscribe(sub);

    sub.request(1);
    assertThat(sub.next()).isEqualTo(new TailItem.Moved<OutEvent>(1, 4));
    settle();
    sub.expectNothing();
    sub.request(2);
    assertThat(ids(sub.next(2))).containsExactly(4L, 5L);
  }

  @Test
  @DisplayName("invariant 4: resuming from an event id neither loses nor repeats a record")
  void resume() throws Exception {
    out(3);
    var first = new TestSubscriber<TailItem<OutEvent>>();
    f.chat.subscribeOut("c", 0).subscribe(first);
    first.request(3);
    List<Long> seen = new ArrayList<>(ids(first.next(3)));
    first.cancel();
    out(3);

    var resumed = new TestSubscriber<TailItem<OutEvent>>();
    f.chat.subscribeOut("c", seen.get(2)).subscribe(resumed);
    resumed.request(Long.MAX_VALUE);
    seen.addAll(ids(resumed.next(3)));

    assertThat(seen).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
    settle();
    resumed.expectNothing();
  }

  @Test
  @DisplayName("invariant 2: concurrent appenders are delivered gapless, in order, one at a time")
  void concurrentAppenders() throws Exception {
    var sub = new TestSubscriber<TailItem<InEvent>>();
    f.chat.subscribeIn("c", 0).subscribe(sub);
    sub.request(Long.MAX_VALUE);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      var start = new CountDownLatch(1);
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        futures.add(
            pool.submit(
                () -> {
                  start.await();
                  for (int i = 0; i < 25; i++) {
                    f.chat.appendIn("c", new InEvent.Stop(null), null);
                  }
                  return null;
                }));
      }
      start.countDown();
      for (Future<?> future : futures) {
        future.get();
      }
    } finally {
      pool.shutdownNow();
    }

    assertThat(ids(sub.next(100)))
        .containsExactlyElementsOf(LongStream.rangeClosed(1, 100).boxed().toList());
    assertThat(sub.overlapped()).isFalse();
  }

  @Test
  @DisplayName("a non-positive request ends the tail with an error (Reactive Streams 3.9)")
  void badRequest() throws Exception {
    var sub = new TestSubscriber<TailItem<OutEvent>>();
    f.chat.subscribeOut("c", 0).subscribe(sub);

    sub.request(0);

    assertThat(sub.awaitError()).isInstanceOf(IllegalArgumentException.class);
    awaitNoWatches();
  }

  @Test
  @DisplayName("closing the engine ends live tails with an error and releases their watches")
  void engineClose() throws Exception {
    var sub = new TestSubscriber<TailItem<OutEvent>>();
    f.chat.subscribeOut("c", 0).subscribe(sub);
    sub.request(1);
    sub.subscription();

    f.chat.close();

    assertThat(sub.awaitError())
        .isInstanceOf(DurableChatException.class)
        .hasMessageContaining("closed");
    assertThat(store.openWatches()).isZero();
    assertThatThrownBy(() -> f.chat.session("c")).hasMessageContaining("closed");
  }

  @Test
  @DisplayName("a negative bookmark is refused at once")
  void negativeBookmark() {
    assertThatThrownBy(() -> f.chat.subscribeOut("c", -1))
        .isInstanceOf(InvalidInputException.class);
  }
}
