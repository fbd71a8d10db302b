package dev.durablechat.storage.jdbc;

import dev.durablechat.api.Environment;
import dev.durablechat.api.Json;
import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.Session;
import dev.durablechat.api.SessionClosedException;
import dev.durablechat.api.TriggerConfig;
import dev.durablechat.api.spi.NewSession;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The {@code dc_sessions} rows: insert, select (optionally locking the row, which serialises a
 * session's appends, swaps and renewals), close and the run compare-and-set. Each method works in
 * the caller's transaction ({@link Database#inTransaction}).
 */
final class SessionRows {
  static final String COLUMNS =
      "friendly_id, project_ref, env_slug, external_id, agent_id, current_run_id, version,"
          + " client_data, trigger_config, created_at, updated_at, closed_at, closed_reason,"
          + " expires_at";

  private final Database db;

  SessionRows(Database db) {
    this.db = db;
  }

  void insert(Connection conn, NewSession s) throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "INSERT INTO dc_sessions ("
                + COLUMNS
                + ") VALUES (?, ?, ?, ?, ?, NULL, 0, ?, ?, ?, ?, NULL, NULL, ?)")) {
      ps.setString(1, s.friendlyId());
      ps.setString(2, s.environment().projectRef());
      ps.setString(3, s.environment().envSlug());
      ps.setString(4, s.externalId());
      ps.setString(5, s.agentId());
      ps.setString(6, Json.write(s.clientData()));
      ps.setString(7, Json.write(s.triggerConfig().toJson()));
      Database.setInstant(ps, 8, s.createdAt());
      Database.setInstant(ps, 9, s.createdAt());
      Database.setInstant(ps, 10, s.expiresAt());
      ps.executeUpdate();
    }
  }

  /** Closes the session if it is open (a second close keeps the first's time and reason). */
  void close(Connection conn, String sessionId, @Nullable String reason, Instant at)
      throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "UPDATE dc_sessions SET closed_at = ?, closed_reason = ?, updated_at = ?,"
                + " unserved = FALSE WHERE friendly_id = ? AND closed_at IS NULL")) {
      Database.setInstant(ps, 1, at);
      ps.setString(2, reason);
      Database.setInstant(ps, 3, at);
      ps.setString(4, sessionId);
      ps.executeUpdate();
    }
  }

  /**
   * Moves the session to its new current run if it still has the expected version and run.
   *
   * @return whether the row changed
   */
  boolean swapCurrentRun(
      Connection conn,
      String sessionId,
      long expectedVersion,
      @Nullable String expectedRunId,
      String newRunId,
      boolean newRunRunning,
      long newVersion,
      Instant now)
      throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn,
            // A new current run serves the session: it is running and no longer unserved (S12).
            "UPDATE dc_sessions SET current_run_id = ?, version = ?, updated_at = ?,"
                + " run_running = ?, unserved = FALSE"
                + " WHERE friendly_id = ? AND version = ?"
                + " AND current_run_id IS NOT DISTINCT FROM ?")) {
      ps.setString(1, newRunId);
      ps.setLong(2, newVersion);
      Database.setInstant(ps, 3, now);
      ps.setBoolean(4, newRunRunning);
      ps.setString(5, sessionId);
      ps.setLong(6, expectedVersion);
      ps.setString(7, expectedRunId);
      return ps.executeUpdate() == 1;
    }
  }

  /**
   * The current run ended: the session is no longer served (an {@code in} append then marks it
   * unserved). Locks the row, so that an append orders after it.
   */
  void currentRunEnded(Connection conn, String sessionId, String runId) throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "UPDATE dc_sessions SET run_running = FALSE"
                + " WHERE friendly_id = ? AND current_run_id = ?")) {
      ps.setString(1, sessionId);
      ps.setString(2, runId);
      ps.executeUpdate();
    }
  }

  /**
   * Counts an attempt at the in record (S12) if the run is current, on the locked row.
   *
   * @return the attempts so far, or -1 if the run is not current (or there is no such session)
   */
  int recordAttempt(Connection conn, String sessionId, String runId, long inSeq)
      throws SQLException {
    int attempts;
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "SELECT attempt_in_seq, attempts FROM dc_sessions"
                + " WHERE friendly_id = ? AND current_run_id = ? FOR UPDATE")) {
      ps.setString(1, sessionId);
      ps.setString(2, runId);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return -1;
        }
        attempts = rs.getLong(1) == inSeq ? rs.getInt(2) + 1 : 1;
      }
    }
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "UPDATE dc_sessions SET attempt_in_seq = ?, attempts = ? WHERE friendly_id = ?")) {
      ps.setLong(1, inSeq);
      ps.setInt(2, attempts);
      ps.setString(3, sessionId);
      ps.executeUpdate();
    }
    return attempts;
  }

  /**
   * The recovery query (S12): sessions of the environment and agents, active at {@code now}, after
   * {@code afterId}, that are unserved or whose current run is running and was last alive before
   * {@code aliveBefore}. Each half reads its own index (see {@link Dialect#recoveryIndexDdl}).
   */
  java.util.List<Session> toRecover(
      Connection conn,
      Environment environment,
      java.util.Set<String> agentIds,
      Instant aliveBefore,
      Instant now,
      @Nullable String afterId,
      int limit)
      throws SQLException {
    String sql = recoverySql(db.dialect(), agentIds.size(), afterId != null);
    try (PreparedStatement ps = db.prepare(conn, sql)) {
      int i = 1;
      i = bindFilter(ps, i, environment, agentIds, now, afterId);
      Database.setInstant(ps, i++, aliveBefore);
      i = bindFilter(ps, i, environment, agentIds, now, afterId);
      ps.setInt(i, limit);
      var found = new java.util.ArrayList<Session>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          found.add(read(rs));
        }
      }
      return found;
    }
  }

  /**
   * The recovery query's SQL for that many agent ids, with or without the keyset bound: two
   * selects, each answered from its own index (the unserved sessions; the running runs by the time
   * they were last alive), merged in friendly id order.
   */
  static String recoverySql(Dialect dialect, int agentCount, boolean after) {
    String agents = String.join(", ", java.util.Collections.nCopies(agentCount, "?"));
    String filter =
        " AND s.project_ref = ? AND s.env_slug = ? AND s.agent_id IN ("
            + agents
            + ") AND s.closed_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > ?)"
            + (after ? " AND s.friendly_id > ?" : "");
    return "SELECT "
        + prefixed("s.")
        + " FROM dc_sessions s"
        + dialect.unservedIndexHint()
        + " WHERE s.unserved"
        + filter
        + " UNION SELECT "
        + prefixed("s.")
        + " FROM dc_session_runs r JOIN dc_sessions s ON s.friendly_id = r.session_id"
        + " AND s.current_run_id = r.run_id WHERE r.ended_at IS NULL AND r.alive_at < ?"
        + filter
        + " ORDER BY friendly_id FETCH FIRST ? ROWS ONLY";
  }

  private static int bindFilter(
      PreparedStatement ps,
      int first,
      Environment environment,
      java.util.Set<String> agentIds,
      Instant now,
      @Nullable String afterId)
      throws SQLException {
    int i = first;
    ps.setString(i++, environment.projectRef());
    ps.setString(i++, environment.envSlug());
    for (String agent : agentIds) {
      ps.setString(i++, agent);
    }
    Database.setInstant(ps, i++, now);
    if (afterId != null) {
      ps.setString(i++, afterId);
    }
    return i;
  }

  private static String prefixed(String alias) {
    var b = new StringBuilder();
    for (String column : COLUMNS.split(",")) {
      if (b.length() > 0) {
        b.append(", ");
      }
      b.append(alias).append(column.trim());
    }
    return b.toString();
  }

  Optional<Session> byFriendlyId(Connection conn, String friendlyId, boolean lock)
      throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "SELECT "
                + COLUMNS
                + " FROM dc_sessions WHERE friendly_id = ?"
                + (lock ? " FOR UPDATE" : ""))) {
      ps.setString(1, friendlyId);
      return one(ps);
    }
  }

  Optional<Session> byExternalId(Connection conn, Environment environment, String externalId)
      throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "SELECT "
                + COLUMNS
                + " FROM dc_sessions WHERE project_ref = ? AND env_slug = ? AND external_id = ?")) {
      ps.setString(1, environment.projectRef());
      ps.setString(2, environment.envSlug());
      ps.setString(3, externalId);
      return one(ps);
    }
  }

  static void requireActive(Session session, Instant now, String what) {
    switch (session.status(now)) {
      case CLOSED ->
          throw new SessionClosedException(
              "session ["
                  + session.friendlyId()
                  + "] "
                  + what
                  + ": session is closed (closed at ["
                  + session.closedAt()
                  + "])");
      case EXPIRED ->
          throw new SessionClosedException(
              "session ["
                  + session.friendlyId()
                  + "] "
                  + what
                  + ": session expired at ["
                  + session.expiresAt()
                  + "]");
      case ACTIVE -> {}
    }
  }

  static NoSuchSessionException noSuchSession(String sessionId) {
    return new NoSuchSessionException("session [" + sessionId + "] not found");
  }

  /** Every row the query returns, in its order. */
  static java.util.List<Session> all(PreparedStatement ps) throws SQLException {
    var rows = new java.util.ArrayList<Session>();
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        rows.add(read(rs));
      }
    }
    return rows;
  }

  private static Optional<Session> one(PreparedStatement ps) throws SQLException {
    try (ResultSet rs = ps.executeQuery()) {
      return rs.next() ? Optional.of(read(rs)) : Optional.empty();
    }
  }

  static Session read(ResultSet rs) throws SQLException {
    return new Session(
        rs.getString("friendly_id"),
        rs.getString("external_id"),
        new Environment(rs.getString("project_ref"), rs.getString("env_slug")),
        rs.getString("agent_id"),
        rs.getString("current_run_id"),
        rs.getLong("version"),
        Json.parse(rs.getString("client_data")),
        TriggerConfig.fromJson(Json.parseObject(rs.getString("trigger_config"))),
        Objects.requireNonNull(Database.getInstant(rs, "created_at")),
        Objects.requireNonNull(Database.getInstant(rs, "updated_at")),
        Database.getInstant(rs, "closed_at"),
        rs.getString("closed_reason"),
        Database.getInstant(rs, "expires_at"));
  }
}
