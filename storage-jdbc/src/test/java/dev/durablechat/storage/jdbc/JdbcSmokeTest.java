package dev.durablechat.storage.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.durablechat.api.DurableChatException;
import dev.durablechat.api.Environment;
import dev.durablechat.api.FencedException;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.Session;
import dev.durablechat.api.SessionQuery;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.SnapshotConflictException;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.TriggerConfig;
import dev.durablechat.api.spi.NewRecord;
import dev.durablechat.api.spi.NewSession;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoreCapability;
import dev.durablechat.api.spi.StoreLoader;
import dev.durablechat.api.spi.StoredRecord;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("the jdbc store on H2, beyond the kit")
class JdbcSmokeTest {
  static final Environment ENV = new Environment("proj", "dev");
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  @TempDir Path dir;

  /** A plain H2 URL, as a user would write it: the kit runs H2 in PostgreSQL mode. */
  String url() {
    return "jdbc:h2:file:" + dir.resolve("chat");
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

  @Test
  @DisplayName(
      "is found by the jdbc scheme, creates its schema once and records each version step once")
  void providerAndSchema() throws Exception {
    try (SessionStore store = StoreLoader.openSessionStore(url())) {
      assertThat(store.capabilities())
          .containsExactlyInAnyOrder(
              StoreCapability.TRIM, StoreCapability.RUN_LEASES, StoreCapability.RECOVERY);
    }
    // Opening again finds the schema and changes nothing.
    StoreLoader.openSessionStore(url()).close();
    try (Connection conn = DriverManager.getConnection(url());
        Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("SELECT version FROM dc_schema_version ORDER BY version")) {
      for (int v = 1; v <= Schema.CURRENT; v++) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getInt(1)).isEqualTo(v);
      }
      assertThat(rs.next()).isFalse();
    }
  }

  @Test
  @DisplayName(
      "migrates a version 1 database to version 2 (run leases) and keeps its runs, never renewed")
  void migratesVersion1() throws Exception {
    String id;
    try (SessionStore store = StoreLoader.openSessionStore(url())) {
      id = store.createSession(newSession("chat-v1")).session().friendlyId();
      store.swapRun(id, 0, null, SessionRun.started("run_v1", id, RunReason.INITIAL, null, T0), T0);
    }
    // Back to version 1 as an older library left it: no lease column, no later version rows.
    try (Connection conn = DriverManager.getConnection(url());
        Statement st = conn.createStatement()) {
      backToVersion4(st);
      st.execute("ALTER TABLE dc_session_runs DROP COLUMN renewed_at");
      st.execute("DELETE FROM dc_schema_version WHERE version >= 2");
    }
    try (SessionStore store = StoreLoader.openSessionStore(url())) {
      assertThat(store.runs(id)).singleElement().satisfies(r -> assertThat(r.renewedAt()).isNull());
      assertThat(store.renewRun(id, "run_v1", T0.plusSeconds(5)).renewedAt())
          .isEqualTo(T0.plusSeconds(5));
      assertThat(store.runs(id).get(0).renewedAt()).isEqualTo(T0.plusSeconds(5));
    }
    try (Connection conn = DriverManager.getConnection(url());
        Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("SELECT MAX(version) FROM dc_schema_version")) {
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(Schema.CURRENT);
    }
  }

  @Test
  @DisplayName(
      "migrating to version 4 writes the tag rows of the sessions created before it, so the tag"
          + " filter lists them")
  void migrationBackfillsTags() throws Exception {
    Session tagged;
    try (SessionStore store = StoreLoader.openSessionStore(url())) {
      var s = newSession("chat-tags");
      tagged =
          store
              .createSession(
                  new NewSession(
                      s.friendlyId(),
                      s.externalId(),
                      s.environment(),
                      s.agentId(),
                      s.clientData(),
                      new TriggerConfig(
                          null, null, List.of("vip", "beta"), null, null, JsonObject.empty()),
                      s.createdAt(),
                      null))
              .session();
    }
    // Back to version 3 as an older library left it: no tag table, no version 4 or 5 row (5 is
    // idempotent and runs again).
    try (Connection conn = DriverManager.getConnection(url());
        Statement st = conn.createStatement()) {
      st.execute("DROP TABLE dc_session_tags");
      st.execute("DELETE FROM dc_schema_version WHERE version >= 4");
    }
    try (SessionStore store = StoreLoader.openSessionStore(url())) {
      for (String tag : List.of("vip", "beta")) {
        assertThat(store.listSessions(ENV, SessionQuery.builder().tag(tag).build(), T0).sessions())
            .extracting(Session::friendlyId)
            .containsExactly(tagged.friendlyId());
      }
    }
  }

  @Test
  @DisplayName(
      "migrates a version 2 database to version 3 (S11: snapshot deletion records, retention"
          + " indexes) and keeps its sessions, which can then be deleted")
  void migratesVersion2() throws Exception {
    String id;
    try (SessionStore store = StoreLoader.openSessionStore(url())) {
      id = store.createSession(newSession("chat-v2")).session().friendlyId();
    }
    // Back to version 2 as an older library left it.
    try (Connection conn = DriverManager.getConnection(url());
        Statement st = conn.createStatement()) {
      st.execute("DROP TABLE dc_snapshot_deletions");
      st.execute("DROP INDEX dc_sessions_expiry");
      st.execute("DROP INDEX dc_sessions_closed");
      st.execute("DELETE FROM dc_schema_version WHERE version >= 3");
    }
    try (SessionStore store = StoreLoader.openSessionStore(url())) {
      assertThat(store.deleteSession(id, T0)).isPresent();
      assertThat(store.pendingSnapshotDeletions(ENV, 10)).hasSize(1);
    }
    try (Connection conn = DriverManager.getConnection(url());
        Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("SELECT MAX(version) FROM dc_schema_version")) {
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(Schema.CURRENT);
    }
  }

  @Test
  @DisplayName(
      "migrates a version 4 database to version 5 (recovery, S12): a run that was running is found"
          + " dead once its lease ran out, and attempts are counted")
  void migratesVersion4() throws Exception {
    var env = new Environment("proj", "v4");
    String id;
    try (SessionStore store = StoreLoader.openSessionStore(url())) {
      id =
          store
              .createSession(
                  new NewSession(
                      "session_v2",
                      "chat-v2",
                      env,
                      "agent",
                      JsonObject.empty(),
                      TriggerConfig.none(),
                      T0,
                      null))
              .session()
              .friendlyId();
      store.swapRun(id, 0, null, SessionRun.started("run_v2", id, RunReason.INITIAL, null, T0), T0);
      store.renewRun(id, "run_v2", T0.plusSeconds(4));
    }
    try (Connection conn = DriverManager.getConnection(url());
        Statement st = conn.createStatement()) {
      backToVersion4(st);
    }
    try (SessionStore store = StoreLoader.openSessionStore(url())) {
      assertThat(
              store.findSessionsToRecover(
                  env, Set.of("agent"), T0.plusSeconds(4), T0.plusSeconds(9), null, 10))
          .as("renewed at the cut: alive")
          .isEmpty();
      assertThat(
              store.findSessionsToRecover(
                  env, Set.of("agent"), T0.plusSeconds(5), T0.plusSeconds(9), null, 10))
          .extracting(Session::friendlyId)
          .containsExactly(id);
      assertThat(store.recordAttempt(id, "run_v2", 1, T0.plusSeconds(9))).isEqualTo(1);
    }
  }

  @Test
  @DisplayName(
      "the recovery query (S12) reads the sessions through the unserved index and the runs through"
          + " the alive index, never a scan of every session")
  void recoveryQueryUsesIndexes() throws Exception {
    try (SessionStore store = StoreLoader.openSessionStore(url())) {
      assertThat(store.capabilities()).contains(StoreCapability.RECOVERY);
    }
    try (Connection conn = DriverManager.getConnection(url())) {
      assertThat(explainRecovery(conn))
          .contains("DC_SESSIONS_UNSERVED")
          .contains("DC_SESSION_RUNS_ALIVE");
    }
  }

  /** The plan of the recovery query (SessionRows.recoverySql) as the store runs it, upper case. */
  static String explainRecovery(Connection conn) throws Exception {
    try (var ps =
        conn.prepareStatement("EXPLAIN " + SessionRows.recoverySql(Dialect.of(conn), 1, true))) {
      Instant now = Instant.parse("2026-01-01T00:00:00Z");
      int i = 1;
      for (int half = 0; half < 2; half++) {
        if (half == 1) {
          Database.setInstant(ps, i++, now.minusSeconds(20));
        }
        ps.setString(i++, "proj");
        ps.setString(i++, "dev");
        ps.setString(i++, "agent");
        Database.setInstant(ps, i++, now);
        ps.setString(i++, "session_a");
      }
      ps.setInt(i, 100);
      var plan = new StringBuilder();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          plan.append(rs.getString(1)).append('\n');
        }
      }
      return plan.toString().toUpperCase(java.util.Locale.ROOT);
    }
  }

  /** Undoes schema version 5 as a version 4 library would have left the database. */
  private static void backToVersion4(Statement st) throws Exception {
    st.execute("DROP INDEX IF EXISTS dc_session_runs_alive");
    st.execute("DROP INDEX IF EXISTS dc_sessions_unserved");
    st.execute("ALTER TABLE dc_session_runs DROP COLUMN alive_at");
    for (String column : List.of("run_running", "unserved", "attempt_in_seq", "attempts")) {
      st.execute("ALTER TABLE dc_sessions DROP COLUMN " + column);
    }
    st.execute("DELETE FROM dc_schema_version WHERE version >= 5");
  }

  /** How many foreign keys {@code dc_records} has. */
  static int recordForeignKeys(Connection conn) throws Exception {
    try (Statement st = conn.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT COUNT(*) FROM information_schema.table_constraints"
                    + " WHERE LOWER(table_name) = 'dc_records' AND constraint_type = 'FOREIGN KEY'")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  @Test
  @DisplayName(
      "migrates a version 5 database to version 6: the records' foreign key goes, the records stay,"
          + " and appends number on gaplessly and still dedupe part ids (W5)")
  void migratesVersion5() throws Exception {
    String id;
    try (SessionStore store = StoreLoader.openSessionStore(url())) {
      id = store.createSession(newSession("chat-v5")).session().friendlyId();
      store.append(id, StreamKind.IN, List.of(new NewRecord("\"a\"", "p1")), null, T0);
      store.append(id, StreamKind.OUT, List.of(NewRecord.of("1"), NewRecord.of("2")), null, T0);
    }
    // Back to version 5 as an older library left it: the foreign key, no version 6 row.
    try (Connection conn = DriverManager.getConnection(url());
        Statement st = conn.createStatement()) {
      st.execute(
          "ALTER TABLE dc_records ADD FOREIGN KEY (session_id) REFERENCES dc_sessions (friendly_id)");
      st.execute("DELETE FROM dc_schema_version WHERE version >= 6");
      assertThat(recordForeignKeys(conn)).isEqualTo(1);
    }
    try (SessionStore store = StoreLoader.openSessionStore(url())) {
      assertThat(store.read(id, StreamKind.OUT, 0, 10)).hasSize(2);
      assertThat(store.append(id, StreamKind.OUT, List.of(NewRecord.of("3")), null, T0).lastSeq())
          .isEqualTo(3);
      var retry = store.append(id, StreamKind.IN, List.of(new NewRecord("\"b\"", "p1")), null, T0);
      assertThat(retry.duplicate()).isTrue();
      assertThat(retry.firstSeq()).isEqualTo(1);
    }
    try (Connection conn = DriverManager.getConnection(url());
        Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("SELECT MAX(version) FROM dc_schema_version")) {
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(Schema.CURRENT);
      assertThat(recordForeignKeys(conn)).isZero();
    }
  }

  @Test
  @DisplayName(
      "migrates a version 6 database to version 7: part ids move to their own table, a retry of"
          + " an old part id is still a duplicate (W5), and records go without the part-id index")
  void migratesVersion6() throws Exception {
    String id;
    try (SessionStore store = StoreLoader.openSessionStore(url())) {
      id = store.createSession(newSession("chat-v6")).session().friendlyId();
      store.append(id, StreamKind.IN, List.of(new NewRecord("\"a\"", "p1")), null, T0);
      store.append(id, StreamKind.OUT, List.of(NewRecord.of("1"), NewRecord.of("2")), null, T0);
    }
    // Back to version 6 as an older library left it: the unique part-id index on the records, no
    // part-id table, no version 7 row.
    try (Connection conn = DriverManager.getConnection(url());
        Statement st = conn.createStatement()) {
      st.execute("DROP TABLE dc_record_parts");
      st.execute(new Dialect.H2().partIdIndexDdl());
      st.execute("DELETE FROM dc_schema_version WHERE version = 7");
      assertThat(partIdIndexes(conn)).isEqualTo(1);
    }
    try (SessionStore store = StoreLoader.openSessionStore(url())) {
      var retry = store.append(id, StreamKind.IN, List.of(new NewRecord("\"b\"", "p1")), null, T0);
      assertThat(retry.duplicate()).isTrue();
      assertThat(retry.firstSeq()).isEqualTo(1);
      var next = store.append(id, StreamKind.IN, List.of(new NewRecord("\"c\"", "p2")), null, T0);
      assertThat(next.duplicate()).isFalse();
      assertThat(next.firstSeq()).isEqualTo(2);
      assertThat(store.append(id, StreamKind.OUT, List.of(NewRecord.of("3")), null, T0).lastSeq())
          .isEqualTo(3);
      assertThat(store.read(id, StreamKind.IN, 0, 10))
          .extracting(StoredRecord::partId)
          .containsExactly("p1", "p2");
    }
    try (Connection conn = DriverManager.getConnection(url());
        Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("SELECT MAX(version) FROM dc_schema_version")) {
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(Schema.CURRENT);
      assertThat(partIdIndexes(conn)).isZero();
    }
  }

  @Test
  @DisplayName(
      "trimming a record lets its part id go with it, as where the part id lives on the record")
  void trimDropsPartIds() {
    try (SessionStore store = StoreLoader.openSessionStore(url())) {
      String id = store.createSession(newSession("chat-trim-part")).session().friendlyId();
      store.append(id, StreamKind.IN, List.of(new NewRecord("\"a\"", "p1")), null, T0);
      assertThat(
              store
                  .append(id, StreamKind.IN, List.of(new NewRecord("\"b\"", "p1")), null, T0)
                  .duplicate())
          .isTrue();
      assertThat(store.trim(id, StreamKind.IN, 1)).isEqualTo(1);
      var after = store.append(id, StreamKind.IN, List.of(new NewRecord("\"c\"", "p1")), null, T0);
      assertThat(after.duplicate()).isFalse();
      assertThat(after.firstSeq()).isEqualTo(2);
    }
  }

  private static int partIdIndexes(Connection conn) throws Exception {
    try (Statement st = conn.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT COUNT(*) FROM information_schema.indexes"
                    + " WHERE LOWER(index_name) = 'dc_records_part_id'")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  @Test
  @DisplayName(
      "without a foreign key, appends racing a delete (S11) leave no record behind: each append"
          + " holds the session row's lock, and the delete takes it first")
  void racingDeleteLeavesNoOrphans() throws Exception {
    try (SessionStore store = StoreLoader.openSessionStore(url())) {
      assertNoOrphansAfterRacingDelete(store, () -> DriverManager.getConnection(url()));
    }
  }

  /** Where the test connections come from. */
  interface Connections {
    Connection open() throws Exception;
  }

  /**
   * Four appenders (fenced out batches, unfenced in records) run against a delete; afterwards the
   * table holds no record of the session, and each appender learned it is gone.
   */
  static void assertNoOrphansAfterRacingDelete(SessionStore store, Connections connections)
      throws Exception {
    for (int round = 0; round < 5; round++) {
      String id = store.createSession(newSession("chat-race-" + round)).session().friendlyId();
      store.swapRun(
          id, 0, null, SessionRun.started("run_r" + round, id, RunReason.INITIAL, null, T0), T0);
      var pool = Executors.newFixedThreadPool(4);
      var started = new CountDownLatch(4);
      var results = new ArrayList<Future<String>>();
      for (int t = 0; t < 4; t++) {
        boolean fenced = t % 2 == 0;
        String run = "run_r" + round;
        results.add(
            pool.submit(
                () -> {
                  started.countDown();
                  while (true) {
                    try {
                      store.append(
                          id,
                          fenced ? StreamKind.OUT : StreamKind.IN,
                          fenced
                              ? List.of(NewRecord.of("1"), NewRecord.of("2"), NewRecord.of("3"))
                              : List.of(NewRecord.of("{}")),
                          fenced ? run : null,
                          T0);
                    } catch (dev.durablechat.api.NoSuchSessionException e) {
                      return "gone";
                    }
                  }
                }));
      }
      started.await();
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> store.lastSeq(id, StreamKind.OUT) > 0 && store.lastSeq(id, StreamKind.IN) > 0);
      assertThat(store.deleteSession(id, T0)).isPresent();
      for (Future<String> result : results) {
        assertThat(result.get(30, TimeUnit.SECONDS)).isEqualTo("gone");
      }
      pool.shutdown();
      try (Connection conn = connections.open();
          var ps = conn.prepareStatement("SELECT COUNT(*) FROM dc_records WHERE session_id = ?")) {
        ps.setString(1, id);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          assertThat(rs.getLong(1)).as("records of deleted session [%s]", id).isZero();
        }
      }
    }
  }

  @Test
  @DisplayName(
      "numbers appends gaplessly, dedupes part ids and lets any number of records go without one (W5)")
  void appendsAndPartIds() {
    try (SessionStore store = StoreLoader.openSessionStore(url())) {
      String id = store.createSession(newSession("chat-1")).session().friendlyId();
      assertThat(store.append(id, StreamKind.OUT, List.of(NewRecord.of("{}")), null, T0).lastSeq())
          .isEqualTo(1);
      var batch =
          store.append(id, StreamKind.OUT, List.of(NewRecord.of("1"), NewRecord.of("2")), null, T0);
      assertThat(batch.firstSeq()).isEqualTo(2);
      assertThat(batch.lastSeq()).isEqualTo(3);
      var first = store.append(id, StreamKind.IN, List.of(new NewRecord("\"a\"", "p1")), null, T0);
      var retry = store.append(id, StreamKind.IN, List.of(new NewRecord("\"b\"", "p1")), null, T0);
      assertThat(retry.duplicate()).isTrue();
      assertThat(retry.firstSeq()).isEqualTo(first.firstSeq());
      assertThat(store.read(id, StreamKind.OUT, 0, 10))
          .extracting(r -> r.payload())
          .containsExactly("{}", "1", "2");
      assertThat(store.read(id, StreamKind.IN, 0, 10)).hasSize(1);
      assertThat(store.lastSeq(id, StreamKind.IN)).isEqualTo(1);
    }
  }

  @Test
  @DisplayName("opens on the application's DataSource, and refuses a schema newer than it knows")
  void dataSourceAndNewerSchema() throws Exception {
    var ds = new org.h2.jdbcx.JdbcDataSource();
    ds.setURL(url());
    try (SessionStore store = JdbcStores.sessionStore(ds)) {
      assertThat(store.createSession(newSession("chat-ds")).created()).isTrue();
    }
    try (Connection conn = ds.getConnection();
        Statement st = conn.createStatement()) {
      st.execute(
          "INSERT INTO dc_schema_version (version, applied_at) VALUES (99, CURRENT_TIMESTAMP)");
    }
    assertThatThrownBy(() -> JdbcStores.sessionStore(ds))
        .isInstanceOf(DurableChatException.class)
        .hasMessageContaining(
            "schema version [99] is newer than this library supports [" + Schema.CURRENT + "]");
  }

  @Test
  @DisplayName("four stores opening a fresh database at once create one schema")
  void concurrentOpen() throws Exception {
    var pool = Executors.newFixedThreadPool(4);
    try {
      var start = new CountDownLatch(1);
      var opens = new ArrayList<Future<SessionStore>>();
      for (int i = 0; i < 4; i++) {
        opens.add(
            pool.submit(
                () -> {
                  start.await();
                  return StoreLoader.openSessionStore(url());
                }));
      }
      start.countDown();
      for (Future<SessionStore> f : opens) {
        f.get(30, TimeUnit.SECONDS).close();
      }
    } finally {
      pool.shutdownNow();
    }
    try (Connection conn = DriverManager.getConnection(url());
        Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM dc_schema_version")) {
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(Schema.CURRENT);
    }
  }

  @Test
  @DisplayName("keeps snapshots with conditional writes; a stale version never wins (invariant 8)")
  void snapshots() {
    try (SnapshotStore snapshots = StoreLoader.openSnapshotStore(url())) {
      var key = new SnapshotKey(ENV, "session_abc");
      String v1 = snapshots.write(key, new byte[] {1}, null);
      assertThatThrownBy(() -> snapshots.write(key, new byte[] {2}, null))
          .isInstanceOf(SnapshotConflictException.class);
      String v2 = snapshots.write(key, new byte[] {3}, v1);
      assertThatThrownBy(() -> snapshots.write(key, new byte[] {4}, v1))
          .isInstanceOf(SnapshotConflictException.class);
      assertThat(snapshots.read(key).orElseThrow().content()).containsExactly(3);
      assertThat(snapshots.delete(key)).isTrue();
      snapshots.write(key, new byte[] {5}, null);
      assertThatThrownBy(() -> snapshots.write(key, new byte[] {6}, v2))
          .isInstanceOf(SnapshotConflictException.class);
      assertThat(snapshots.read(key).orElseThrow().content()).containsExactly(5);
    }
  }

  @Test
  @DisplayName("refuses a location no driver accepts, and unknown options, naming them")
  void badLocations() {
    assertThatThrownBy(() -> StoreLoader.openSessionStore("jdbc:nosuchdb://x/y?password=secret"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("[jdbc:nosuchdb://x/y]")
        .hasMessageNotContaining("secret");
    assertThatThrownBy(
            () ->
                StoreLoader.openSessionStore(
                    new dev.durablechat.api.spi.StoreConfig(
                        url(), java.util.Map.of("poolSize", "3"))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("[poolSize]");
  }

  @Test
  @DisplayName("on H2 a watcher is woken by polling when another store instance appends")
  void pollingWatch() throws Exception {
    var options = java.util.Map.of("pollIntervalMillis", "50");
    try (SessionStore a = StoreLoader.openSessionStore(url());
        SessionStore b =
            StoreLoader.openSessionStore(new dev.durablechat.api.spi.StoreConfig(url(), options))) {
      String id = a.createSession(newSession(null)).session().friendlyId();
      var calls = new java.util.concurrent.atomic.AtomicInteger();
      AutoCloseable handle = b.watch(id, StreamKind.OUT, calls::incrementAndGet);
      try {
        // A fresh store's first poll calls its watchers once (spurious calls are allowed): that
        // call is the marker that polling has its baseline, so a later call is the append's.
        await().atMost(Duration.ofSeconds(10)).until(() -> calls.get() >= 1);
        int before = calls.get();
        a.append(id, StreamKind.OUT, List.of(NewRecord.of("{}")), null, T0);
        await("woken by polling").atMost(Duration.ofSeconds(10)).until(() -> calls.get() > before);
      } finally {
        handle.close();
      }
    }
  }

  @Test
  @DisplayName("fences an append of a run that is not current and writes nothing (invariant 6)")
  void fencing() {
    try (SessionStore store = StoreLoader.openSessionStore(url())) {
      String id = store.createSession(newSession(null)).session().friendlyId();
      store.swapRun(id, 0, null, SessionRun.started("run_a", id, RunReason.INITIAL, null, T0), T0);
      store.swapRun(
          id, 1, "run_a", SessionRun.started("run_b", id, RunReason.UPGRADE, "run_a", T0), T0);
      assertThatThrownBy(
              () -> store.append(id, StreamKind.OUT, List.of(NewRecord.of("{}")), "run_a", T0))
          .isInstanceOf(FencedException.class)
          .hasMessageContaining("run [run_a] is not current (current [run_b])");
      assertThat(store.lastSeq(id, StreamKind.OUT)).isZero();
      assertThat(store.runs(id)).extracting(SessionRun::runId).containsExactly("run_a", "run_b");
      assertThat(store.runs(id).get(0).endReason()).isEqualTo("superseded");
    }
  }
}
