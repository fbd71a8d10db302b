package dev.durablechat.storage.jdbc;

import dev.durablechat.api.Environment;
import dev.durablechat.api.Session;
import dev.durablechat.api.SnapshotKey;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Deleting sessions and what retention sweeps look for (S11): the whole delete in the caller's
 * transaction, the {@code dc_snapshot_deletions} records, and the index-backed queries for expired
 * and long-closed sessions (schema version 3).
 */
final class RetentionRows {
  /** Open sessions expired at parameter 3; index {@code dc_sessions_expiry} gives its order. */
  static final String EXPIRED =
      "SELECT "
          + SessionRows.COLUMNS
          + " FROM dc_sessions WHERE project_ref = ? AND env_slug = ? AND closed_at IS NULL"
          + " AND expires_at IS NOT NULL AND expires_at <= ?"
          + " ORDER BY expires_at, friendly_id LIMIT ?";

  /** Sessions closed before parameter 3; index {@code dc_sessions_closed} gives its order. */
  static final String CLOSED =
      "SELECT "
          + SessionRows.COLUMNS
          + " FROM dc_sessions WHERE project_ref = ? AND env_slug = ?"
          + " AND closed_at IS NOT NULL AND closed_at < ?"
          + " ORDER BY closed_at, friendly_id LIMIT ?";

  private final Database db;
  private final SessionRows sessions;

  RetentionRows(Database db, SessionRows sessions) {
    this.db = db;
    this.sessions = sessions;
  }

  /**
   * Deletes the session's records, runs and row, and records its snapshot as still to delete, all
   * in the caller's transaction; on PostgreSQL also queues a notification per stream, so other
   * nodes' watchers look and find it gone. Empty, with nothing changed, if there is no session.
   */
  Optional<Session> delete(Connection conn, String sessionId, Instant at) throws SQLException {
    // The row lock orders the delete after any append or swap that holds it, and makes a racing
    // append wait and then find no row.
    Optional<Session> found = sessions.byFriendlyId(conn, sessionId, true);
    if (found.isEmpty()) {
      return found;
    }
    Session session = found.get();
    update(conn, "DELETE FROM dc_records WHERE session_id = ?", sessionId);
    if (db.dialect().partIdsInOwnTable()) {
      update(conn, "DELETE FROM dc_record_parts WHERE session_id = ?", sessionId);
    }
    update(conn, "DELETE FROM dc_session_runs WHERE session_id = ?", sessionId);
    update(conn, "DELETE FROM dc_sessions WHERE friendly_id = ?", sessionId);
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "INSERT INTO dc_snapshot_deletions (session_id, project_ref, env_slug, deleted_at)"
                + " VALUES (?, ?, ?, ?)")) {
      ps.setString(1, sessionId);
      ps.setString(2, session.environment().projectRef());
      ps.setString(3, session.environment().envSlug());
      Database.setInstant(ps, 4, at);
      ps.executeUpdate();
    }
    if (db.dialect().pushesAppends()) {
      try (PreparedStatement ps = db.prepare(conn, "SELECT pg_notify(?, ?), pg_notify(?, ?)")) {
        ps.setString(1, Dialect.CHANNEL);
        ps.setString(2, "in:" + sessionId);
        ps.setString(3, Dialect.CHANNEL);
        ps.setString(4, "out:" + sessionId);
        ps.executeQuery().close();
      }
    }
    return found;
  }

  List<SnapshotKey> pendingSnapshotDeletions(Connection conn, Environment env, int limit)
      throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "SELECT session_id FROM dc_snapshot_deletions WHERE project_ref = ? AND env_slug = ?"
                + " ORDER BY deleted_at, session_id LIMIT ?")) {
      ps.setString(1, env.projectRef());
      ps.setString(2, env.envSlug());
      ps.setInt(3, limit);
      var keys = new ArrayList<SnapshotKey>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          keys.add(new SnapshotKey(env, rs.getString(1)));
        }
      }
      return keys;
    }
  }

  void snapshotDeleted(Connection conn, SnapshotKey key) throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "DELETE FROM dc_snapshot_deletions WHERE session_id = ? AND project_ref = ?"
                + " AND env_slug = ?")) {
      ps.setString(1, key.sessionId());
      ps.setString(2, key.environment().projectRef());
      ps.setString(3, key.environment().envSlug());
      ps.executeUpdate();
    }
  }

  /** Open sessions expired at {@code now}, earliest first (index {@code dc_sessions_expiry}). */
  List<Session> expired(Connection conn, Environment env, Instant now, int limit)
      throws SQLException {
    try (PreparedStatement ps = db.prepare(conn, EXPIRED)) {
      ps.setString(1, env.projectRef());
      ps.setString(2, env.envSlug());
      Database.setInstant(ps, 3, now);
      ps.setInt(4, limit);
      return SessionRows.all(ps);
    }
  }

  /** Sessions closed before {@code before}, earliest first (index {@code dc_sessions_closed}). */
  List<Session> closed(Connection conn, Environment env, Instant before, int limit)
      throws SQLException {
    try (PreparedStatement ps = db.prepare(conn, CLOSED)) {
      ps.setString(1, env.projectRef());
      ps.setString(2, env.envSlug());
      Database.setInstant(ps, 3, before);
      ps.setInt(4, limit);
      return SessionRows.all(ps);
    }
  }

  private void update(Connection conn, String sql, String sessionId) throws SQLException {
    try (PreparedStatement ps = db.prepare(conn, sql)) {
      ps.setString(1, sessionId);
      ps.executeUpdate();
    }
  }
}
