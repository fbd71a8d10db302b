package dev.durablechat.storage.jdbc;

import dev.durablechat.api.Environment;
import dev.durablechat.api.FencedException;
import dev.durablechat.api.InvalidInputException;
import dev.durablechat.api.NoSuchRunException;
import dev.durablechat.api.RunConflictException;
import dev.durablechat.api.Session;
import dev.durablechat.api.SessionClosedException;
import dev.durablechat.api.SessionPage;
import dev.durablechat.api.SessionQuery;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.spi.AppendResult;
import dev.durablechat.api.spi.CreateOutcome;
import dev.durablechat.api.spi.NewRecord;
import dev.durablechat.api.spi.NewSession;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoreCapability;
import dev.durablechat.api.spi.StoredRecord;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * {@link SessionStore} over JDBC. Each call is one short transaction ({@link
 * Database#inTransaction}) over the session rows ({@link SessionRows}), the run rows ({@link
 * RunRows}) and the stream rows ({@link StreamRows}). Appends lock the session row (the update of
 * its counter, or {@code SELECT ... FOR UPDATE}), which serialises them per session with the status
 * and fencing checks and with run swaps and deletes; the row also holds each stream's last sequence
 * number, so numbering is gapless across any number of nodes sharing the database.
 */
final class JdbcSessionStore implements SessionStore {
  private static final String SUPERSEDED = "superseded";

  private final Database db;
  private final SessionRows sessions;
  private final RunRows runs;
  private final StreamRows streams;
  private final SessionListing listing;
  private final WatchHub hub;
  private final Set<StoreCapability> capabilities;
  private final RetentionRows retention;

  JdbcSessionStore(Database db, Duration pollInterval) {
    this.db = db;
    this.sessions = new SessionRows(db);
    this.runs = new RunRows(db);
    this.streams = new StreamRows(db);
    this.listing = new SessionListing(db);
    this.hub = new WatchHub(db, pollInterval);
    this.retention = new RetentionRows(db, sessions);
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
                sessions.byExternalId(conn, session.environment(), externalId);
            if (existing.isPresent()) {
              return new CreateOutcome(existing.get(), false);
            }
          }
          try {
            sessions.insert(conn, session);
            listing.insertTags(conn, session);
          } catch (SQLException e) {
            if (!SqlFailures.isUniqueViolation(e)) {
              throw e;
            }
            // A racing creator committed the same external id first: the winner's row is the
            // answer. (On PostgreSQL the failed statement aborted the transaction: roll back.)
            conn.rollback();
            if (externalId != null) {
              Optional<Session> winner =
                  sessions.byExternalId(conn, session.environment(), externalId);
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
              sessions.byFriendlyId(conn, session.friendlyId(), false).orElseThrow(), true);
        });
  }

  @Override
  public Optional<Session> findByFriendlyId(Environment environment, String friendlyId) {
    return db.inTransaction(
        "find session [" + friendlyId + "]",
        conn ->
            sessions
                .byFriendlyId(conn, friendlyId, false)
                .filter(s -> s.environment().equals(environment)));
  }

  @Override
  public Optional<Session> findByExternalId(Environment environment, String externalId) {
    return db.inTransaction(
        "find session [" + externalId + "]",
        conn -> sessions.byExternalId(conn, environment, externalId));
  }

  @Override
  public SessionPage listSessions(Environment environment, SessionQuery query, Instant now) {
    Objects.requireNonNull(query, "query");
    return db.inTransaction(
        "list sessions in [" + environment + "]",
        conn -> listing.page(conn, environment, query, now));
  }

  @Override
  public Session closeSession(String sessionId, @Nullable String reason, Instant at) {
    return db.inTransaction(
        "close session [" + sessionId + "]",
        conn -> {
          sessions.close(conn, sessionId, reason, at);
          return sessions
              .byFriendlyId(conn, sessionId, false)
              .orElseThrow(() -> SessionRows.noSuchSession(sessionId));
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
              sessions
                  .byFriendlyId(conn, sessionId, true)
                  .orElseThrow(() -> SessionRows.noSuchSession(sessionId));
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
          SessionRows.requireActive(session, now, "swap run");
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
          if (!sessions.swapCurrentRun(
              conn,
              sessionId,
              expectedVersion,
              expectedRunId,
              newRun.runId(),
              newRun.isRunning(),
              newVersion,
              now)) {
            // Cannot happen while we hold the row lock; fail rather than write a second winner.
            throw new RunConflictException(
                "session [" + sessionId + "] swap run: lost the compare-and-set",
                sessionId,
                session.currentRunId(),
                session.version());
          }
          if (expectedRunId != null) {
            runs.endIfRunning(conn, sessionId, expectedRunId, now, SUPERSEDED);
          }
          try {
            runs.insert(conn, sessionId, newRun, newVersion);
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
          return sessions.byFriendlyId(conn, sessionId, false).orElseThrow();
        });
  }

  @Override
  public SessionRun endRun(String sessionId, String runId, Instant at, String endReason) {
    return db.inTransaction(
        "end run [" + runId + "] of session [" + sessionId + "]",
        conn -> {
          // The session row first (its lock orders this end with an in append's unserved mark).
          sessions.currentRunEnded(conn, sessionId, runId);
          runs.endIfRunning(conn, sessionId, runId, at, endReason);
          try {
            return runs.select(conn, sessionId, runId);
          } catch (NoSuchRunException e) {
            streams.lastSeq(conn, sessionId, StreamKind.IN); // no session: NoSuchSession
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
              sessions
                  .byFriendlyId(conn, sessionId, true)
                  .orElseThrow(() -> SessionRows.noSuchSession(sessionId));
          SessionRun run = runs.select(conn, sessionId, runId);
          if (!run.isRunning() || !runId.equals(session.currentRunId())) {
            throw new FencedException(sessionId, runId, session.currentRunId(), session.version());
          }
          Instant renewedAt = run.renewedAt();
          if (renewedAt != null && !now.isAfter(renewedAt)) {
            return run;
          }
          runs.renew(conn, sessionId, runId, now);
          return run.renewed(now);
        });
  }

  @Override
  public List<Session> findSessionsToRecover(
      Environment environment,
      Set<String> agentIds,
      Instant aliveBefore,
      Instant now,
      @Nullable String afterSessionId,
      int limit) {
    if (limit <= 0) {
      throw new IllegalArgumentException("limit [" + limit + "] must be positive");
    }
    if (agentIds.isEmpty()) {
      return List.of();
    }
    Set<String> agents = Set.copyOf(agentIds);
    return db.inTransaction(
        "find sessions to recover",
        conn ->
            List.copyOf(
                sessions.toRecover(
                    conn, environment, agents, aliveBefore, now, afterSessionId, limit)));
  }

  @Override
  public int recordAttempt(String sessionId, String runId, long inSeq, Instant now) {
    return db.inTransaction(
        "record an attempt of run [" + runId + "] of session [" + sessionId + "]",
        conn -> {
          int attempts = sessions.recordAttempt(conn, sessionId, runId, inSeq);
          if (attempts < 0) {
            Session session =
                sessions
                    .byFriendlyId(conn, sessionId, false)
                    .orElseThrow(() -> SessionRows.noSuchSession(sessionId));
            throw new FencedException(sessionId, runId, session.currentRunId(), session.version());
          }
          return attempts;
        });
  }

  @Override
  public List<SessionRun> runs(String sessionId) {
    return db.inTransaction(
        "list runs of session [" + sessionId + "]", conn -> runs.all(conn, sessionId));
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
    AppendResult result =
        db.inTransaction(
            "append to session [" + sessionId + "] " + stream.wireName(),
            conn -> {
              if (partId == null || streams.claimsAndInsertsAtOnce()) {
                AppendResult claimed;
                try {
                  claimed = claimAndInsert(conn, sessionId, stream, batch, fencingRunId, now);
                } catch (SQLException e) {
                  if (partId == null || !SqlFailures.isUniqueViolation(e)) {
                    throw e;
                  }
                  // The part id is taken (W5): nothing was written. The locking path below gives
                  // the first append's answer.
                  conn.rollback();
                  claimed = null;
                }
                if (claimed != null) {
                  return claimed;
                }
                // Nothing claimed: the session is unknown, closed, expired or fenced (or the part
                // id is taken). The locking path below finds which, and answers the same way it
                // always did.
              }
              StreamRows.LockedSession row = streams.lockSession(conn, sessionId, stream);
              if (row == null) {
                throw SessionRows.noSuchSession(sessionId);
              }
              if (partId != null) {
                // Before the status and fencing checks: a retry gets the first call's answer.
                Long seen = streams.findPartId(conn, sessionId, stream, partId);
                if (seen != null) {
                  return new AppendResult(seen, seen, true);
                }
              }
              if (row.closedAt() != null) {
                throw new SessionClosedException(
                    "session ["
                        + sessionId
                        + "] "
                        + stream.wireName()
                        + ": session is closed (closed at ["
                        + row.closedAt()
                        + "])");
              }
              if (row.expiresAt() != null && !now.isBefore(row.expiresAt())) {
                throw new SessionClosedException(
                    "session ["
                        + sessionId
                        + "] "
                        + stream.wireName()
                        + ": session expired at ["
                        + row.expiresAt()
                        + "]");
              }
              if (fencingRunId != null && !fencingRunId.equals(row.currentRunId())) {
                throw new FencedException(
                    sessionId, fencingRunId, row.currentRunId(), row.version());
              }
              long last = row.lastSeq();
              streams.insert(conn, sessionId, stream, batch, last + 1, now);
              long newLast = last + batch.size();
              streams.setLastSeq(conn, sessionId, stream, newLast);
              // On PostgreSQL a trigger on dc_records queues the NOTIFY for other nodes.
              return new AppendResult(last + 1, newLast, false);
            });
    if (!result.duplicate()) {
      hub.appended(sessionId, stream);
    }
    return result;
  }

  /**
   * The append's fast path: one statement moves the counter past the batch if the session is open,
   * unexpired and {@code fencingRunId} is current, taking the row lock that keeps the numbers
   * gapless, then the records are inserted; on PostgreSQL both are one statement, so an append
   * costs the round trips of a plain insert. Null, with nothing written, when the session did not
   * qualify. A part id (single records only, and only where the append is one statement: a taken
   * one then fails the statement with a unique violation and writes nothing) is stored with its
   * record; elsewhere appends with a part id take the locking path, which looks for it first.
   */
  private @Nullable AppendResult claimAndInsert(
      Connection conn,
      String sessionId,
      StreamKind stream,
      List<NewRecord> batch,
      @Nullable String fencingRunId,
      Instant now)
      throws SQLException {
    if (streams.claimsAndInsertsAtOnce()) {
      Long newLast = streams.claimAndInsert(conn, sessionId, stream, batch, fencingRunId, now);
      return newLast == null ? null : new AppendResult(newLast - batch.size() + 1, newLast, false);
    }
    Long newLast = streams.claimSeqs(conn, sessionId, stream, batch.size(), fencingRunId, now);
    if (newLast == null) {
      return null;
    }
    long first = newLast - batch.size() + 1;
    streams.insert(conn, sessionId, stream, batch, first, now);
    return new AppendResult(first, newLast, false);
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
          List<StoredRecord> records = streams.read(conn, sessionId, stream, afterSeq, limit);
          if (records.isEmpty()) {
            // Only an empty answer needs the second look: is the session there at all?
            streams.lastSeq(conn, sessionId, stream);
          }
          return List.copyOf(records);
        });
  }

  @Override
  public long lastSeq(String sessionId, StreamKind stream) {
    Objects.requireNonNull(stream, "stream");
    return db.inTransaction(
        "last seq of session [" + sessionId + "] " + stream.wireName(),
        conn -> streams.lastSeq(conn, sessionId, stream));
  }

  @Override
  public long trim(String sessionId, StreamKind stream, long throughSeq) {
    Objects.requireNonNull(stream, "stream");
    return db.inTransaction(
        "trim session [" + sessionId + "] " + stream.wireName(),
        conn -> {
          streams.lastSeq(conn, sessionId, stream);
          return streams.trim(conn, sessionId, stream, throughSeq);
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
  public Optional<Session> deleteSession(String sessionId, Instant at) {
    Objects.requireNonNull(sessionId, "sessionId");
    Objects.requireNonNull(at, "at");
    Optional<Session> deleted =
        db.inTransaction(
            "delete session [" + sessionId + "]", conn -> retention.delete(conn, sessionId, at));
    if (deleted.isPresent()) {
      // This node's watchers at once; other nodes' through the queued notifications or the poll.
      hub.appended(sessionId, StreamKind.IN);
      hub.appended(sessionId, StreamKind.OUT);
    }
    return deleted;
  }

  @Override
  public List<SnapshotKey> pendingSnapshotDeletions(Environment environment, int limit) {
    Objects.requireNonNull(environment, "environment");
    checkLimit(limit);
    return db.inTransaction(
        "list snapshots to delete in [" + environment + "]",
        conn -> retention.pendingSnapshotDeletions(conn, environment, limit));
  }

  @Override
  public void snapshotDeleted(SnapshotKey key) {
    Objects.requireNonNull(key, "key");
    db.inTransaction(
        "clear the snapshot deletion of session [" + key.sessionId() + "]",
        conn -> {
          retention.snapshotDeleted(conn, key);
          return null;
        });
  }

  @Override
  public List<Session> expiredSessions(Environment environment, Instant now, int limit) {
    Objects.requireNonNull(environment, "environment");
    Objects.requireNonNull(now, "now");
    checkLimit(limit);
    return db.inTransaction(
        "list expired sessions in [" + environment + "]",
        conn -> List.copyOf(retention.expired(conn, environment, now, limit)));
  }

  @Override
  public List<Session> closedSessions(Environment environment, Instant closedBefore, int limit) {
    Objects.requireNonNull(environment, "environment");
    Objects.requireNonNull(closedBefore, "closedBefore");
    checkLimit(limit);
    return db.inTransaction(
        "list closed sessions in [" + environment + "]",
        conn -> List.copyOf(retention.closed(conn, environment, closedBefore, limit)));
  }

  private static void checkLimit(int limit) {
    if (limit < 1) {
      throw new IllegalArgumentException("limit [" + limit + "] must be positive");
    }
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
}
