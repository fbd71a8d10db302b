package dev.durablechat.storage.jdbc;

import dev.durablechat.api.Environment;
import dev.durablechat.api.FencedException;
import dev.durablechat.api.InvalidInputException;
import dev.durablechat.api.Json;
import dev.durablechat.api.NoSuchRunException;
import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.RunConflictException;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.Session;
import dev.durablechat.api.SessionClosedException;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.TriggerConfig;
import dev.durablechat.api.spi.AppendResult;
import dev.durablechat.api.spi.CreateOutcome;
import dev.durablechat.api.spi.NewRecord;
import dev.durablechat.api.spi.NewSession;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoreCapability;
import dev.durablechat.api.spi.StoredRecord;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * {@link SessionStore} over JDBC. Each call is one short transaction. Appends lock the session row
 * ({@code SELECT ... FOR UPDATE}), which serialises them per session with the status and fencing
 * checks and with run swaps; the row also holds each stream's last sequence number, so numbering is
 * gapless across any number of nodes sharing the database.
 */
final class JdbcSessionStore implements SessionStore {
  private static final String SESSION_COLUMNS =
      "friendly_id, project_ref, env_slug, external_id, agent_id, current_run_id, version,"
          + " client_data, trigger_config, created_at, updated_at, closed_at, closed_reason,"
          + " expires_at";
  private static final String RUN_COLUMNS =
      "run_id, session_id, reason, previous_run_id, started_at, ended_at, end_reason, renewed_at";
  private static final String SUPERSEDED = "superseded";

  private final Database db;
  private final WatchHub hub;
  private final Set<StoreCapability> capabilities;

  JdbcSessionStore(Database db, Duration pollInterval) {
    this.db = db;
    this.hub = new WatchHub(db, pollInterval);
    this.capabilities = Set.copyOf(db.dialect().capabilities());
  }

  @Override
  public Set<StoreCapability> capabilities() {
    return capabilities;
  }

  @Override
  public CreateOutcome createSession(NewSession session) {
    Objects.requireNonNull(session, "session");
    String what = "create session [" + session.friendlyId() + "]";
    return db.inTransaction(
        what,
        conn -> {
          String externalId = session.externalId();
          if (externalId != null) {
            Optional<Session> existing =
                selectByExternalId(conn, session.environment(), externalId);
            if (existing.isPresent()) {
              return new CreateOutcome(existing.get(), false);
            }
          }
          try {
            insertSession(conn, session);
          } catch (SQLException e) {
            if (!SqlFailures.isUniqueViolation(e)) {
              throw e;
            }
            // A racing creator committed the same external id first: the winner's row is the
            // answer. (On PostgreSQL the failed statement aborted the transaction: roll back.)
            conn.rollback();
            if (externalId != null) {
              Optional<Session> winner =
                  selectByExternalId(conn, session.environment(), externalId);
              if (winner.isPresent()) {
                return new CreateOutcome(winner.get(), false);
              }
            }
            throw new InvalidInputException(
                "session ["
                    + session.friendlyId()
                    + "] already exists: friendly ids are never reused",
                e);
          }
          return new CreateOutcome(
              selectByFriendlyId(conn, session.friendlyId(), false).orElseThrow(), true);
        });
  }

  private void insertSession(Connection conn, NewSession s) throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "INSERT INTO dc_sessions ("
                + SESSION_COLUMNS
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

  @Override
  public Optional<Session> findByFriendlyId(Environment environment, String friendlyId) {
    return db.inTransaction(
        "find session [" + friendlyId + "]",
        conn ->
            selectByFriendlyId(conn, friendlyId, false)
                .filter(s -> s.environment().equals(environment)));
  }

  @Override
  public Optional<Session> findByExternalId(Environment environment, String externalId) {
    return db.inTransaction(
        "find session [" + externalId + "]",
        conn -> selectByExternalId(conn, environment, externalId));
  }

  @Override
  public Session closeSession(String sessionId, @Nullable String reason, Instant at) {
    return db.inTransaction(
        "close session [" + sessionId + "]",
        conn -> {
          try (PreparedStatement ps =
              db.prepare(
                  conn,
                  "UPDATE dc_sessions SET closed_at = ?, closed_reason = ?, updated_at = ?"
                      + " WHERE friendly_id = ? AND closed_at IS NULL")) {
            Database.setInstant(ps, 1, at);
            ps.setString(2, reason);
            Database.setInstant(ps, 3, at);
            ps.setString(4, sessionId);
            ps.executeUpdate();
          }
          return selectByFriendlyId(conn, sessionId, false)
              .orElseThrow(() -> noSuchSession(sessionId));
        });
  }

  @Override
  public Session swapRun(
      String sessionId,
      long expectedVersion,
      @Nullable String expectedRunId,
      SessionRun newRun,
      Instant now) {
    Objects.requireNonNull(newRun, "newRun");
    return db.inTransaction(
        "swap run of session [" + sessionId + "]",
        conn -> {
          Session session =
              selectByFriendlyId(conn, sessionId, true).orElseThrow(() -> noSuchSession(sessionId));
          if (!newRun.sessionId().equals(sessionId)) {
            throw new InvalidInputException(
                "run ["
                    + newRun.runId()
                    + "] belongs to session ["
                    + newRun.sessionId()
                    + "], expected ["
                    + sessionId
                    + "]");
          }
          requireActive(session, now, "swap run");
          if (session.version() != expectedVersion
              || !Objects.equals(session.currentRunId(), expectedRunId)) {
            throw new RunConflictException(
                "session ["
                    + sessionId
                    + "] swap run: expected version ["
                    + expectedVersion
                    + "] and run ["
                    + expectedRunId
                    + "], found version ["
                    + session.version()
                    + "] and run ["
                    + session.currentRunId()
                    + "]",
                sessionId,
                session.currentRunId(),
                session.version());
          }
          long newVersion = expectedVersion + 1;
          try (PreparedStatement ps =
              db.prepare(
                  conn,
                  "UPDATE dc_sessions SET current_run_id = ?, version = ?, updated_at = ?"
                      + " WHERE friendly_id = ? AND version = ?"
                      + " AND current_run_id IS NOT DISTINCT FROM ?")) {
            ps.setString(1, newRun.runId());
            ps.setLong(2, newVersion);
            Database.setInstant(ps, 3, now);
            ps.setString(4, sessionId);
            ps.setLong(5, expectedVersion);
            ps.setString(6, expectedRunId);
            if (ps.executeUpdate() != 1) {
              // Cannot happen while we hold the row lock; fail rather than write a second winner.
              throw new RunConflictException(
                  "session [" + sessionId + "] swap run: lost the compare-and-set",
                  sessionId,
                  session.currentRunId(),
                  session.version());
            }
          }
          if (expectedRunId != null) {
            endIfRunning(conn, sessionId, expectedRunId, now, SUPERSEDED);
          }
          try (PreparedStatement ps =
              db.prepare(
                  conn,
                  "INSERT INTO dc_session_runs (session_id, run_id, ordinal, reason,"
                      + " previous_run_id, started_at, ended_at, end_reason, renewed_at)"
                      + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            ps.setString(1, sessionId);
            ps.setString(2, newRun.runId());
            ps.setLong(3, newVersion);
            ps.setString(4, newRun.reason().wireName());
            ps.setString(5, newRun.previousRunId());
            Database.setInstant(ps, 6, newRun.startedAt());
            Database.setInstant(ps, 7, newRun.endedAt());
            ps.setString(8, newRun.endReason());
            Database.setInstant(ps, 9, newRun.renewedAt());
            ps.executeUpdate();
          } catch (SQLException e) {
            if (SqlFailures.isUniqueViolation(e)) {
              throw new InvalidInputException(
                  "session ["
                      + sessionId
                      + "] swap run: run ["
                      + newRun.runId()
                      + "] already exists",
                  e);
            }
            throw e;
          }
          return selectByFriendlyId(conn, sessionId, false).orElseThrow();
        });
  }

  /** Ends the run if it is still running; the first end's time and reason are kept (S6). */
  private void endIfRunning(
      Connection conn, String sessionId, String runId, Instant at, String endReason)
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

  @Override
  public SessionRun endRun(String sessionId, String runId, Instant at, String endReason) {
    return db.inTransaction(
        "end run [" + runId + "] of session [" + sessionId + "]",
        conn -> {
          endIfRunning(conn, sessionId, runId, at, endReason);
          try {
            return selectRun(conn, sessionId, runId);
          } catch (NoSuchRunException e) {
            selectCounter(conn, sessionId, StreamKind.IN); // no session: NoSuchSession
            throw e;
          }
        });
  }

  @Override
  public SessionRun renewRun(String sessionId, String runId, Instant now) {
    return db.inTransaction(
        "renew run [" + runId + "] of session [" + sessionId + "]",
        conn -> {
          // The session row's lock orders the renewal with swaps and ends: a run that was
          // superseded or ended before this lock was taken cannot renew.
          Session session =
              selectByFriendlyId(conn, sessionId, true).orElseThrow(() -> noSuchSession(sessionId));
          SessionRun run = selectRun(conn, sessionId, runId);
          if (!run.isRunning() || !runId.equals(session.currentRunId())) {
            throw new FencedException(sessionId, runId, session.currentRunId(), session.version());
          }
          Instant renewedAt = run.renewedAt();
          if (renewedAt != null && !now.isAfter(renewedAt)) {
            return run;
          }
          try (PreparedStatement ps =
              db.prepare(
                  conn,
                  "UPDATE dc_session_runs SET renewed_at = ? WHERE session_id = ? AND run_id = ?")) {
            Database.setInstant(ps, 1, now);
            ps.setString(2, sessionId);
            ps.setString(3, runId);
            ps.executeUpdate();
          }
          return run.renewed(now);
        });
  }

  private SessionRun selectRun(Connection conn, String sessionId, String runId)
      throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "SELECT "
                + RUN_COLUMNS
                + " FROM dc_session_runs WHERE session_id = ? AND run_id = ?")) {
      ps.setString(1, sessionId);
      ps.setString(2, runId);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw new NoSuchRunException("session [" + sessionId + "] has no run [" + runId + "]");
        }
        return readRun(rs);
      }
    }
  }

  @Override
  public List<SessionRun> runs(String sessionId) {
    return db.inTransaction(
        "list runs of session [" + sessionId + "]",
        conn -> {
          try (PreparedStatement ps =
              db.prepare(
                  conn,
                  "SELECT "
                      + RUN_COLUMNS
                      + " FROM dc_session_runs WHERE session_id = ? ORDER BY ordinal")) {
            ps.setString(1, sessionId);
            try (ResultSet rs = ps.executeQuery()) {
              var runs = new ArrayList<SessionRun>();
              while (rs.next()) {
                runs.add(readRun(rs));
              }
              return List.copyOf(runs);
            }
          }
        });
  }

  @Override
  public AppendResult append(
      String sessionId,
      StreamKind stream,
      List<NewRecord> records,
      @Nullable String fencingRunId,
      Instant now) {
    Objects.requireNonNull(stream, "stream");
    Objects.requireNonNull(now, "now");
    if (records == null || records.isEmpty()) {
      throw new InvalidInputException(
          "session ["
              + sessionId
              + "] "
              + stream.wireName()
              + ": an append needs records, got none");
    }
    List<NewRecord> batch = List.copyOf(records);
    String partId = batch.get(0).partId();
    if (batch.size() > 1 && batch.stream().anyMatch(r -> r.partId() != null)) {
      throw new InvalidInputException(
          "session ["
              + sessionId
              + "] "
              + stream.wireName()
              + ": a part id may come only with a single record, got ["
              + batch.size()
              + "] records");
    }
    String counter = counterColumn(stream);
    AppendResult result =
        db.inTransaction(
            "append to session [" + sessionId + "] " + stream.wireName(),
            conn -> {
              if (partId == null) {
                AppendResult claimed =
                    claimAndInsert(conn, sessionId, stream, batch, fencingRunId, now);
                if (claimed != null) {
                  return claimed;
                }
                // Nothing claimed: the session is unknown, closed, expired or fenced. The locking
                // path below finds which, and refuses the same way it always did.
              }
              String currentRun;
              long version;
              long last;
              Instant closedAt;
              Instant expiresAt;
              try (PreparedStatement ps =
                  db.prepare(
                      conn,
                      "SELECT current_run_id, version, closed_at, expires_at, "
                          + counter
                          + " FROM dc_sessions WHERE friendly_id = ? FOR UPDATE")) {
                ps.setString(1, sessionId);
                try (ResultSet rs = ps.executeQuery()) {
                  if (!rs.next()) {
                    throw noSuchSession(sessionId);
                  }
                  currentRun = rs.getString(1);
                  version = rs.getLong(2);
                  closedAt = Database.getInstant(rs, "closed_at");
                  expiresAt = Database.getInstant(rs, "expires_at");
                  last = rs.getLong(5);
                }
              }
              if (partId != null) {
                // Before the status and fencing checks: a retry gets the first call's answer.
                Long seen = findPartId(conn, sessionId, stream, partId);
                if (seen != null) {
                  return new AppendResult(seen, seen, true);
                }
              }
              if (closedAt != null) {
                throw new SessionClosedException(
                    "session ["
                        + sessionId
                        + "] "
                        + stream.wireName()
                        + ": session is closed (closed at ["
                        + closedAt
                        + "])");
              }
              if (expiresAt != null && !now.isBefore(expiresAt)) {
                throw new SessionClosedException(
                    "session ["
                        + sessionId
                        + "] "
                        + stream.wireName()
                        + ": session expired at ["
                        + expiresAt
                        + "]");
              }
              if (fencingRunId != null && !fencingRunId.equals(currentRun)) {
                throw new FencedException(sessionId, fencingRunId, currentRun, version);
              }
              insertRecords(conn, sessionId, stream, batch, last + 1, now);
              long newLast = last + batch.size();
              try (PreparedStatement ps =
                  db.prepare(
                      conn, "UPDATE dc_sessions SET " + counter + " = ? WHERE friendly_id = ?")) {
                ps.setLong(1, newLast);
                ps.setString(2, sessionId);
                ps.executeUpdate();
              }
              // On PostgreSQL a trigger on dc_records queues the NOTIFY for other nodes.
              return new AppendResult(last + 1, newLast, false);
            });
    if (!result.duplicate()) {
      hub.appended(sessionId, stream);
    }
    return result;
  }

  /**
   * The append's fast path (no part id, so no dedupe answer to give first): one statement moves the
   * counter past the batch if the session is open, unexpired and {@code fencingRunId} is current,
   * taking the row lock that keeps the numbers gapless, then one insert. Null, with nothing
   * written, when the session did not qualify.
   */
  private @Nullable AppendResult claimAndInsert(
      Connection conn,
      String sessionId,
      StreamKind stream,
      List<NewRecord> batch,
      @Nullable String fencingRunId,
      Instant now)
      throws SQLException {
    long newLast;
    try (PreparedStatement ps =
        db.prepare(conn, db.dialect().claimSeqsSql(counterColumn(stream), fencingRunId != null))) {
      ps.setLong(1, batch.size());
      ps.setString(2, sessionId);
      Database.setInstant(ps, 3, now);
      if (fencingRunId != null) {
        ps.setString(4, fencingRunId);
      }
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return null;
        }
        newLast = rs.getLong(1);
      }
    }
    long first = newLast - batch.size() + 1;
    insertRecords(conn, sessionId, stream, batch, first, now);
    return new AppendResult(first, newLast, false);
  }

  private void insertRecords(
      Connection conn,
      String sessionId,
      StreamKind stream,
      List<NewRecord> batch,
      long firstSeq,
      Instant now)
      throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "INSERT INTO dc_records (session_id, stream, seq, payload, part_id, created_at)"
                + " VALUES (?, ?, ?, ?, ?, ?)")) {
      long seq = firstSeq;
      for (NewRecord record : batch) {
        ps.setString(1, sessionId);
        ps.setString(2, stream.wireName());
        ps.setLong(3, seq++);
        ps.setString(4, record.payload());
        ps.setString(5, record.partId());
        Database.setInstant(ps, 6, now);
        if (batch.size() == 1) {
          ps.executeUpdate();
        } else {
          ps.addBatch();
        }
      }
      if (batch.size() > 1) {
        // One round trip: pgjdbc with reWriteBatchedInserts sends one multi-row INSERT.
        ps.executeBatch();
      }
    }
  }

  private @Nullable Long findPartId(
      Connection conn, String sessionId, StreamKind stream, String partId) throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "SELECT seq FROM dc_records WHERE session_id = ? AND stream = ? AND part_id = ?")) {
      ps.setString(1, sessionId);
      ps.setString(2, stream.wireName());
      ps.setString(3, partId);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : null;
      }
    }
  }

  @Override
  public List<StoredRecord> read(String sessionId, StreamKind stream, long afterSeq, int limit) {
    Objects.requireNonNull(stream, "stream");
    if (afterSeq < 0) {
      throw new IllegalArgumentException("after seq [" + afterSeq + "] must not be negative");
    }
    if (limit <= 0) {
      throw new IllegalArgumentException("limit [" + limit + "] must be positive");
    }
    return db.inTransaction(
        "read session [" + sessionId + "] " + stream.wireName(),
        conn -> {
          var records = new ArrayList<StoredRecord>(Math.min(limit, 256));
          try (PreparedStatement ps =
              db.prepare(
                  conn,
                  "SELECT seq, payload, part_id, created_at FROM dc_records"
                      + " WHERE session_id = ? AND stream = ? AND seq > ?"
                      + " ORDER BY seq FETCH FIRST ? ROWS ONLY")) {
            ps.setString(1, sessionId);
            ps.setString(2, stream.wireName());
            ps.setLong(3, afterSeq);
            ps.setInt(4, limit);
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                records.add(
                    new StoredRecord(
                        rs.getLong(1),
                        rs.getString(2),
                        rs.getString(3),
                        Objects.requireNonNull(Database.getInstant(rs, "created_at"))));
              }
            }
          }
          if (records.isEmpty()) {
            // Only an empty answer needs the second look: is the session there at all?
            selectCounter(conn, sessionId, stream);
          }
          return List.copyOf(records);
        });
  }

  @Override
  public long lastSeq(String sessionId, StreamKind stream) {
    Objects.requireNonNull(stream, "stream");
    return db.inTransaction(
        "last seq of session [" + sessionId + "] " + stream.wireName(),
        conn -> selectCounter(conn, sessionId, stream));
  }

  private long selectCounter(Connection conn, String sessionId, StreamKind stream)
      throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn, "SELECT " + counterColumn(stream) + " FROM dc_sessions WHERE friendly_id = ?")) {
      ps.setString(1, sessionId);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw noSuchSession(sessionId);
        }
        return rs.getLong(1);
      }
    }
  }

  @Override
  public long trim(String sessionId, StreamKind stream, long throughSeq) {
    Objects.requireNonNull(stream, "stream");
    return db.inTransaction(
        "trim session [" + sessionId + "] " + stream.wireName(),
        conn -> {
          selectCounter(conn, sessionId, stream);
          try (PreparedStatement ps =
              db.prepare(
                  conn,
                  "DELETE FROM dc_records WHERE session_id = ? AND stream = ? AND seq <= ?")) {
            ps.setString(1, sessionId);
            ps.setString(2, stream.wireName());
            ps.setLong(3, throughSeq);
            return (long) ps.executeUpdate();
          }
        });
  }

  @Override
  public AutoCloseable watch(String sessionId, StreamKind stream, Runnable onAppend) {
    Objects.requireNonNull(sessionId, "sessionId");
    Objects.requireNonNull(stream, "stream");
    Objects.requireNonNull(onAppend, "onAppend");
    lastSeq(sessionId, stream); // an unknown session is refused, as everywhere else
    return hub.watch(sessionId, stream, onAppend);
  }

  @Override
  public void close() {
    hub.close();
    db.close();
  }

  @Override
  public String toString() {
    return "JdbcSessionStore[" + db.description() + "]";
  }

  private static String counterColumn(StreamKind stream) {
    return stream == StreamKind.IN ? "last_in_seq" : "last_out_seq";
  }

  private static void requireActive(Session session, Instant now, String what) {
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

  private static NoSuchSessionException noSuchSession(String sessionId) {
    return new NoSuchSessionException("session [" + sessionId + "] not found");
  }

  private Optional<Session> selectByFriendlyId(Connection conn, String friendlyId, boolean lock)
      throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "SELECT "
                + SESSION_COLUMNS
                + " FROM dc_sessions WHERE friendly_id = ?"
                + (lock ? " FOR UPDATE" : ""))) {
      ps.setString(1, friendlyId);
      return one(ps);
    }
  }

  private Optional<Session> selectByExternalId(
      Connection conn, Environment environment, String externalId) throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "SELECT "
                + SESSION_COLUMNS
                + " FROM dc_sessions WHERE project_ref = ? AND env_slug = ? AND external_id = ?")) {
      ps.setString(1, environment.projectRef());
      ps.setString(2, environment.envSlug());
      ps.setString(3, externalId);
      return one(ps);
    }
  }

  private static Optional<Session> one(PreparedStatement ps) throws SQLException {
    try (ResultSet rs = ps.executeQuery()) {
      return rs.next() ? Optional.of(readSession(rs)) : Optional.empty();
    }
  }

  private static Session readSession(ResultSet rs) throws SQLException {
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

  private static SessionRun readRun(ResultSet rs) throws SQLException {
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
