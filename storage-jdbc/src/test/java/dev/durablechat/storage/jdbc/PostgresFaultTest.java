package dev.durablechat.storage.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.durablechat.api.Environment;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.StoreUnavailableException;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.TriggerConfig;
import dev.durablechat.api.spi.NewRecord;
import dev.durablechat.api.spi.NewSession;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoreConfig;
import dev.durablechat.api.spi.StoredRecord;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Failures on a real PostgreSQL: a killed backend, a timed-out statement, a database that goes away
 * and comes back. Each must be a {@link StoreUnavailableException}, never a conflict, and must
 * leave no partial record and no gap (invariant 3).
 */
@DisplayName("the jdbc store on PostgreSQL under failures")
class PostgresFaultTest {
  // Far below node B's minute of polling in listenerKilled: only NOTIFY can wake it within it.
  private static final Duration WAIT = Duration.ofSeconds(15);

  static final Environment ENV = new Environment("proj", "faults");
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  static NewSession newSession() {
    return new NewSession(
        "session_" + UUID.randomUUID().toString().replace("-", ""),
        null,
        ENV,
        "agent",
        JsonObject.empty(),
        TriggerConfig.none(),
        T0,
        null);
  }

  static void append(SessionStore store, String id, String... payloads) {
    store.append(
        id,
        StreamKind.OUT,
        java.util.Arrays.stream(payloads).map(NewRecord::of).toList(),
        null,
        T0);
  }

  static void assertIntact(SessionStore store, String id, String... payloads) {
    assertThat(store.lastSeq(id, StreamKind.OUT)).isEqualTo(payloads.length);
    List<StoredRecord> records = store.read(id, StreamKind.OUT, 0, 100);
    assertThat(records).extracting(StoredRecord::payload).containsExactly(payloads);
    assertThat(records)
        .extracting(StoredRecord::seq)
        .containsExactly(
            java.util.stream.LongStream.rangeClosed(1, payloads.length)
                .boxed()
                .toArray(Long[]::new));
  }

  @Test
  @DisplayName("pg_terminate_backend mid-append: unavailable, no partial record, no gap")
  void terminatedBackend() throws Exception {
    try (SessionStore store = JdbcStores.openSessionStore(TestPostgres.config(Map.of()));
        Connection admin = TestPostgres.connect();
        Statement st = admin.createStatement()) {
      String id = store.createSession(newSession()).session().friendlyId();
      append(store, id, "\"one\"");
      // A test-only trigger parks the second row of the batch inside the transaction, after the
      // first row is inserted, so that the kill lands mid-append.
      st.execute(
          "CREATE OR REPLACE FUNCTION dc_test_park() RETURNS trigger AS $$ BEGIN"
              + " IF NEW.payload = '\"park\"' THEN PERFORM pg_sleep(30); END IF;"
              + " RETURN NEW; END $$ LANGUAGE plpgsql");
      st.execute(
          "CREATE TRIGGER dc_test_park BEFORE INSERT ON dc_records"
              + " FOR EACH ROW EXECUTE FUNCTION dc_test_park()");
      try {
        var appending = CompletableFuture.runAsync(() -> append(store, id, "\"two\"", "\"park\""));
        // The append is one statement, so a connection lost in it is retried on a fresh one
        // (nothing was committed): each attempt parks again and is killed again, until the
        // retries run out.
        int kills = 0;
        while (!appending.isDone()) {
          int pid = awaitParkedBackend(admin, appending);
          if (pid > 0) {
            try (PreparedStatement kill =
                admin.prepareStatement("SELECT pg_terminate_backend(?)")) {
              kill.setInt(1, pid);
              kill.execute();
            }
            kills++;
          }
        }
        assertThat(kills).isPositive();
        assertThatThrownBy(() -> appending.get(20, TimeUnit.SECONDS))
            .isInstanceOf(ExecutionException.class)
            .cause()
            .isInstanceOf(StoreUnavailableException.class);
      } finally {
        st.execute("DROP TRIGGER dc_test_park ON dc_records");
      }
      assertIntact(store, id, "\"one\"");
      append(store, id, "\"three\"");
      assertIntact(store, id, "\"one\"", "\"three\"");
    }
  }

  /** The parked backend's pid, or -1 once the append is over. */
  private static int awaitParkedBackend(Connection admin, CompletableFuture<?> appending) {
    return await("the append to reach the parked insert, or to end")
        .atMost(Duration.ofSeconds(15))
        .until(() -> appending.isDone() ? -1 : parkedBackend(admin), pid -> pid != 0);
  }

  /** The backend parked in the insert's trigger, 0 if none is yet. */
  private static int parkedBackend(Connection admin) throws Exception {
    try (Statement st = admin.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep'"
                    + " AND query LIKE '%INSERT INTO dc_records%'")) {
      return rs.next() ? rs.getInt(1) : 0;
    }
  }

  @Test
  @DisplayName(
      "a statement timeout (server-side or the queryTimeoutSeconds option) is unavailable, not a conflict")
  void statementTimeout() throws Exception {
    String serverSide =
        TestPostgres.url()
            + (TestPostgres.url().contains("?") ? "&" : "?")
            + "options=-c%20statement_timeout%3D500";
    try (SessionStore serverTimeout = JdbcStores.openSessionStore(StoreConfig.of(serverSide));
        SessionStore clientTimeout =
            JdbcStores.openSessionStore(TestPostgres.config(Map.of("queryTimeoutSeconds", "1")));
        Connection blocker = TestPostgres.connect()) {
      String id = serverTimeout.createSession(newSession()).session().friendlyId();
      append(serverTimeout, id, "\"one\"");
      // Hold the session row so that the appends wait until their timeouts fire.
      blocker.setAutoCommit(false);
      try (PreparedStatement lock =
          blocker.prepareStatement("SELECT 1 FROM dc_sessions WHERE friendly_id = ? FOR UPDATE")) {
        lock.setString(1, id);
        lock.executeQuery().close();
      }
      assertThatThrownBy(() -> append(serverTimeout, id, "\"late\""))
          .isInstanceOf(StoreUnavailableException.class)
          .hasMessageContaining("57014");
      assertThatThrownBy(() -> append(clientTimeout, id, "\"late\""))
          .isInstanceOf(StoreUnavailableException.class)
          .hasMessageContaining("57014");
      blocker.rollback();
      append(clientTimeout, id, "\"two\"");
      assertIntact(serverTimeout, id, "\"one\"", "\"two\"");
    }
  }

  @Test
  @DisplayName(
      "a database that stops is unavailable at each call, and the store recovers when it is back")
  void databaseStoppedAndStarted(@TempDir Path data) throws Exception {
    int port = freePort();
    EmbeddedPostgres pg = startAt(data, port);
    String url = "jdbc:postgresql://localhost:" + port + "/postgres?user=postgres";
    try (SessionStore store =
        JdbcStores.openSessionStore(
            new StoreConfig(url, Map.of("connectionTimeoutMillis", "1000")))) {
      String id = store.createSession(newSession()).session().friendlyId();
      append(store, id, "\"one\"");

      pg.close();
      assertThatThrownBy(() -> append(store, id, "\"lost\""))
          .isInstanceOf(StoreUnavailableException.class);
      assertThatThrownBy(() -> store.lastSeq(id, StreamKind.OUT))
          .isInstanceOf(StoreUnavailableException.class);

      pg = startAt(data, port);
      // The pool reconnects in the background; until it has, calls keep failing as unavailable
      // (never as a conflict), and none of those failures may have written anything.
      await("the store to reconnect")
          .atMost(Duration.ofSeconds(15))
          .pollInterval(Duration.ofMillis(100))
          .ignoreException(StoreUnavailableException.class)
          .untilAsserted(() -> append(store, id, "\"two\""));
      assertIntact(store, id, "\"one\"", "\"two\"");
    } finally {
      pg.close();
    }
  }

  @Test
  @DisplayName("a watcher whose listening connection is killed listens again and keeps waking")
  void listenerKilled() throws Exception {
    String name = "dc_listener_" + UUID.randomUUID().toString().substring(0, 8);
    String urlB =
        TestPostgres.url()
            + (TestPostgres.url().contains("?") ? "&" : "?")
            + "ApplicationName="
            + name;
    try (SessionStore nodeA = JdbcStores.openSessionStore(TestPostgres.config(Map.of()));
        // B polls once a minute: only NOTIFY on a new listening connection can wake it in time.
        SessionStore nodeB =
            JdbcStores.openSessionStore(
                new StoreConfig(urlB, Map.of("pollIntervalMillis", "60000")));
        Connection admin = TestPostgres.connect()) {
      String id = nodeA.createSession(newSession()).session().friendlyId();
      var calls = new java.util.concurrent.atomic.AtomicInteger();
      AutoCloseable handle = nodeB.watch(id, StreamKind.OUT, calls::incrementAndGet);
      try {
        // B calls its watchers once each time its LISTEN is in place (anything may have landed
        // while nobody listened): the first call says it listens, the second that it listens
        // again after the kill. Both are markers, not waits for a time.
        await("node B listening").atMost(WAIT).until(() -> calls.get() >= 1);
        assertThat(
                await("node B's listening backend terminated")
                    .atMost(WAIT)
                    .until(() -> terminateListeners(admin, name), n -> n > 0))
            .as("listening backends of node B terminated")
            .isEqualTo(1);
        await("node B listening again").atMost(WAIT).until(() -> calls.get() >= 2);
        int before = calls.get();
        append(nodeA, id, "\"after the kill\"");
        await("woken through the new listening connection")
            .atMost(WAIT)
            .until(() -> calls.get() > before);
      } finally {
        handle.close();
      }
    }
  }

  /** Terminates the backends of the application that are listening; how many. */
  private static int terminateListeners(Connection admin, String application) throws Exception {
    try (PreparedStatement kill =
        admin.prepareStatement(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                + " WHERE application_name = ? AND query LIKE 'LISTEN%'")) {
      kill.setString(1, application);
      int killed = 0;
      try (ResultSet rs = kill.executeQuery()) {
        while (rs.next()) {
          killed++;
        }
      }
      return killed;
    }
  }

  @Test
  @DisplayName("a database nobody answers for is unavailable at open")
  void unreachable() throws Exception {
    String url = "jdbc:postgresql://127.0.0.1:" + freePort() + "/postgres?user=postgres";
    assertThatThrownBy(
            () ->
                JdbcStores.openSessionStore(
                    new StoreConfig(url, Map.of("connectionTimeoutMillis", "500"))))
        .isInstanceOf(StoreUnavailableException.class)
        .hasMessageContaining("127.0.0.1");
  }

  private static EmbeddedPostgres startAt(Path data, int port) throws Exception {
    return EmbeddedPostgres.builder()
        .setDataDirectory(data)
        .setCleanDataDirectory(false)
        .setPort(port)
        .start();
  }

  private static int freePort() throws Exception {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
