package dev.durablechat.storage.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.storage.tck.SessionDeletionContract;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("the jdbc SessionStore on PostgreSQL keeps the delete and retention contract (S11)")
class PostgresSessionDeletionTest extends SessionDeletionContract {

  @Override
  protected SessionStore openStore() {
    return JdbcStores.openSessionStore(TestPostgres.config(Map.of()));
  }

  /** The plan of a retention query with its parameters filled in. */
  private static String plan(String sql) throws SQLException {
    String filled =
        sql.replaceFirst("\\?", "'tck'")
            .replaceFirst("\\?", "'plan'")
            .replaceFirst("\\?", "now()")
            .replaceFirst("\\?", "100");
    try (Connection conn = DriverManager.getConnection(TestPostgres.url());
        Statement st = conn.createStatement()) {
      // Whatever the table's size: can the index serve the query, order and limit included?
      st.execute("SET enable_seqscan = off");
      var plan = new StringBuilder();
      try (ResultSet rs = st.executeQuery("EXPLAIN " + filled)) {
        while (rs.next()) {
          plan.append(rs.getString(1)).append('\n');
        }
      }
      return plan.toString();
    }
  }

  @Test
  @DisplayName(
      "without a foreign key (schema version 6), appends racing a delete leave no record behind,"
          + " and the key is gone")
  void racingDeleteLeavesNoOrphans() throws Exception {
    try (SessionStore store = openStore()) {
      JdbcSmokeTest.assertNoOrphansAfterRacingDelete(store, TestPostgres::connect);
    }
    try (Connection conn = TestPostgres.connect()) {
      assertThat(JdbcSmokeTest.recordForeignKeys(conn)).isZero();
    }
  }

  @Test
  @DisplayName(
      "retention (S11): the sweep's queries read their index in order and stop at the limit (no"
          + " sort of every match), so a batch costs the same at any number of sessions")
  void queriesAreIndexBacked() throws SQLException {
    assertThat(plan(RetentionRows.EXPIRED)).contains("dc_sessions_expiry").doesNotContain("Sort");
    assertThat(plan(RetentionRows.CLOSED)).contains("dc_sessions_closed").doesNotContain("Sort");
  }
}
