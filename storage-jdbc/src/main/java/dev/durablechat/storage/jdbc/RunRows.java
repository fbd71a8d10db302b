package dev.durablechat.storage.jdbc;

import dev.durablechat.api.NoSuchRunException;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.SessionRun;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The {@code dc_session_runs} rows, a session's audit trail of runs: insert, end, renew, select.
 * Each method works in the caller's transaction ({@link Database#inTransaction}).
 */
final class RunRows {
  private static final String COLUMNS =
      "run_id, session_id, reason, previous_run_id, started_at, ended_at, end_reason, renewed_at";

  private final Database db;

  RunRows(Database db) {
    this.db = db;
  }

  /** Inserts the run as the session's {@code ordinal}-th (its session version). */
  void insert(Connection conn, String sessionId, SessionRun run, long ordinal) throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "INSERT INTO dc_session_runs (session_id, run_id, ordinal, reason,"
                + " previous_run_id, started_at, ended_at, end_reason, renewed_at, alive_at)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
      ps.setString(1, sessionId);
      ps.setString(2, run.runId());
      ps.setLong(3, ordinal);
      ps.setString(4, run.reason().wireName());
      ps.setString(5, run.previousRunId());
      Database.setInstant(ps, 6, run.startedAt());
      Database.setInstant(ps, 7, run.endedAt());
      ps.setString(8, run.endReason());
      Database.setInstant(ps, 9, run.renewedAt());
      Database.setInstant(ps, 10, run.lastAliveAt());
      ps.executeUpdate();
    }
  }

  /** Ends the run if it is still running; the first end's time and reason are kept (S6). */
  void endIfRunning(Connection conn, String sessionId, String runId, Instant at, String endReason)
      throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "UPDATE dc_session_runs SET ended_at = ?, end_reason = ?"
                + " WHERE session_id = ? AND run_id = ? AND ended_at IS NULL")) {
      Database.setInstant(ps, 1, at);
      ps.setString(2, endReason);
      ps.setString(3, sessionId);
      ps.setString(4, runId);
      ps.executeUpdate();
    }
  }

  void renew(Connection conn, String sessionId, String runId, Instant now) throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "UPDATE dc_session_runs SET renewed_at = ?, alive_at = ?"
                + " WHERE session_id = ? AND run_id = ?")) {
      // alive_at is lastAliveAt() kept as a column, for the recovery query's index (S12).
      Database.setInstant(ps, 1, now);
      Database.setInstant(ps, 2, now);
      ps.setString(3, sessionId);
      ps.setString(4, runId);
      ps.executeUpdate();
    }
  }

  /**
   * The run.
   *
   * @throws NoSuchRunException if the session has no such run
   */
  SessionRun select(Connection conn, String sessionId, String runId) throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "SELECT " + COLUMNS + " FROM dc_session_runs WHERE session_id = ? AND run_id = ?")) {
      ps.setString(1, sessionId);
      ps.setString(2, runId);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw new NoSuchRunException("session [" + sessionId + "] has no run [" + runId + "]");
        }
        return read(rs);
      }
    }
  }

  /** The session's runs, oldest first. */
  List<SessionRun> all(Connection conn, String sessionId) throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "SELECT " + COLUMNS + " FROM dc_session_runs WHERE session_id = ? ORDER BY ordinal")) {
      ps.setString(1, sessionId);
      try (ResultSet rs = ps.executeQuery()) {
        var runs = new ArrayList<SessionRun>();
        while (rs.next()) {
          runs.add(read(rs));
        }
        return List.copyOf(runs);
      }
    }
  }

  private static SessionRun read(ResultSet rs) throws SQLException {
    return new SessionRun(
        rs.getString("run_id"),
        rs.getString("session_id"),
        RunReason.fromWireName(rs.getString("reason")),
        rs.getString("previous_run_id"),
        Objects.requireNonNull(Database.getInstant(rs, "started_at")),
        Database.getInstant(rs, "ended_at"),
        rs.getString("end_reason"),
        Database.getInstant(rs, "renewed_at"));
  }
}
