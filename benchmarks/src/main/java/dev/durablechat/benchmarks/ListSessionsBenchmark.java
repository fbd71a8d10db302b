package dev.durablechat.benchmarks;

import dev.durablechat.api.Environment;
import dev.durablechat.api.SessionPage;
import dev.durablechat.api.SessionQuery;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.core.DurableChat;
import dev.durablechat.storage.jdbc.JdbcStores;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Listing sessions: one page of 50 out of {@code sessions} (100,000 by default) through {@code
 * DurableChat.listSessions} (keyset pagination over the {@code dc_sessions_listing} index), at page
 * 1 and at page 1,000, against the same page read with {@code LIMIT 50 OFFSET n} (what an
 * unindexed-cursor listing does), same pool, same rows. The keyset page should cost the same at any
 * depth; the offset page grows with it. Scores are milliseconds per page.
 *
 * <p>The sessions are inserted once per database (in an environment named after their count) with
 * one JDBC batch per 5,000 rows, in the store's own table, then {@code ANALYZE}d on PostgreSQL.
 *
 * <p>Run on PostgreSQL: {@code PG_JDBC_URL=jdbc:postgresql://127.0.0.1:55432/DB?user=postgres java
 * -jar benchmarks/target/benchmarks.jar ListSessionsBenchmark -f 1 -wi 3 -w 2s -i 5 -r 2s}; add
 * {@code -p db=h2,pg} for H2 as well.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class ListSessionsBenchmark {
  static final int PAGE = 50;
  private static final Instant BASE = Instant.parse("2026-01-01T00:00:00Z");

  /** The database: {@code pg} (needs {@code PG_JDBC_URL}) or {@code h2}. */
  @Param({"pg"})
  public String db;

  /** How many sessions the environment holds. */
  @Param({"100000"})
  public int sessions;

  /** Which page to read, from 1. */
  @Param({"1", "1000"})
  public int page;

  private Fixture.Database database;
  private SessionStore store;
  private DurableChat chat;
  private Environment env;
  private SessionQuery query;

  /** Opens the store (which migrates the schema), loads the sessions once, makes the cursor. */
  @Setup(Level.Trial)
  public void setUp() throws SQLException {
    database = Fixture.Database.open(db);
    store = JdbcStores.sessionStore(database.dataSource);
    env = new Environment("bench", "list-" + sessions);
    chat = DurableChat.builder().environment(env).sessionStore(store).build();
    load();
    SessionQuery.Builder b = SessionQuery.builder().limit(PAGE);
    if (page > 1) {
      // Newest first, page p starts after session number sessions - (p - 1) * PAGE.
      int last = sessions - (page - 1) * PAGE;
      if (last < 0) {
        throw new IllegalArgumentException("page [" + page + "] is past the last page");
      }
      b.cursor(
          SessionQuery.all().cursorAfter(new SessionQuery.Position(createdAt(last), id(last))));
    }
    query = b.build();
    SessionPage check = chat.listSessions(query);
    if (check.sessions().size() != PAGE
        || !check.sessions().get(0).friendlyId().equals(id(sessions - 1 - (page - 1) * PAGE))) {
      throw new IllegalStateException("page [" + page + "] is not the expected page: " + check);
    }
  }

  private static String id(int i) {
    return String.format("session_bench%08d", i);
  }

  private static Instant createdAt(int i) {
    return BASE.plusMillis(i);
  }

  private void load() throws SQLException {
    try (Connection c = database.dataSource.getConnection()) {
      try (PreparedStatement count =
          c.prepareStatement(
              "SELECT COUNT(*) FROM dc_sessions WHERE project_ref = ? AND env_slug = ?")) {
        count.setString(1, env.projectRef());
        count.setString(2, env.envSlug());
        try (ResultSet rs = count.executeQuery()) {
          rs.next();
          if (rs.getInt(1) == sessions) {
            return;
          }
        }
      }
      c.setAutoCommit(false);
      try (PreparedStatement ps =
          c.prepareStatement(
              "INSERT INTO dc_sessions (friendly_id, project_ref, env_slug, external_id, agent_id,"
                  + " current_run_id, version, client_data, trigger_config, created_at,"
                  + " updated_at, closed_at, closed_reason, expires_at)"
                  + " VALUES (?, ?, ?, ?, ?, NULL, 0, '{}', '{}', ?, ?, NULL, NULL, NULL)")) {
        for (int i = 0; i < sessions; i++) {
          OffsetDateTime at = OffsetDateTime.ofInstant(createdAt(i), ZoneOffset.UTC);
          ps.setString(1, id(i));
          ps.setString(2, env.projectRef());
          ps.setString(3, env.envSlug());
          ps.setString(4, "chat-" + i);
          ps.setString(5, i % 2 == 0 ? "writer" : "reader");
          ps.setObject(6, at);
          ps.setObject(7, at);
          ps.addBatch();
          if ((i + 1) % 5_000 == 0) {
            ps.executeBatch();
            c.commit();
          }
        }
        ps.executeBatch();
        c.commit();
      }
      if (db.equals("pg")) {
        c.setAutoCommit(true);
        try (var st = c.createStatement()) {
          st.execute("ANALYZE dc_sessions");
        }
      }
    }
  }

  /** Closes the engine, the store and the database (the sessions stay for the next run). */
  @TearDown(Level.Trial)
  public void tearDown() {
    chat.close();
    store.close();
    database.close();
  }

  /** Ours: the page through the engine and the store, keyset over the listing index. */
  @Benchmark
  public int keyset() {
    return chat.listSessions(query).sessions().size();
  }

  /** The alternative: the same page by OFFSET, same rows, same order, same pool. */
  @Benchmark
  public int offset() throws SQLException {
    try (Connection c = database.dataSource.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT friendly_id, project_ref, env_slug, external_id, agent_id,"
                    + " current_run_id, version, client_data, trigger_config, created_at,"
                    + " updated_at, closed_at, closed_reason, expires_at FROM dc_sessions"
                    + " WHERE project_ref = ? AND env_slug = ?"
                    + " ORDER BY created_at DESC, friendly_id DESC LIMIT ? OFFSET ?")) {
      ps.setString(1, env.projectRef());
      ps.setString(2, env.envSlug());
      ps.setInt(3, PAGE + 1);
      ps.setInt(4, (page - 1) * PAGE);
      int n = 0;
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          n++;
        }
      }
      return n;
    }
  }
}
