package dev.durablechat.storage.jdbc;

import dev.durablechat.api.spi.StoreCapability;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Everything that differs between the databases we support; the rest of the module speaks one SQL
 * dialect that H2 2.x (in any mode) and PostgreSQL 15 both accept (checked: no {@code RETURNING},
 * no {@code ON CONFLICT (col)}, no {@code TIMESTAMPTZ} alias).
 */
abstract class Dialect {

  /** The channel every PostgreSQL store listens on; the payload names session and stream. */
  static final String CHANNEL = "durablechat";

  /**
   * A transaction-local PostgreSQL setting an append sets once it has queued its own NOTIFY, so
   * that the row trigger of schema version 7 does not notify again.
   */
  static final String NOTIFIED_SETTING = "durablechat.notified";

  /** A short name for messages and logs. */
  abstract String name();

  /** The capabilities a session store on this database declares. */
  abstract Set<StoreCapability> capabilities();

  /** Whether appends notify other nodes (LISTEN/NOTIFY) so that watchers need not poll. */
  abstract boolean pushesAppends();

  /** Whether DDL runs inside a transaction (and so a migration can be one transaction). */
  abstract boolean transactionalDdl();

  /**
   * Serialises schema migration between nodes for the duration of the transaction {@code conn} is
   * in, where the database can.
   */
  abstract void lockForMigration(Connection conn) throws SQLException;

  /** The DDL of the unique part-id index: one record per part id, any number without one. */
  abstract String partIdIndexDdl();

  /** Statements of schema version 1 that only this database has, run after the tables exist. */
  abstract List<String> extraDdl();

  /**
   * One statement that adds {@code ?} (parameter 1) to the counter column of the session {@code ?}
   * (parameter 2) only if it is open and not expired at {@code ?} (parameter 3) and, when {@code
   * fenced}, only if {@code ?} (parameter 4) is its current run; its result set holds the new
   * counter, or no row when nothing was updated. The update takes the row lock for the rest of the
   * transaction, as {@code SELECT ... FOR UPDATE} would.
   */
  abstract String claimSeqsSql(String counter, boolean fenced);

  /**
   * One statement that claims the sequence numbers as {@link #claimSeqsSql} does and inserts the
   * records numbered from them, or null if this database cannot do both in one statement (then the
   * claim and the insert are two). Parameters: those of {@link #claimSeqsSql} (1 to 3, or 4 when
   * {@code fenced}), then the session id, the stream, and for a single record its payload, its part
   * id and the time; for a batch ({@code single} false) the batch's size, the time and the payloads
   * as one {@code VARCHAR} array. Both times are bound as ISO-8601 text ({@link #timeParameter}).
   * Its result set holds the new counter, or no row when the session did not qualify (nothing
   * written).
   */
  @Nullable String claimAndInsertSql(String counter, boolean fenced, boolean single) {
    return null;
  }

  static String claimSeqsUpdate(String counter, boolean fenced) {
    return claimSeqsUpdate(counter, fenced, "?");
  }

  /**
   * {@link #claimSeqsUpdate(String, boolean)} with the SQL expression {@code now} (one parameter)
   * in place of the time's plain {@code ?}.
   */
  static String claimSeqsUpdate(String counter, boolean fenced, String now) {
    return "UPDATE dc_sessions SET "
        + counter
        + " = "
        + counter
        + " + ?"
        + markUnserved(counter)
        + " WHERE friendly_id = ? AND closed_at IS NULL"
        + " AND (expires_at IS NULL OR expires_at > "
        + now
        + ")"
        + (fenced ? " AND current_run_id = ?" : "");
  }

  /**
   * Schema version 7's statements: on PostgreSQL the cheaper wake-up of other nodes ({@link
   * Postgres#version7Ddl}), on H2 part ids in a table of their own ({@link H2#version7Ddl}).
   */
  abstract List<String> version7Ddl();

  /**
   * Whether part ids are kept unique in {@code dc_record_parts} (schema version 7 on H2) rather
   * than by a unique index on {@code dc_records}. The record row keeps its part id either way.
   */
  abstract boolean partIdsInOwnTable();

  /**
   * For an {@code in} append, the SET clause that marks the session unserved when no run of it is
   * running (S12: the recovery sweep finds it); nothing for {@code out}.
   */
  static String markUnserved(String counter) {
    return counter.equals("last_in_seq")
        ? ", unserved = CASE WHEN run_running THEN unserved ELSE TRUE END"
        : "";
  }

  /**
   * Schema version 5's indexes for the recovery query (S12): the running runs by the time they were
   * last alive, and the sessions marked unserved. Both stay small next to their tables: they hold
   * the live runs and the marked sessions only (PostgreSQL's partial indexes), or sort those first.
   */
  abstract List<String> recoveryIndexDdl();

  /**
   * What follows the sessions table's alias in the recovery query's unserved half to keep it on
   * {@code dc_sessions_unserved}: nothing on PostgreSQL (its partial index is the only one that
   * small); an index hint on H2, whose planner, with no statistics to go by, otherwise prefers an
   * index that matches more equality columns (the retention sweep's {@code dc_sessions_closed}) and
   * reads every open session of the environment.
   */
  String unservedIndexHint() {
    return "";
  }

  /**
   * {@code now} as the text {@link #claimAndInsertSql} binds: ISO-8601 in UTC, rounded to the
   * microsecond half up as pgjdbc rounds an {@code OffsetDateTime}, so a record's time is the same
   * whichever path stored it.
   */
  static String timeParameter(Instant now) {
    Instant t = now.getNano() % 1_000 >= 500 ? now.plusNanos(1_000) : now;
    return t.truncatedTo(ChronoUnit.MICROS).toString();
  }

  /** The dialect of the database {@code conn} is connected to. */
  static Dialect of(Connection conn) throws SQLException {
    DatabaseMetaData meta = conn.getMetaData();
    String product = meta.getDatabaseProductName().toLowerCase(Locale.ROOT);
    if (product.contains("postgres")) {
      return new Postgres();
    }
    if (product.contains("h2")) {
      return new H2();
    }
    throw new IllegalArgumentException(
        "jdbc store: database ["
            + meta.getDatabaseProductName()
            + "] is not supported, expected [H2] or [PostgreSQL]");
  }

  static final class H2 extends Dialect {
    @Override
    String name() {
      return "h2";
    }

    @Override
    Set<StoreCapability> capabilities() {
      // An H2 file belongs to one process (AUTO_SERVER aside, which we do not promise): no
      // SHARED_ACROSS_PROCESSES.
      return EnumSet.of(StoreCapability.TRIM, StoreCapability.RUN_LEASES, StoreCapability.RECOVERY);
    }

    @Override
    boolean pushesAppends() {
      return false;
    }

    @Override
    boolean transactionalDdl() {
      return false;
    }

    @Override
    void lockForMigration(Connection conn) {
      // H2 commits around DDL, so no lock can span the migration; every step is written to be
      // idempotent (IF NOT EXISTS), Schema serialises this JVM's openers, and a duplicate version
      // row or a creation race is caught and checked again.
    }

    @Override
    String partIdIndexDdl() {
      // H2 has no partial indexes, but its unique indexes let any number of NULLs through
      // (NULLS DISTINCT, also in MODE=PostgreSQL); JdbcSmokeTest checks it.
      return "CREATE UNIQUE INDEX IF NOT EXISTS dc_records_part_id"
          + " ON dc_records (session_id, stream, part_id)";
    }

    @Override
    String claimSeqsSql(String counter, boolean fenced) {
      // H2 has no RETURNING; its data change delta table reads the updated row in one statement.
      return "SELECT " + counter + " FROM FINAL TABLE (" + claimSeqsUpdate(counter, fenced) + ")";
    }

    @Override
    List<String> recoveryIndexDdl() {
      // No partial indexes on H2: the leading column puts the running runs (ended_at NULL) and the
      // unserved sessions (TRUE) in one range of the index.
      return List.of(
          "CREATE INDEX IF NOT EXISTS dc_session_runs_alive ON dc_session_runs (ended_at, alive_at)",
          "CREATE INDEX IF NOT EXISTS dc_sessions_unserved ON dc_sessions (unserved, friendly_id)");
    }

    @Override
    String unservedIndexHint() {
      return " USE INDEX (dc_sessions_unserved)";
    }

    /**
     * Version 7: part ids move to {@code dc_record_parts}, written only by an append that has one,
     * and the unique index on {@code dc_records} goes. H2 has no partial indexes, so that index
     * held every record, part id or not, and every append wrote it (a B-tree page re-serialized at
     * each commit); now an append without a part id writes the records table alone, as a plain
     * insert does. Idempotent, as every H2 step must be.
     */
    @Override
    List<String> version7Ddl() {
      return List.of(
          "CREATE TABLE IF NOT EXISTS dc_record_parts ("
              + " session_id VARCHAR(160) NOT NULL,"
              + " stream VARCHAR(8) NOT NULL,"
              + " part_id VARCHAR(128) NOT NULL,"
              + " seq BIGINT NOT NULL,"
              + " PRIMARY KEY (session_id, stream, part_id))",
          "INSERT INTO dc_record_parts (session_id, stream, part_id, seq)"
              + " SELECT r.session_id, r.stream, r.part_id, r.seq FROM dc_records r"
              + " WHERE r.part_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dc_record_parts p"
              + " WHERE p.session_id = r.session_id AND p.stream = r.stream"
              + " AND p.part_id = r.part_id)",
          "DROP INDEX IF EXISTS dc_records_part_id");
    }

    @Override
    boolean partIdsInOwnTable() {
      return true;
    }

    @Override
    List<String> extraDdl() {
      // No cross-process push on H2: in-process watchers are woken directly, others poll.
      return List.of();
    }
  }

  static final class Postgres extends Dialect {
    /** An arbitrary constant: the advisory lock key of durablechat's schema migration. */
    private static final long MIGRATION_LOCK = 0x6463686174L; // "dchat"

    @Override
    String name() {
      return "postgresql";
    }

    @Override
    Set<StoreCapability> capabilities() {
      return EnumSet.of(
          StoreCapability.TRIM,
          StoreCapability.SHARED_ACROSS_PROCESSES,
          StoreCapability.RUN_LEASES,
          StoreCapability.RECOVERY);
    }

    @Override
    boolean pushesAppends() {
      return true;
    }

    @Override
    boolean transactionalDdl() {
      return true;
    }

    @Override
    void lockForMigration(Connection conn) throws SQLException {
      try (Statement st = conn.createStatement()) {
        st.execute("SELECT pg_advisory_xact_lock(" + MIGRATION_LOCK + ")");
      }
    }

    @Override
    String partIdIndexDdl() {
      return "CREATE UNIQUE INDEX IF NOT EXISTS dc_records_part_id"
          + " ON dc_records (session_id, stream, part_id) WHERE part_id IS NOT NULL";
    }

    @Override
    String claimSeqsSql(String counter, boolean fenced) {
      return claimSeqsUpdate(counter, fenced) + " RETURNING " + counter;
    }

    @Override
    String claimAndInsertSql(String counter, boolean fenced, boolean single) {
      // A data-modifying CTE: the update and the insert are one statement, so an append is one
      // round trip plus the commit, as a plain insert is. The insert reads the claimed counter
      // from the update's RETURNING, so the numbers stay those the row lock made gapless; if the
      // update matched nothing, the insert inserts nothing.
      //
      // The claim's RETURNING also queues this append's NOTIFY for other nodes (delivered at
      // commit, dropped with a rollback) and marks the transaction as notified, so that the
      // row trigger of schema version 7, which wakes others for inserts that do not notify
      // themselves (an older node's), skips these rows: a function call instead of a PL/pgSQL
      // statement trigger with a transition table, which cost as much as the insert itself.
      //
      // The times are text cast on the server (timeParameter): pgjdbc's own binding of a
      // timestamp builds a calendar per statement, a quarter of an append's CPU in the client.
      String now = "CAST(? AS TIMESTAMP WITH TIME ZONE)";
      String stream = counter.equals("last_in_seq") ? "in" : "out";
      String rows =
          single
              ? "SELECT ?, ?, c." + counter + ", ?, ?, " + now + " FROM c"
              : "SELECT ?, ?, c."
                  + counter
                  + " - ? + r.n, r.payload, NULL, "
                  + now
                  + " FROM c,"
                  + " unnest(CAST(? AS VARCHAR[])) WITH ORDINALITY AS r (payload, n)";
      return "WITH c AS ("
          + claimSeqsUpdate(counter, fenced, now)
          + " RETURNING "
          + counter
          + ", pg_notify('"
          + CHANNEL
          + "', '"
          + stream
          + ":' || friendly_id) AS notified, set_config('"
          + NOTIFIED_SETTING
          + "', 'on', TRUE) AS marked"
          + "), i AS (INSERT INTO dc_records (session_id, stream, seq, payload, part_id,"
          + " created_at) "
          + rows
          + ") SELECT "
          + counter
          + " FROM c";
    }

    /**
     * Version 7: the statement trigger of version 1 (PL/pgSQL over a transition table, run for
     * every insert) becomes a row trigger that runs only for inserts whose transaction has not
     * notified by itself ({@link #NOTIFIED_SETTING} unset): those of the locking path and of older
     * nodes during a rolling upgrade, whose appends still wake every node. The one-statement append
     * notifies in its own statement and the trigger's condition, checked as each row is queued,
     * skips it.
     */
    @Override
    boolean partIdsInOwnTable() {
      // The partial unique index costs rows without a part id nothing, and a taken part id fails
      // the one-statement append, which is how it learns of the duplicate.
      return false;
    }

    @Override
    List<String> version7Ddl() {
      return List.of(
          "CREATE OR REPLACE FUNCTION dc_notify_append_row() RETURNS trigger LANGUAGE plpgsql AS $$"
              + " BEGIN"
              + " PERFORM pg_notify('"
              + CHANNEL
              + "', NEW.stream || ':' || NEW.session_id);"
              + " RETURN NULL;"
              + " END $$",
          "DROP TRIGGER IF EXISTS dc_records_notify ON dc_records",
          "DROP FUNCTION IF EXISTS dc_notify_append()",
          "CREATE TRIGGER dc_records_notify AFTER INSERT ON dc_records FOR EACH ROW"
              + " WHEN (current_setting('"
              + NOTIFIED_SETTING
              + "', TRUE) IS DISTINCT FROM 'on')"
              + " EXECUTE FUNCTION dc_notify_append_row()");
    }

    @Override
    List<String> recoveryIndexDdl() {
      return List.of(
          "CREATE INDEX IF NOT EXISTS dc_session_runs_alive ON dc_session_runs (alive_at)"
              + " WHERE ended_at IS NULL",
          "CREATE INDEX IF NOT EXISTS dc_sessions_unserved ON dc_sessions (friendly_id)"
              + " WHERE unserved");
    }

    @Override
    List<String> extraDdl() {
      // Every insert into dc_records queues one NOTIFY per (stream, session) it touched, in the
      // inserting transaction: delivered to every node's listener at commit, never for a rolled
      // back append, and without a round trip of its own. WatchHub parses the payload
      // "stream:session".
      return List.of(
          "CREATE OR REPLACE FUNCTION dc_notify_append() RETURNS trigger LANGUAGE plpgsql AS $$"
              + " BEGIN"
              + " PERFORM pg_notify('"
              + CHANNEL
              + "', n.stream || ':' || n.session_id)"
              + " FROM (SELECT DISTINCT stream, session_id FROM dc_new_records) n;"
              + " RETURN NULL;"
              + " END $$",
          "CREATE TRIGGER dc_records_notify AFTER INSERT ON dc_records"
              + " REFERENCING NEW TABLE AS dc_new_records"
              + " FOR EACH STATEMENT EXECUTE FUNCTION dc_notify_append()");
    }
  }
}
