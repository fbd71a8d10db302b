package dev.durablechat.storage.jdbc;

import dev.durablechat.api.DurableChatException;
import dev.durablechat.api.StoreUnavailableException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The schema, versioned: each step's number is recorded in {@code dc_schema_version} once applied.
 * Steps only ever get appended; a database whose version is newer than this code is refused.
 *
 * <p>Two nodes may open at once. On PostgreSQL the migration runs in one transaction under an
 * advisory lock (DDL is transactional there). On H2, which commits around DDL, every statement is
 * idempotent ({@code IF NOT EXISTS}) and a duplicate version row is caught and re-checked.
 */
final class Schema {
  private static final Logger LOG = LoggerFactory.getLogger(Schema.class);

  /** The schema version this code writes and reads. */
  static final int CURRENT = 7;

  private static final String VERSION_TABLE =
      "CREATE TABLE IF NOT EXISTS dc_schema_version ("
          + " version INTEGER NOT NULL PRIMARY KEY,"
          + " applied_at TIMESTAMP WITH TIME ZONE NOT NULL)";

  private Schema() {}

  /** Version 1: sessions (with their per-stream counters), runs, records, snapshots. */
  private static List<String> version1(Dialect dialect) {
    var ddl = new java.util.ArrayList<String>();
    ddl.addAll(
        List.of(
            "CREATE TABLE IF NOT EXISTS dc_sessions ("
                + " friendly_id VARCHAR(160) NOT NULL PRIMARY KEY,"
                + " project_ref VARCHAR(64) NOT NULL,"
                + " env_slug VARCHAR(64) NOT NULL,"
                + " external_id VARCHAR(256),"
                + " agent_id VARCHAR(512) NOT NULL,"
                + " current_run_id VARCHAR(256),"
                + " version BIGINT NOT NULL,"
                + " client_data VARCHAR NOT NULL,"
                + " trigger_config VARCHAR NOT NULL,"
                + " created_at TIMESTAMP WITH TIME ZONE NOT NULL,"
                + " updated_at TIMESTAMP WITH TIME ZONE NOT NULL,"
                + " closed_at TIMESTAMP WITH TIME ZONE,"
                + " closed_reason VARCHAR(1024),"
                + " expires_at TIMESTAMP WITH TIME ZONE,"
                // The gapless counters live on the session row: an append locks that row anyway for
                // the status and fencing checks, so the counter costs no extra lock.
                + " last_in_seq BIGINT NOT NULL DEFAULT 0,"
                + " last_out_seq BIGINT NOT NULL DEFAULT 0,"
                + " CONSTRAINT dc_sessions_external_id UNIQUE (project_ref, env_slug, external_id))",
            "CREATE TABLE IF NOT EXISTS dc_session_runs ("
                + " session_id VARCHAR(160) NOT NULL REFERENCES dc_sessions (friendly_id),"
                + " run_id VARCHAR(256) NOT NULL,"
                + " ordinal BIGINT NOT NULL,"
                + " reason VARCHAR(32) NOT NULL,"
                + " previous_run_id VARCHAR(256),"
                + " started_at TIMESTAMP WITH TIME ZONE NOT NULL,"
                + " ended_at TIMESTAMP WITH TIME ZONE,"
                + " end_reason VARCHAR(1024),"
                + " PRIMARY KEY (session_id, run_id))",
            "CREATE UNIQUE INDEX IF NOT EXISTS dc_session_runs_order"
                + " ON dc_session_runs (session_id, ordinal)",
            "CREATE TABLE IF NOT EXISTS dc_records ("
                + " session_id VARCHAR(160) NOT NULL REFERENCES dc_sessions (friendly_id),"
                + " stream VARCHAR(8) NOT NULL,"
                + " seq BIGINT NOT NULL,"
                + " payload VARCHAR NOT NULL,"
                + " part_id VARCHAR(128),"
                + " created_at TIMESTAMP WITH TIME ZONE NOT NULL,"
                + " PRIMARY KEY (session_id, stream, seq))",
            dialect.partIdIndexDdl(),
            "CREATE TABLE IF NOT EXISTS dc_snapshots ("
                + " snapshot_key VARCHAR(512) NOT NULL PRIMARY KEY,"
                + " content BYTEA NOT NULL,"
                + " version VARCHAR(64) NOT NULL,"
                + " updated_at TIMESTAMP WITH TIME ZONE NOT NULL)"));
    ddl.addAll(dialect.extraDdl());
    return ddl;
  }

  /** Version 2: run leases, the heartbeat of a run's owner ({@code SessionStore.renewRun}). */
  private static List<String> version2() {
    return List.of(
        "ALTER TABLE dc_session_runs ADD COLUMN IF NOT EXISTS renewed_at"
            + " TIMESTAMP WITH TIME ZONE");
  }

  /**
   * Version 3: deleting and retiring sessions (S11). The snapshots of deleted sessions still to
   * delete, and the indexes the retention sweep's two queries use, so a sweep costs the same at a
   * million sessions as at a hundred: each index ends with the query's order (time, then id), so a
   * batch reads its rows in index order and stops at the limit. PostgreSQL gets partial indexes
   * (only the rows a sweep can want); H2 has none and indexes every row.
   */
  private static List<String> version3(Dialect dialect) {
    boolean partial = dialect instanceof Dialect.Postgres;
    return List.of(
        "CREATE TABLE IF NOT EXISTS dc_snapshot_deletions ("
            + " session_id VARCHAR(160) NOT NULL PRIMARY KEY,"
            + " project_ref VARCHAR(64) NOT NULL,"
            + " env_slug VARCHAR(64) NOT NULL,"
            + " deleted_at TIMESTAMP WITH TIME ZONE NOT NULL)",
        "CREATE INDEX IF NOT EXISTS dc_snapshot_deletions_order"
            + " ON dc_snapshot_deletions (project_ref, env_slug, deleted_at, session_id)",
        partial
            ? "CREATE INDEX IF NOT EXISTS dc_sessions_expiry"
                + " ON dc_sessions (project_ref, env_slug, expires_at, friendly_id)"
                + " WHERE closed_at IS NULL AND expires_at IS NOT NULL"
            : "CREATE INDEX IF NOT EXISTS dc_sessions_expiry"
                + " ON dc_sessions (project_ref, env_slug, closed_at, expires_at, friendly_id)",
        partial
            ? "CREATE INDEX IF NOT EXISTS dc_sessions_closed"
                + " ON dc_sessions (project_ref, env_slug, closed_at, friendly_id)"
                + " WHERE closed_at IS NOT NULL"
            : "CREATE INDEX IF NOT EXISTS dc_sessions_closed"
                + " ON dc_sessions (project_ref, env_slug, closed_at, friendly_id)");
  }

  /**
   * Version 5: recovery (S12). On the session row: whether its current run is running and whether
   * an {@code in} append landed while none was ({@code unserved}, the sweep's mark), and the
   * per-session attempt counter ({@code SessionStore.recordAttempt}); on the run row, {@code
   * alive_at}, the later of start and renewal, so that dead runs are found through an index.
   */
  private static List<String> version5(Dialect dialect) {
    var ddl = new java.util.ArrayList<String>();
    ddl.addAll(
        List.of(
            "ALTER TABLE dc_sessions ADD COLUMN IF NOT EXISTS run_running BOOLEAN"
                + " DEFAULT FALSE NOT NULL",
            "ALTER TABLE dc_sessions ADD COLUMN IF NOT EXISTS unserved BOOLEAN"
                + " DEFAULT FALSE NOT NULL",
            "ALTER TABLE dc_sessions ADD COLUMN IF NOT EXISTS attempt_in_seq BIGINT"
                + " DEFAULT 0 NOT NULL",
            "ALTER TABLE dc_sessions ADD COLUMN IF NOT EXISTS attempts INTEGER DEFAULT 0 NOT NULL",
            "ALTER TABLE dc_session_runs ADD COLUMN IF NOT EXISTS alive_at"
                + " TIMESTAMP WITH TIME ZONE",
            // Existing rows: idempotent, so a re-run on H2 finds them done.
            "UPDATE dc_session_runs SET alive_at = CASE WHEN renewed_at IS NOT NULL"
                + " AND renewed_at > started_at THEN renewed_at ELSE started_at END"
                + " WHERE alive_at IS NULL",
            "UPDATE dc_sessions SET run_running = TRUE WHERE EXISTS (SELECT 1 FROM"
                + " dc_session_runs r WHERE r.session_id = dc_sessions.friendly_id"
                + " AND r.run_id = dc_sessions.current_run_id AND r.ended_at IS NULL)"));
    ddl.addAll(dialect.recoveryIndexDdl());
    return ddl;
  }

  /**
   * Version 6: {@code dc_records} loses its foreign key to {@code dc_sessions}. Every insert into
   * it already holds the session row's lock (the append's counter update, or {@code SELECT ... FOR
   * UPDATE} on the locking path), and a delete takes that lock before it deletes the records and
   * then the row, so no record can outlive its session or land without one; the key only repeated
   * that check, at the price of an index probe and a row lock per inserted record. The constraint's
   * name is the database's own choice, so it is looked up.
   */
  private static void version6(Connection conn) throws SQLException {
    var names = new java.util.ArrayList<String>();
    try (Statement st = conn.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT constraint_name FROM information_schema.table_constraints"
                    + " WHERE LOWER(table_name) = 'dc_records'"
                    + " AND constraint_type = 'FOREIGN KEY'")) {
      while (rs.next()) {
        names.add(rs.getString(1));
      }
    }
    for (String name : names) {
      execute(conn, "ALTER TABLE dc_records DROP CONSTRAINT IF EXISTS \"" + name + "\"");
    }
  }

  /** Brings the database up to {@link #CURRENT}, or fails if it is newer. */
  static void migrate(Database db) {
    if (db.dialect().transactionalDdl()) {
      migrateOnce(db);
      return;
    }
    // H2 commits around DDL and its IF NOT EXISTS is not atomic under concurrent creators
    // ("object already exists"): serialise the openers of this JVM, and if another process
    // (AUTO_SERVER) raced us, run the idempotent steps again, which then find everything there.
    synchronized (Schema.class) {
      for (int attempt = 1; ; attempt++) {
        try {
          migrateOnce(db);
          return;
        } catch (StoreUnavailableException e) {
          if (attempt >= 3) {
            throw e;
          }
          LOG.debug("jdbc store [{}]: migration raced, checking again", db.description(), e);
        }
      }
    }
  }

  private static void migrateOnce(Database db) {
    Dialect dialect = db.dialect();
    db.inTransaction(
        "jdbc store [" + db.description() + "]: schema migration",
        conn -> {
          boolean transactional = dialect.transactionalDdl();
          dialect.lockForMigration(conn);
          execute(conn, VERSION_TABLE);
          if (!transactional) {
            conn.commit();
          }
          int found = currentVersion(conn);
          if (found > CURRENT) {
            throw new DurableChatException(
                "jdbc store ["
                    + db.description()
                    + "]: schema version ["
                    + found
                    + "] is newer than this library supports ["
                    + CURRENT
                    + "]; upgrade durablechat-storage-jdbc");
          }
          if (found < 1) {
            for (String ddl : version1(dialect)) {
              execute(conn, ddl);
            }
            recordVersion(conn, 1, transactional);
            LOG.info("jdbc store [{}]: created schema version 1", db.description());
          }
          if (found < 2) {
            for (String ddl : version2()) {
              execute(conn, ddl);
            }
            recordVersion(conn, 2, transactional);
            LOG.info("jdbc store [{}]: migrated to schema version 2", db.description());
          }
          if (found < 3) {
            for (String ddl : version3(dialect)) {
              execute(conn, ddl);
            }
            recordVersion(conn, 3, transactional);
            LOG.info("jdbc store [{}]: migrated to schema version 3", db.description());
          }
          if (found < 4) {
            for (String ddl : SessionListing.ddl()) {
              execute(conn, ddl);
            }
            SessionListing.backfillTags(conn);
            recordVersion(conn, 4, transactional);
            LOG.info("jdbc store [{}]: migrated to schema version 4", db.description());
          }
          if (found < 5) {
            for (String ddl : version5(dialect)) {
              execute(conn, ddl);
            }
            recordVersion(conn, 5, transactional);
            LOG.info("jdbc store [{}]: migrated to schema version 5", db.description());
          }
          if (found < 6) {
            version6(conn);
            recordVersion(conn, 6, transactional);
            LOG.info("jdbc store [{}]: migrated to schema version 6", db.description());
          }
          if (found < 7) {
            for (String ddl : dialect.version7Ddl()) {
              execute(conn, ddl);
            }
            recordVersion(conn, 7, transactional);
            LOG.info("jdbc store [{}]: migrated to schema version 7", db.description());
          }
          return null;
        });
  }

  private static int currentVersion(Connection conn) throws SQLException {
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("SELECT MAX(version) FROM dc_schema_version")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private static void recordVersion(Connection conn, int version, boolean transactional)
      throws SQLException {
    try (PreparedStatement ps =
        conn.prepareStatement(
            "INSERT INTO dc_schema_version (version, applied_at) VALUES (?, ?)")) {
      ps.setInt(1, version);
      Database.setInstant(ps, 2, Instant.now());
      ps.executeUpdate();
    } catch (SQLException e) {
      // Without a migration lock (H2) another opener may have recorded it first: its steps were
      // the same idempotent statements, so the schema is there either way.
      if (transactional || !SqlFailures.isUniqueViolation(e)) {
        throw e;
      }
      conn.rollback();
    }
  }

  private static void execute(Connection conn, String sql) throws SQLException {
    try (Statement st = conn.createStatement()) {
      st.execute(sql);
    }
  }
}
