package dev.durablechat.storage.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.durablechat.api.Environment;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.RunConflictException;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.TriggerConfig;
import dev.durablechat.api.spi.CreateOutcome;
import dev.durablechat.api.spi.NewRecord;
import dev.durablechat.api.spi.NewSession;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoreCapability;
import dev.durablechat.api.spi.StoreConfig;
import dev.durablechat.api.spi.StoredRecord;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Two store instances on one PostgreSQL stand for two nodes: every guarantee must hold across them
 * (SHARED_ACROSS_PROCESSES). {@link PostgresEngineNodesTest} runs the same races through two
 * engines.
 */
@DisplayName("two jdbc stores on one PostgreSQL behave as one store")
class PostgresNodesTest {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresNodesTest.class);
  static final Environment ENV = new Environment("proj", "nodes");
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  /**
   * Appends per appender thread; 8 threads in all, half through each node. Enough for every thread
   * to interleave with every other many times; the old 2,500 (20,000 appends) outlasted the race's
   * hang guard on a machine at load 20. Raise it with {@code -Ddurablechat.jdbc.appendsPerThread}.
   */
  static final int APPENDS_PER_THREAD =
      Integer.getInteger("durablechat.jdbc.appendsPerThread", 500);

  /**
   * Not a deadline the race is expected to meet but a guard against a hang (a lost row lock): ten
   * times anything measured, and longer for a raised appendsPerThread.
   */
  static final long RACE_GUARD_SECONDS = 600 + APPENDS_PER_THREAD / 10;

  // Far below B's minute of polling: a wake-up within it can only come from NOTIFY.
  private static final java.time.Duration WAIT = java.time.Duration.ofSeconds(15);

  static SessionStore nodeA;
  static SessionStore nodeB;
  static ExecutorService pool;

  @BeforeAll
  static void open() {
    nodeA = JdbcStores.openSessionStore(TestPostgres.config(Map.of("maxPoolSize", "6")));
    // B would poll only once a minute: a prompt wake-up can only come from NOTIFY.
    nodeB =
        JdbcStores.openSessionStore(
            TestPostgres.config(Map.of("maxPoolSize", "6", "pollIntervalMillis", "60000")));
    pool = Executors.newFixedThreadPool(32);
  }

  @AfterAll
  static void close() {
    pool.shutdownNow();
    nodeA.close();
    nodeB.close();
  }

  static SessionStore node(int i) {
    return i % 2 == 0 ? nodeA : nodeB;
  }

  static NewSession newSession(String externalId) {
    return new NewSession(
        "session_" + UUID.randomUUID().toString().replace("-", ""),
        externalId,
        ENV,
        "agent",
        JsonObject.empty(),
        TriggerConfig.none(),
        T0,
        null);
  }

  static <T> List<T> race(int n, java.util.function.IntFunction<Callable<T>> task)
      throws Exception {
    var start = new CountDownLatch(1);
    var futures = new ArrayList<Future<T>>();
    for (int i = 0; i < n; i++) {
      Callable<T> c = task.apply(i);
      futures.add(
          pool.submit(
              () -> {
                start.await();
                return c.call();
              }));
    }
    start.countDown();
    var results = new ArrayList<T>();
    for (Future<T> f : futures) {
      results.add(f.get(RACE_GUARD_SECONDS, TimeUnit.SECONDS));
    }
    return results;
  }

  @Test
  @DisplayName("declares that it is shared across processes")
  void capabilities() {
    assertThat(nodeA.capabilities())
        .contains(StoreCapability.SHARED_ACROSS_PROCESSES, StoreCapability.TRIM);
  }

  @Test
  @DisplayName(
      "the recovery query (S12) is answered from indexes: the running runs from their partial"
          + " alive index, no table scanned whole (plan with sequential scans disabled, as a large"
          + " table would have it)")
  void recoveryQueryUsesIndexes() throws Exception {
    try (Connection conn = TestPostgres.connect()) {
      conn.setAutoCommit(false);
      try (Statement st = conn.createStatement()) {
        st.execute("SET LOCAL enable_seqscan = off");
      }
      // Which index reads the sessions is the planner's choice by its statistics (with few rows
      // in the environment, the external id index; with a million, dc_sessions_unserved, as
      // measured): none of the plan is a scan of every row.
      assertThat(JdbcSmokeTest.explainRecovery(conn))
          .contains("DC_SESSION_RUNS_ALIVE")
          .doesNotContain("SEQ SCAN");
      conn.rollback();
    }
  }

  @Test
  @DisplayName("four nodes opening a fresh schema at once create it once (advisory lock)")
  void concurrentMigration() throws Exception {
    String schema = "dc_mig_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try (Connection conn = TestPostgres.connect();
        java.sql.Statement st = conn.createStatement()) {
      st.execute("CREATE SCHEMA " + schema);
    }
    String url =
        TestPostgres.url()
            + (TestPostgres.url().contains("?") ? "&" : "?")
            + "currentSchema="
            + schema;
    List<SessionStore> stores =
        race(
            4,
            i ->
                () ->
                    JdbcStores.openSessionStore(new StoreConfig(url, Map.of("maxPoolSize", "2"))));
    stores.forEach(SessionStore::close);
    try (Connection conn = TestPostgres.connect();
        java.sql.Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM " + schema + ".dc_schema_version")) {
      rs.next();
      assertThat(rs.getLong(1)).isEqualTo(Schema.CURRENT);
    }
  }

  @Test
  @DisplayName(
      "a store on the application's own PostgreSQL DataSource appends in batches and is woken by NOTIFY")
  void ownDataSource() throws Exception {
    var ds = new org.postgresql.ds.PGSimpleDataSource();
    ds.setURL(TestPostgres.url());
    // Polling once a minute: only NOTIFY can wake the watcher in time.
    try (SessionStore own = JdbcStores.sessionStore(ds, java.time.Duration.ofMinutes(1))) {
      assertThat(own.capabilities()).contains(StoreCapability.SHARED_ACROSS_PROCESSES);
      String id = own.createSession(newSession(null)).session().friendlyId();
      var calls = new AtomicLong();
      AutoCloseable handle = own.watch(id, StreamKind.OUT, calls::incrementAndGet);
      try {
        // The fresh store calls its watchers once when its LISTEN is in place: from that marker
        // on, only a NOTIFY can call it again within a minute.
        await("the store listening").atMost(WAIT).until(() -> calls.get() >= 1);
        long before = calls.get();
        var result =
            nodeA.append(
                id, StreamKind.OUT, List.of(NewRecord.of("1"), NewRecord.of("2")), null, T0);
        assertThat(result.lastSeq()).isEqualTo(2);
        await("woken by node A's append").atMost(WAIT).until(() -> calls.get() > before);
        assertThat(
                own.append(
                        id, StreamKind.OUT, List.of(NewRecord.of("3"), NewRecord.of("4")), null, T0)
                    .lastSeq())
            .isEqualTo(4);
        assertThat(nodeA.read(id, StreamKind.OUT, 0, 10))
            .extracting(StoredRecord::payload)
            .containsExactly("1", "2", "3", "4");
      } finally {
        handle.close();
      }
    }
  }

  @Test
  @DisplayName(
      "an append that does not notify by itself (an older node's plain insert) still wakes the"
          + " other node: the row trigger of schema version 7 notifies for it")
  void plainInsertWakesOtherNode() throws Exception {
    String id = nodeA.createSession(newSession(null)).session().friendlyId();
    var calls = new AtomicLong();
    AutoCloseable handle = nodeB.watch(id, StreamKind.OUT, calls::incrementAndGet);
    try {
      // The marker: node B's watcher is called on an append through the one-statement path.
      long start = calls.get();
      nodeA.append(id, StreamKind.OUT, List.of(NewRecord.of("1")), null, T0);
      await("woken by node A's append").atMost(WAIT).until(() -> calls.get() > start);
      long before = calls.get();
      try (Connection conn = TestPostgres.connect()) {
        conn.setAutoCommit(false);
        try (Statement st = conn.createStatement()) {
          st.executeUpdate(
              "UPDATE dc_sessions SET last_out_seq = 2 WHERE friendly_id = '" + id + "'");
          st.executeUpdate(
              "INSERT INTO dc_records (session_id, stream, seq, payload, part_id, created_at)"
                  + " VALUES ('"
                  + id
                  + "', 'out', 2, '2', NULL, CURRENT_TIMESTAMP)");
        }
        conn.commit();
      }
      await("woken by the plain insert").atMost(WAIT).until(() -> calls.get() > before);
      assertThat(nodeB.read(id, StreamKind.OUT, 0, 10))
          .extracting(StoredRecord::payload)
          .containsExactly("1", "2");
    } finally {
      handle.close();
    }
  }

  @Test
  @DisplayName(
      "migrates a version 6 database to version 7: the statement trigger becomes the row trigger,"
          + " appends number on gaplessly and an older node's insert still wakes watchers")
  void migratesVersion6() throws Exception {
    String schema = "dc_v6_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try (Connection conn = TestPostgres.connect();
        Statement st = conn.createStatement()) {
      st.execute("CREATE SCHEMA " + schema);
    }
    String url =
        TestPostgres.url()
            + (TestPostgres.url().contains("?") ? "&" : "?")
            + "currentSchema="
            + schema;
    var config = new StoreConfig(url, Map.of("maxPoolSize", "2", "pollIntervalMillis", "60000"));
    String id;
    try (SessionStore store = JdbcStores.openSessionStore(config)) {
      id = store.createSession(newSession(null)).session().friendlyId();
      store.append(id, StreamKind.OUT, List.of(NewRecord.of("1")), null, T0);
    }
    // Back to version 6 as an older library left it: the statement trigger, no version 7 row.
    try (Connection conn = DriverManager.getConnection(url);
        Statement st = conn.createStatement()) {
      st.execute("DROP TRIGGER dc_records_notify ON dc_records");
      st.execute("DROP FUNCTION dc_notify_append_row()");
      for (String ddl : new Dialect.Postgres().extraDdl()) {
        st.execute(ddl);
      }
      st.execute("DELETE FROM dc_schema_version WHERE version = 7");
      assertThat(notifyTrigger(conn)).isEqualTo("statement");
    }
    try (SessionStore store = JdbcStores.openSessionStore(config)) {
      var calls = new AtomicLong();
      AutoCloseable handle = store.watch(id, StreamKind.OUT, calls::incrementAndGet);
      try {
        await("the store listening").atMost(WAIT).until(() -> calls.get() >= 1);
        assertThat(store.append(id, StreamKind.OUT, List.of(NewRecord.of("2")), null, T0).lastSeq())
            .isEqualTo(2);
        long before = calls.get();
        try (Connection conn = DriverManager.getConnection(url)) {
          conn.setAutoCommit(false);
          try (Statement st = conn.createStatement()) {
            st.executeUpdate(
                "UPDATE dc_sessions SET last_out_seq = 3 WHERE friendly_id = '" + id + "'");
            st.executeUpdate(
                "INSERT INTO dc_records (session_id, stream, seq, payload, part_id, created_at)"
                    + " VALUES ('"
                    + id
                    + "', 'out', 3, '3', NULL, CURRENT_TIMESTAMP)");
          }
          conn.commit();
        }
        await("woken by the plain insert").atMost(WAIT).until(() -> calls.get() > before);
        assertThat(store.read(id, StreamKind.OUT, 0, 10))
            .extracting(StoredRecord::payload)
            .containsExactly("1", "2", "3");
      } finally {
        handle.close();
      }
    }
    try (Connection conn = DriverManager.getConnection(url);
        Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("SELECT MAX(version) FROM dc_schema_version")) {
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(Schema.CURRENT);
      assertThat(notifyTrigger(conn)).isEqualTo("row");
    }
  }

  /**
   * Whether {@code dc_records_notify} fires per row or per statement in the connection's schema.
   */
  private static String notifyTrigger(Connection conn) throws java.sql.SQLException {
    try (Statement st = conn.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT action_orientation FROM information_schema.triggers"
                    + " WHERE trigger_name = 'dc_records_notify'"
                    + " AND event_object_schema = current_schema()")) {
      assertThat(rs.next()).isTrue();
      return rs.getString(1).toLowerCase(java.util.Locale.ROOT);
    }
  }

  @Test
  @DisplayName("32 racing creators on two nodes get one row (invariant 1, S1)")
  void racingCreators() throws Exception {
    String chatId = "chat-" + UUID.randomUUID();
    List<CreateOutcome> outcomes = race(32, i -> () -> node(i).createSession(newSession(chatId)));

    assertThat(outcomes).filteredOn(CreateOutcome::created).hasSize(1);
    assertThat(outcomes)
        .extracting(o -> o.session().friendlyId())
        .containsOnly(
            outcomes.stream()
                .filter(CreateOutcome::created)
                .findFirst()
                .orElseThrow()
                .session()
                .friendlyId());
    try (Connection conn = TestPostgres.connect();
        PreparedStatement ps =
            conn.prepareStatement("SELECT COUNT(*) FROM dc_sessions WHERE external_id = ?")) {
      ps.setString(1, chatId);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        assertThat(rs.getLong(1)).isEqualTo(1);
      }
    }
  }

  @Test
  @DisplayName("8 racing appenders on two nodes get gapless numbers and lose nothing (invariant 2)")
  void racingAppenders() throws Exception {
    String id = nodeA.createSession(newSession(null)).session().friendlyId();
    int threads = 8;
    long started = System.nanoTime();
    List<long[]> seqs =
        race(
            threads,
            t ->
                () -> {
                  long[] mine = new long[APPENDS_PER_THREAD];
                  for (int j = 0; j < APPENDS_PER_THREAD; j++) {
                    String payload = "{\"t\":" + t + ",\"j\":" + j + "}";
                    mine[j] =
                        node(t)
                            .append(id, StreamKind.OUT, List.of(NewRecord.of(payload)), null, T0)
                            .firstSeq();
                  }
                  return mine;
                });
    double seconds = (System.nanoTime() - started) / 1e9;
    long total = (long) threads * APPENDS_PER_THREAD;
    LOG.info(
        "racing appenders: {} appends through 2 nodes in {} s ({} appends/s)",
        total,
        String.format("%.1f", seconds),
        Math.round(total / seconds));

    assertThat(nodeB.lastSeq(id, StreamKind.OUT)).isEqualTo(total);
    List<StoredRecord> all = new ArrayList<>();
    long after = 0;
    while (true) {
      List<StoredRecord> page = nodeB.read(id, StreamKind.OUT, after, 5_000);
      if (page.isEmpty()) {
        break;
      }
      all.addAll(page);
      after = page.get(page.size() - 1).seq();
    }
    assertThat(all).hasSize((int) total);
    for (int i = 0; i < all.size(); i++) {
      assertThat(all.get(i).seq()).isEqualTo(i + 1L);
    }
    // Each thread's records landed in its own order, under the numbers it was told.
    for (int t = 0; t < threads; t++) {
      long[] mine = seqs.get(t);
      for (int j = 0; j < mine.length; j++) {
        assertThat(all.get((int) mine[j] - 1).payload())
            .isEqualTo("{\"t\":" + t + ",\"j\":" + j + "}");
        if (j > 0) {
          assertThat(mine[j]).isGreaterThan(mine[j - 1]);
        }
      }
    }
  }

  @Test
  @DisplayName("of 16 racing swaps on two nodes exactly one wins, round after round (invariant 5)")
  void racingSwaps() throws Exception {
    String id = nodeA.createSession(newSession(null)).session().friendlyId();
    nodeA.swapRun(id, 0, null, SessionRun.started("run_0", id, RunReason.INITIAL, null, T0), T0);
    String current = "run_0";
    for (int round = 1; round <= 5; round++) {
      long expectedVersion = round;
      String expectedRun = current;
      int r = round;
      List<String> winners =
          race(
              16,
              i ->
                  () -> {
                    String runId = "run_" + r + "_" + i;
                    try {
                      node(i)
                          .swapRun(
                              id,
                              expectedVersion,
                              expectedRun,
                              SessionRun.started(runId, id, RunReason.UPGRADE, expectedRun, T0),
                              T0);
                      return runId;
                    } catch (RunConflictException e) {
                      assertThat(e.currentVersion()).isEqualTo(expectedVersion + 1);
                      return null;
                    }
                  });
      List<String> won = winners.stream().filter(w -> w != null).toList();
      assertThat(won).hasSize(1);
      current = won.get(0);
      assertThat(nodeB.findByFriendlyId(ENV, id).orElseThrow().currentRunId()).isEqualTo(current);
    }
    List<SessionRun> runs = nodeB.runs(id);
    assertThat(runs).hasSize(6);
    assertThat(runs.get(5).runId()).isEqualTo(current);
    assertThat(runs.subList(0, 5))
        .allSatisfy(run -> assertThat(run.endReason()).isEqualTo("superseded"));
  }

  @Test
  @DisplayName(
      "a watcher on node B wakes on each append through node A (NOTIFY), B polling only once a"
          + " minute")
  void notifyAcrossNodes() throws Exception {
    String id = nodeA.createSession(newSession(null)).session().friendlyId();
    // A node B of this test's own, so that its LISTEN starts now: the one call it makes once it
    // listens is the marker after which every call is a NOTIFY.
    try (SessionStore b =
        JdbcStores.openSessionStore(
            TestPostgres.config(Map.of("maxPoolSize", "2", "pollIntervalMillis", "60000")))) {
      var calls = new AtomicLong();
      AutoCloseable handle = b.watch(id, StreamKind.OUT, calls::incrementAndGet);
      try {
        await("node B listening").atMost(WAIT).until(() -> calls.get() >= 1);
        for (int i = 1; i <= 3; i++) {
          long before = calls.get();
          nodeA.append(id, StreamKind.OUT, List.of(NewRecord.of("{}")), null, T0);
          await("node B woken by node A's append " + i)
              .atMost(WAIT)
              .until(() -> calls.get() > before);
        }
        assertThat(b.lastSeq(id, StreamKind.OUT)).isEqualTo(3);
      } finally {
        handle.close();
      }
    }
  }
}
