package dev.durablechat.storage.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.durablechat.api.Environment;
import dev.durablechat.api.FencedException;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.core.CreateSessionRequest;
import dev.durablechat.core.CreatedSession;
import dev.durablechat.core.DurableChat;
import dev.durablechat.core.EnsuredRun;
import dev.durablechat.core.SwapResult;
import dev.durablechat.core.TailItem;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Two {@link DurableChat} engines in one environment, each on its own session store over its own
 * connection pool, against one PostgreSQL database: two "nodes". The engine's guarantees must hold
 * across them exactly as within one (design "Scale-out"). {@link PostgresNodesTest} runs the same
 * races one level down, on the stores alone.
 */
@DisplayName("two engines on one PostgreSQL behave as one engine")
class PostgresEngineNodesTest {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresEngineNodesTest.class);
  static final Environment ENV = new Environment("proj", "engine-nodes");

  /**
   * Appends per appender thread; 8 threads in all. The full figure is 10,000 (run it with
   * {@code -Ddurablechat.jdbc.engineAppendsPerThread=10000}); the default keeps the class quick.
   */
  static final int APPENDS_PER_THREAD =
      Integer.getInteger("durablechat.jdbc.engineAppendsPerThread", 500);

  /**
   * A guard against a hang, not a deadline the race is expected to meet: far beyond anything
   * measured at load 20, and longer for the full 8 x 10,000.
   */
  static final long RACE_SECONDS = 600 + APPENDS_PER_THREAD / 10;

  /**
   * How long a node may take to see another node's append before the tail test fails: far beyond
   * any scheduling delay, far below node B's minute of polling.
   */
  static final long PROMPT_MILLIS = 15_000;

  static HikariDataSource poolA;
  static HikariDataSource poolB;
  static SessionStore storeA;
  static SessionStore storeB;
  static DurableChat nodeA;
  static DurableChat nodeB;
  static ExecutorService racers;

  @BeforeAll
  static void open() {
    poolA = pool("a");
    poolB = pool("b");
    storeA = JdbcStores.sessionStore(poolA);
    // B would poll only once a minute: a prompt wake-up on B can only come from NOTIFY.
    storeB = JdbcStores.sessionStore(poolB, Duration.ofMinutes(1));
    nodeA = DurableChat.builder().environment(ENV).sessionStore(storeA).build();
    nodeB = DurableChat.builder().environment(ENV).sessionStore(storeB).build();
    racers = Executors.newFixedThreadPool(32);
  }

  @AfterAll
  static void close() {
    if (racers != null) {
      racers.shutdownNow();
    }
    for (AutoCloseable c : new AutoCloseable[] {nodeA, nodeB, storeA, storeB, poolA, poolB}) {
      if (c != null) {
        try {
          c.close();
        } catch (Exception e) {
          LOG.warn("closing {} failed", c, e);
        }
      }
    }
  }

  /** A small pool of its own: 4 connections (one of them LISTENs once a tail watches). */
  private static HikariDataSource pool(String node) {
    var config = new HikariConfig();
    config.setJdbcUrl(TestPostgres.url());
    config.setMaximumPoolSize(4);
    config.setPoolName("engine-node-" + node);
    config.addDataSourceProperty("reWriteBatchedInserts", "true");
    return new HikariDataSource(config);
  }

  static DurableChat node(int i) {
    return i % 2 == 0 ? nodeA : nodeB;
  }

  /** Runs {@code n} tasks released at once; their results in task order. */
  static <T> List<T> race(int n, IntFunction<Callable<T>> task) throws Exception {
    var start = new CountDownLatch(1);
    var futures = new ArrayList<Future<T>>();
    for (int i = 0; i < n; i++) {
      Callable<T> c = task.apply(i);
      futures.add(
          racers.submit(
              () -> {
                start.await();
                return c.call();
              }));
    }
    start.countDown();
    var results = new ArrayList<T>();
    for (Future<T> f : futures) {
      results.add(f.get(RACE_SECONDS, TimeUnit.SECONDS));
    }
    return results;
  }

  static String newSession() {
    return nodeA
        .createSession(CreateSessionRequest.builder("agent").build())
        .session()
        .friendlyId();
  }

  static byte[] submit(String chatId, String messageId) {
    return ("{\"kind\":\"message\",\"payload\":{\"chatId\":\""
            + chatId
            + "\",\"trigger\":\"submit-message\",\"message\":{\"id\":\""
            + messageId
            + "\",\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":\"hi\"}]}}}")
        .getBytes(StandardCharsets.UTF_8);
  }

  static OutEvent.Chunk chunk(String partId) {
    return new OutEvent.Chunk(
        UIMessageChunk.parse("{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"" + partId + "\"}"),
        partId);
  }

  static long count(String sql, String... args) throws SQLException {
    try (Connection conn = TestPostgres.connect();
        PreparedStatement ps = conn.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setString(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  @Test
  @DisplayName(
      "32 racing creators on two engines get one session, then racing ensure-runs one run"
          + " (invariant 1)")
  void racingCreatorsAndEnsureRuns() throws Exception {
    String chatId = "chat-" + UUID.randomUUID();
    List<CreatedSession> created =
        race(
            32,
            i ->
                () ->
                    node(i)
                        .createSession(
                            CreateSessionRequest.builder("agent").externalId(chatId).build()));

    assertThat(created).filteredOn(CreatedSession::created).hasSize(1);
    String friendlyId =
        created.stream()
            .filter(CreatedSession::created)
            .findFirst()
            .orElseThrow()
            .session()
            .friendlyId();
    assertThat(created).extracting(c -> c.session().friendlyId()).containsOnly(friendlyId);
    assertThat(count("SELECT COUNT(*) FROM dc_sessions WHERE external_id = ?", chatId))
        .isEqualTo(1);
    assertThat(nodeB.session(chatId).friendlyId()).isEqualTo(friendlyId);

    // Half address the session by its external id, half by its friendly id (S3).
    List<EnsuredRun> ensured =
        race(32, i -> () -> node(i).ensureRun(i % 4 < 2 ? chatId : friendlyId, RunReason.INITIAL));
    assertThat(ensured).filteredOn(EnsuredRun::started).hasSize(1);
    String runId =
        ensured.stream().filter(EnsuredRun::started).findFirst().orElseThrow().run().runId();
    assertThat(ensured).extracting(e -> e.run().runId()).containsOnly(runId);
    assertThat(nodeA.runs(chatId)).extracting(SessionRun::runId).containsExactly(runId);
    assertThat(count("SELECT COUNT(*) FROM dc_session_runs WHERE session_id = ?", friendlyId))
        .isEqualTo(1);
    assertThat(nodeB.session(friendlyId).currentRunId()).isEqualTo(runId);
  }

  @Test
  @DisplayName(
      "8 racing appenders on two engines, on in and out, get gapless event ids and lose nothing"
          + " (invariant 2)")
  void racingAppenders() throws Exception {
    String id = newSession();
    String runId = nodeB.ensureRun(id, RunReason.INITIAL).run().runId();
    int threads = 8;
    // Threads 0-3 append to in, 4-7 to out; even ones through node A, odd ones through node B.
    long started = System.nanoTime();
    List<long[]> ids =
        race(
            threads,
            t ->
                () -> {
                  DurableChat node = node(t);
                  long[] mine = new long[APPENDS_PER_THREAD];
                  for (int j = 0; j < APPENDS_PER_THREAD; j++) {
                    String part = "p-" + t + "-" + j;
                    mine[j] =
                        t < 4
                            ? node.appendIn(id, submit(id, "m-" + t + "-" + j), part).eventId()
                            : node.appendOut(id, runId, chunk(part)).eventId();
                  }
                  return mine;
                });
    double seconds = (System.nanoTime() - started) / 1e9;
    long total = (long) threads * APPENDS_PER_THREAD;
    LOG.info(
        "engine racing appenders: {} appends (8 x {}) through 2 engines in {} s ({} appends/s)",
        total,
        APPENDS_PER_THREAD,
        String.format("%.1f", seconds),
        Math.round(total / seconds));

    long perStream = 4L * APPENDS_PER_THREAD;
    assertThat(nodeA.lastEventId(id, StreamKind.IN)).isEqualTo(perStream);
    assertThat(nodeB.lastEventId(id, StreamKind.OUT)).isEqualTo(perStream);

    // Both streams, read back through the other node than half of their writers: 1..N, no gap.
    List<String> inIds = new ArrayList<>();
    for (StreamRecord<InEvent> r : readAll(after -> nodeB.readIn(id, after, 2_000))) {
      assertThat(r.eventId()).isEqualTo(inIds.size() + 1L);
      inIds.add(((InEvent.Message) r.event()).payload().message().id());
    }
    List<String> outIds = new ArrayList<>();
    for (StreamRecord<OutEvent> r : readAll(after -> nodeA.readOut(id, after, 2_000))) {
      assertThat(r.eventId()).isEqualTo(outIds.size() + 1L);
      outIds.add(((OutEvent.Chunk) r.event()).partId());
    }
    assertThat(inIds).hasSize((int) perStream).doesNotHaveDuplicates();
    assertThat(outIds).hasSize((int) perStream).doesNotHaveDuplicates();
    // The in part ids are the store's dedupe keys: every one landed once.
    assertThat(
            count(
                "SELECT COUNT(DISTINCT part_id) FROM dc_records"
                    + " WHERE session_id = ? AND stream = 'in'",
                id))
        .isEqualTo(perStream);

    // Each thread's records landed in its own order, under the ids it was told.
    for (int t = 0; t < threads; t++) {
      long[] mine = ids.get(t);
      List<String> stream = t < 4 ? inIds : outIds;
      for (int j = 0; j < mine.length; j++) {
        String expected = (t < 4 ? "m-" : "p-") + t + "-" + j;
        assertThat(stream.get((int) mine[j] - 1)).isEqualTo(expected);
        if (j > 0) {
          assertThat(mine[j]).isGreaterThan(mine[j - 1]);
        }
      }
    }
  }

  interface Page<E> {
    List<StreamRecord<E>> after(long eventId);
  }

  static <E> List<StreamRecord<E>> readAll(Page<E> page) {
    var all = new ArrayList<StreamRecord<E>>();
    long after = 0;
    while (true) {
      List<StreamRecord<E>> next = page.after(after);
      if (next.isEmpty()) {
        return all;
      }
      all.addAll(next);
      after = next.get(next.size() - 1).eventId();
    }
  }

  @Test
  @DisplayName(
      "of racing end-and-continues on two engines exactly one swaps, and every loser is fenced"
          + " out (invariants 5 and 6)")
  void racingSwaps() throws Exception {
    String id = newSession();
    String current = nodeA.ensureRun(id, RunReason.INITIAL).run().runId();
    nodeA.appendOut(id, current, chunk("before"));
    for (int round = 1; round <= 4; round++) {
      String calling = current;
      List<SwapResult> results =
          race(16, i -> () -> node(i).endAndContinue(id, calling, RunReason.CONTINUATION));

      List<SwapResult> swapped = results.stream().filter(SwapResult::swapped).toList();
      assertThat(swapped).as("winners of round %s", round).hasSize(1);
      String winner = swapped.get(0).winnerRunId();
      assertThat(winner).isNotEqualTo(calling);
      assertThat(results).extracting(SwapResult::winnerRunId).containsOnly(winner);
      assertThat(results)
          .filteredOn(r -> !r.swapped())
          .hasSize(15)
          .allSatisfy(r -> assertThat(r.previousRunId()).isEqualTo(calling));

      // A loser still holding the calling run writes nothing, on either node (invariant 6).
      long before = nodeA.lastEventId(id, StreamKind.OUT);
      for (DurableChat node : List.of(nodeA, nodeB)) {
        assertThatThrownBy(() -> node.appendOut(id, calling, chunk("stale")))
            .isInstanceOf(FencedException.class);
      }
      assertThat(nodeB.lastEventId(id, StreamKind.OUT)).isEqualTo(before);
      // The winner writes, through the other node as well.
      assertThat(node(round).appendOut(id, winner, chunk("round-" + round)).eventId())
          .isEqualTo(before + 1);
      current = winner;
    }

    List<SessionRun> runs = nodeB.runs(id);
    assertThat(runs).hasSize(5);
    assertThat(runs.get(4).runId()).isEqualTo(current);
    assertThat(runs.get(4).isRunning()).isTrue();
    assertThat(runs.subList(0, 4))
        .allSatisfy(run -> assertThat(run.endReason()).isEqualTo("superseded"));
    assertThat(count("SELECT COUNT(*) FROM dc_session_runs WHERE session_id = ?", id)).isEqualTo(5);
    assertThat(readAll(after -> nodeA.readOut(id, after, 100)))
        .extracting(r -> ((OutEvent.Chunk) r.event()).partId())
        .containsExactly("before", "round-1", "round-2", "round-3", "round-4");
  }

  @Test
  @DisplayName(
      "a live tail on engine B gets engine A's appends through NOTIFY, across a run"
          + " swap, in order with nothing missing or repeated (W7)")
  void tailAcrossNodes() throws Exception {
    String id = newSession();
    String run0 = nodeA.ensureRun(id, RunReason.INITIAL).run().runId();
    nodeA.appendOut(id, run0, chunk("old-1"));
    nodeA.appendOut(id, run0, chunk("old-2"));

    var subscriber = new Collector();
    nodeB.subscribeOut(id, 1).subscribe(subscriber);
    try {
      subscriber.awaitSubscribed();
      // The reader resumes after event id 1: the first item is 2 (W7).
      assertThat(subscriber.next().record().eventId()).isEqualTo(2);

      String run = run0;
      for (int i = 1; i <= 12; i++) {
        if (i == 7) {
          SwapResult swap = nodeA.endAndContinue(id, run, RunReason.UPGRADE);
          assertThat(swap.swapped()).isTrue();
          run = swap.winnerRunId();
        }
        String part = "live-" + i;
        long eventId = nodeA.appendOut(id, run, chunk(part)).eventId();
        TailItem.Event<OutEvent> item = subscriber.next();
        assertThat(item.record().eventId()).isEqualTo(eventId).isEqualTo(i + 2L);
        assertThat(((OutEvent.Chunk) item.record().event()).partId()).isEqualTo(part);
      }
      // A batch through A arrives whole and in order.
      var batch = new ArrayList<OutEvent>();
      for (int i = 0; i < 20; i++) {
        batch.add(chunk("batch-" + i));
      }
      long last = nodeA.appendOut(id, run, batch).lastEventId();
      for (int i = 0; i < 20; i++) {
        TailItem.Event<OutEvent> item = subscriber.next();
        assertThat(item.record().eventId()).isEqualTo(15L + i);
        assertThat(((OutEvent.Chunk) item.record().event()).partId()).isEqualTo("batch-" + i);
      }
      assertThat(last).isEqualTo(34);

      // Nothing repeated afterwards, and the tail is still live: the next item is a marker
      // appended now, which a repeat would have come before.
      long marker = nodeA.appendOut(id, run, chunk("marker")).eventId();
      TailItem.Event<OutEvent> item = subscriber.next();
      assertThat(item.record().eventId()).isEqualTo(marker).isEqualTo(35);
      assertThat(((OutEvent.Chunk) item.record().event()).partId()).isEqualTo("marker");
      assertThat(subscriber.items).isEmpty();
      assertThat(subscriber.error).isNull();
    } finally {
      subscriber.cancel();
    }
  }

  /** Requests everything; fails the test on anything but a record within the prompt bound. */
  static final class Collector implements Flow.Subscriber<TailItem<OutEvent>> {
    final BlockingQueue<TailItem<OutEvent>> items = new LinkedBlockingQueue<>();
    final CountDownLatch subscribed = new CountDownLatch(1);
    volatile Flow.Subscription subscription;
    volatile Throwable error;

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      subscribed.countDown();
      s.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(TailItem<OutEvent> item) {
      items.add(item);
    }

    @Override
    public void onError(Throwable t) {
      error = t;
    }

    @Override
    public void onComplete() {
      error = new AssertionError("a live tail must not complete");
    }

    void awaitSubscribed() throws InterruptedException {
      assertThat(subscribed.await(5, TimeUnit.SECONDS)).as("subscribed within 5 s").isTrue();
    }

    TailItem.Event<OutEvent> next() throws InterruptedException {
      TailItem<OutEvent> item = items.poll(PROMPT_MILLIS, TimeUnit.MILLISECONDS);
      assertThat(error).isNull();
      assertThat(item).as("a record within %s ms", PROMPT_MILLIS).isNotNull();
      assertThat(item).isInstanceOf(TailItem.Event.class);
      return (TailItem.Event<OutEvent>) item;
    }

    void cancel() {
      Flow.Subscription s = subscription;
      if (s != null) {
        s.cancel();
      }
    }
  }
}
