package dev.durablechat.storage.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.durablechat.api.Environment;
import dev.durablechat.api.FencedException;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.core.CreateSessionRequest;
import dev.durablechat.core.DurableChat;
import dev.durablechat.core.TailItem;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The engine hands the records of its {@code out} appends to its live tails (no store read, no
 * decode); on PostgreSQL the store's own wake-up of the same tails comes from another thread (the
 * watch dispatcher), so the two race for every record. Whichever wins, a reader must get the
 * records after its bookmark exactly once, in order, also when it subscribes mid-append (W7,
 * invariant 4), and never a fenced-out run's refused record (invariant 6). The same race on the
 * memory store: core's {@code TailHandoverTest}.
 */
@DisplayName("Live tails on PostgreSQL, handed this node's appends (W7, invariants 2, 4, 6)")
class PostgresTailHandoverTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  private final HikariDataSource pool = pool();
  private final SessionStore store = JdbcStores.sessionStore(pool);
  private final DurableChat chat =
      DurableChat.builder()
          .environment(new Environment("proj", "tail-handover"))
          .sessionStore(store)
          .build();

  @AfterEach
  void close() {
    chat.close();
    store.close();
    pool.close();
  }

  private static HikariDataSource pool() {
    var config = new HikariConfig();
    config.setJdbcUrl(TestPostgres.url());
    config.setMaximumPoolSize(6);
    config.setPoolName("tail-handover");
    return new HikariDataSource(config);
  }

  private String newChat() {
    String chatId = "chat-" + UUID.randomUUID();
    chat.createSession(CreateSessionRequest.builder("agent").externalId(chatId).build());
    return chatId;
  }

  @Test
  @DisplayName(
      "readers that subscribe while three threads append each get every record after their bookmark exactly once, in order")
  void subscribesRaceAppends() throws Exception {
    String chatId = newChat();
    String runId = chat.ensureRun(chatId, RunReason.INITIAL).run().runId();
    int appenders = 3;
    int appends = 60;
    int readers = 8;
    ExecutorService threads = Executors.newFixedThreadPool(appenders);
    var subscribed = new ArrayList<Collector>();
    var bookmarks = new ArrayList<Long>();
    try {
      var start = new CountDownLatch(1);
      // The appenders go on until every reader has subscribed: each subscribe races appends.
      var readersIn = new AtomicBoolean();
      var appended = new AtomicLong();
      var futures = new ArrayList<Future<?>>();
      for (int t = 0; t < appenders; t++) {
        int thread = t;
        futures.add(
            threads.submit(
                () -> {
                  start.await();
                  // Capped, so that a reader slow to subscribe cannot make it run on and on.
                  for (int i = 0; i < appends || (!readersIn.get() && i < 20 * appends); ) {
                    if (i % 10 == 9) {
                      chat.appendOut(
                          chatId, runId, List.of(chunk(thread + "." + i), chunk("b"), chunk("c")));
                      i += 3;
                      appended.addAndGet(3);
                    } else {
                      chat.appendOut(chatId, runId, chunk(thread + "." + i));
                      i++;
                      appended.incrementAndGet();
                    }
                  }
                  return null;
                }));
      }
      start.countDown();
      long step = (long) appenders * appends / (readers + 1);
      for (int r = 0; r < readers; r++) {
        long target = (r + 1) * step;
        await().atMost(WAIT).until(() -> chat.lastEventId(chatId, StreamKind.OUT) >= target);
        long after = r % 3 == 2 ? 0 : chat.lastEventId(chatId, StreamKind.OUT);
        var c = new Collector();
        if (r % 2 == 0) {
          chat.subscribeOut(chatId, after, Runnable::run).subscribe(c);
        } else {
          chat.subscribeOut(chatId, after).subscribe(c);
        }
        subscribed.add(c);
        bookmarks.add(after);
      }
      readersIn.set(true);
      for (Future<?> f : futures) {
        f.get();
      }
      long total = appended.get();
      assertThat(chat.lastEventId(chatId, StreamKind.OUT)).isEqualTo(total);
      chat.appendOut(chatId, runId, chunk("marker"));
      for (int r = 0; r < readers; r++) {
        Collector c = subscribed.get(r);
        await().atMost(WAIT).until(() -> c.ids().contains(total + 1) || c.failure != null);
        assertThat(c.failure).as("reader %s", r).isNull();
        assertThat(c.ids())
            .as("reader %s, subscribed after %s", r, bookmarks.get(r))
            .containsExactlyElementsOf(
                LongStream.rangeClosed(bookmarks.get(r) + 1, total + 1).boxed().toList());
      }
    } finally {
      threads.shutdownNow();
      subscribed.forEach(Collector::cancel);
    }
  }

  @Test
  @DisplayName(
      "invariant 6: a swapped-out run's append is refused and never delivered; the new run's records are")
  void fencedAppendIsNeverDelivered() throws Exception {
    String chatId = newChat();
    String runId = chat.ensureRun(chatId, RunReason.INITIAL).run().runId();
    var c = new Collector();
    chat.subscribeOut(chatId, 0, Runnable::run).subscribe(c);
    chat.appendOut(chatId, runId, chunk("before the swap"));
    String next = chat.endAndContinue(chatId, runId, RunReason.CONTINUATION).winnerRunId();
    assertThatThrownBy(() -> chat.appendOut(chatId, runId, chunk("stale")))
        .isInstanceOf(FencedException.class);
    chat.appendOut(chatId, next, chunk("after the swap"));

    await().atMost(WAIT).until(() -> c.ids().contains(2L));
    assertThat(c.events()).containsExactly(chunk("before the swap"), chunk("after the swap"));
  }

  private static OutEvent chunk(String delta) {
    return OutEvent.Chunk.of(
        new UIMessageChunk(
            JsonObject.builder()
                .put("type", "text-delta")
                .put("id", "t0")
                .put("delta", delta)
                .build()));
  }

  /** Keeps what a tail delivers, asking for everything. */
  private static final class Collector implements Flow.Subscriber<TailItem<OutEvent>> {
    private final List<Long> ids = new ArrayList<>();
    private final List<OutEvent> events = new ArrayList<>();
    private volatile Flow.Subscription subscription;
    volatile Throwable failure;

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      s.request(Long.MAX_VALUE);
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
  }
}
