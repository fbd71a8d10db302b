package dev.durablechat.api.spi;

import dev.durablechat.api.Environment;
import dev.durablechat.api.Session;
import dev.durablechat.api.SessionPage;
import dev.durablechat.api.SessionQuery;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.StreamKind;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Durable storage of sessions, their run audit trail and their two streams. This javadoc is the
 * contract; {@code durablechat-storage-tck} tests it.
 *
 * <h2>Guarantees every implementation gives</h2>
 *
 * <ul>
 *   <li><b>Atomicity.</b> Every mutating call is all or nothing. A call that throws has written
 *       nothing, with one exception: {@link dev.durablechat.api.StoreUnavailableException}, which
 *       means "unknown": the store could not tell whether the write landed. <b>If unsure whether it
 *       was stored, fail</b> with that exception; never report success for a write that may be
 *       lost.
 *   <li><b>Idempotent create</b> (invariant 1). {@link #createSession} is a create-or-get on {@code
 *       (environment, externalId)}: racing creators get one row.
 *   <li><b>Gapless sequences</b> (invariants 2, 3). Each stream numbers its records 1, 2, 3, ...
 *       with no gap and no repeat, under any number of concurrent appenders in any number of
 *       processes (if {@link StoreCapability#SHARED_ACROSS_PROCESSES} is declared). Numbers are
 *       never reused, even after {@link #trim}.
 *   <li><b>Ordered, exact reads</b> (invariant 4). {@link #read} after {@code n} returns the
 *       records {@code n+1, n+2, ...} in order, each exactly as appended.
 *   <li><b>Compare-and-set runs</b> (S6, invariant 5). {@link #swapRun} changes the current run
 *       only if the session's version and current run are what the caller read; of two racing swaps
 *       exactly one wins, and each win adds exactly one to the version and exactly one {@link
 *       SessionRun} row, in the same atomic step.
 *   <li><b>Fencing</b> (invariant 6). An append that names a fencing run lands only while that run
 *       is the session's current run, checked atomically with the append.
 *   <li><b>Refusals change nothing</b> (invariant 7). Unknown session: {@link
 *       dev.durablechat.api.NoSuchSessionException}. Closed or expired at {@code now}: {@link
 *       dev.durablechat.api.SessionClosedException}. Lost compare-and-set: {@link
 *       dev.durablechat.api.RunConflictException}. Fenced append: {@link
 *       dev.durablechat.api.FencedException}. Missing capability: {@link
 *       dev.durablechat.api.UnsupportedCapabilityException}.
 *   <li><b>Conflict is not unavailability.</b> A conflict says the data is not as the caller
 *       expected and retrying the same call will fail again; {@link
 *       dev.durablechat.api.StoreUnavailableException} says nothing about the data.
 * </ul>
 *
 * <p>The engine validates every value before it reaches a store (external ids, payload sizes and
 * shapes), and owns the clock: stores compare times only with the {@code now} they are given.
 * Sessions are addressed by friendly id after lookup; friendly ids are unique across environments.
 * Implementations are thread-safe.
 */
public interface SessionStore extends AutoCloseable {

  /** The optional behaviour this store has. */
  Set<StoreCapability> capabilities();

  /**
   * Creates the session, or returns the row that already holds its {@code (environment,
   * externalId)} whatever that row's status. A session without an external id is always created.
   */
  CreateOutcome createSession(NewSession session);

  /** The session with this friendly id in this environment. */
  Optional<Session> findByFriendlyId(Environment environment, String friendlyId);

  /** The session with this external id in this environment. */
  Optional<Session> findByExternalId(Environment environment, String externalId);

  /**
   * One page of the environment's sessions that pass the query's filters, after its position, in
   * its order: creation time, ties broken by friendly id (newest first by default). A store fetches
   * up to {@code query.limit() + 1} rows and answers {@link SessionPage#of}. {@link
   * SessionQuery#matches} and {@link SessionQuery#isAfterPosition} define the filters and the
   * position; the status filter uses {@code now}.
   *
   * <p>The position is a sort key, not an offset: a page costs the same at any depth (a store
   * backed by a database must answer from an index), and sessions created while a caller pages
   * through never make it see a session twice nor skip one that existed when it started.
   *
   * @throws dev.durablechat.api.UnsupportedCapabilityException if the store cannot list (the
   *     default)
   */
  default SessionPage listSessions(Environment environment, SessionQuery query, Instant now) {
    throw new dev.durablechat.api.UnsupportedCapabilityException(
        "session store [" + getClass().getName() + "] cannot list sessions");
  }

  /**
   * Closes the session: {@code closedAt} and {@code closedReason} are written once, and a later
   * close keeps the first values (S4). Returns the row as it is after the call.
   *
   * @throws dev.durablechat.api.NoSuchSessionException if there is no such session
   */
  Session closeSession(String sessionId, @Nullable String reason, Instant at);

  /**
   * Makes {@code newRun} the session's current run, if the session is active at {@code now}, its
   * version is {@code expectedVersion} and its current run is {@code expectedRunId} (null: it has
   * none). In one atomic step: the current run id becomes {@code newRun.runId()}, the version goes
   * up by one, {@code updatedAt} becomes {@code now}, the {@code newRun} row is inserted, and the
   * replaced run, if it is still running, is ended at {@code now} with the end reason {@code
   * superseded}.
   *
   * @return the session after the change
   * @throws dev.durablechat.api.RunConflictException if the version or current run differ, carrying
   *     what the session holds now
   * @throws dev.durablechat.api.SessionClosedException if the session is closed or expired
   * @throws dev.durablechat.api.NoSuchSessionException if there is no such session
   */
  Session swapRun(
      String sessionId,
      long expectedVersion,
      @Nullable String expectedRunId,
      SessionRun newRun,
      Instant now);

  /**
   * Ends a run: the first end's time and reason are kept; ending an ended run changes nothing. The
   * session's current run and version do not change.
   *
   * @return the run after the call
   * @throws dev.durablechat.api.NoSuchRunException if the session has no such run
   */
  SessionRun endRun(String sessionId, String runId, Instant at, String endReason);

  /**
   * Renews the lease of the session's current run (a heartbeat): sets its {@link
   * SessionRun#renewedAt()} to {@code now}, or keeps the stored value if that is later. Nothing
   * else changes: not the version, not {@code updatedAt}. Only the current run, while it runs, can
   * renew; a run that was superseded or ended learns here that it no longer owns the session. Needs
   * {@link StoreCapability#RUN_LEASES}.
   *
   * @return the run after the call
   * @throws dev.durablechat.api.FencedException if the run is not the session's current run or has
   *     ended; nothing changes
   * @throws dev.durablechat.api.NoSuchRunException if the session has no such run
   * @throws dev.durablechat.api.NoSuchSessionException if there is no such session
   * @throws dev.durablechat.api.UnsupportedCapabilityException if the store keeps no leases (the
   *     default)
   */
  default SessionRun renewRun(String sessionId, String runId, Instant now) {
    throw new dev.durablechat.api.UnsupportedCapabilityException(
        "session store ["
            + getClass().getName()
            + "] keeps no run leases; renew run ["
            + runId
            + "]");
  }

  /**
   * The sessions that may need a run (PROTOCOL S12), for an agent runtime's recovery sweep: the
   * sessions of {@code environment} whose agent is one of {@code agentIds}, active at {@code now},
   * and either
   *
   * <ul>
   *   <li><b>dead:</b> their current run is running and was last alive ({@link
   *       SessionRun#lastAliveAt()}: started or renewed) before {@code aliveBefore}; or
   *   <li><b>unserved:</b> an {@code in} append landed while they had no running current run (none
   *       yet, or it had ended), and no run has become current since. {@link #swapRun} and {@link
   *       #closeSession} clear this mark.
   * </ul>
   *
   * <p>Ordered by friendly id, starting after {@code afterSessionId} (null: from the first), at
   * most {@code limit}: a caller pages with the last id it got. The answer is a hint read at one
   * moment; the caller checks each session again before it acts (through the compare-and-set of
   * {@link #swapRun}). A store answers from an index, so that the cost follows the number of
   * sessions found, not the number stored. Needs {@link StoreCapability#RECOVERY}.
   *
   * @throws IllegalArgumentException if {@code limit} is not positive
   * @throws dev.durablechat.api.UnsupportedCapabilityException if the store cannot (the default)
   */
  default List<Session> findSessionsToRecover(
      Environment environment,
      Set<String> agentIds,
      Instant aliveBefore,
      Instant now,
      @Nullable String afterSessionId,
      int limit) {
    throw new dev.durablechat.api.UnsupportedCapabilityException(
        "session store [" + getClass().getName() + "] cannot find sessions to recover");
  }

  /**
   * Counts one attempt at answering the {@code in} record {@code inSeq} (PROTOCOL S12), made by the
   * session's current run {@code runId}. A session keeps one counter, for the record its runs are
   * answering now (they answer in order, so one is in flight at a time): if the counter names
   * {@code inSeq} it goes up by one, else it starts again at one for {@code inSeq}. Atomic and
   * durable before it returns, so a process that dies in the attempt has it counted.
   *
   * @return the attempts at {@code inSeq} so far, this one included
   * @throws dev.durablechat.api.FencedException if {@code runId} is not the session's current run;
   *     nothing changes
   * @throws dev.durablechat.api.NoSuchSessionException if there is no such session
   * @throws dev.durablechat.api.UnsupportedCapabilityException if the store cannot (the default)
   */
  default int recordAttempt(String sessionId, String runId, long inSeq, Instant now) {
    throw new dev.durablechat.api.UnsupportedCapabilityException(
        "session store ["
            + getClass().getName()
            + "] keeps no attempt counts; record an attempt of run ["
            + runId
            + "]");
  }

  /** The session's runs in the order they became current; empty for an unknown session. */
  List<SessionRun> runs(String sessionId);

  /**
   * Appends records to a stream, all or nothing, numbered from the stream's next sequence number
   * with no gap.
   *
   * <p>A part id may be given only on a single-record append. If that part id is already on a
   * retained record of the stream, nothing is written and the result names that record with {@code
   * duplicate} set; this check comes before the status and fencing checks, so a retried append gets
   * the answer the first one got.
   *
   * @param fencingRunId when not null, the append lands only if this is the current run
   * @param now the time the status check uses and the records' creation time
   * @throws dev.durablechat.api.NoSuchSessionException if there is no such session
   * @throws dev.durablechat.api.SessionClosedException if it is closed or expired at {@code now}
   * @throws dev.durablechat.api.FencedException if {@code fencingRunId} is not the current run
   * @throws dev.durablechat.api.InvalidInputException if {@code records} is empty, or a part id
   *     comes with more than one record
   */
  AppendResult append(
      String sessionId,
      StreamKind stream,
      List<NewRecord> records,
      @Nullable String fencingRunId,
      Instant now);

  /**
   * Up to {@code limit} records with sequence numbers above {@code afterSeq}, in order. If records
   * right after {@code afterSeq} were trimmed, the result starts at the first retained one (the
   * caller sees the jump in numbers). Reading a closed session is allowed.
   *
   * @throws dev.durablechat.api.NoSuchSessionException if there is no such session
   * @throws IllegalArgumentException if {@code afterSeq} is negative or {@code limit} is not
   *     positive
   */
  List<StoredRecord> read(String sessionId, StreamKind stream, long afterSeq, int limit);

  /**
   * The highest sequence number ever assigned on the stream, 0 if none; it does not go down when
   * records are trimmed.
   *
   * @throws dev.durablechat.api.NoSuchSessionException if there is no such session
   */
  long lastSeq(String sessionId, StreamKind stream);

  /**
   * Removes the stream's records up to and including {@code throughSeq} (retention, PROTOCOL H5);
   * numbering continues where it was. Needs {@link StoreCapability#TRIM}.
   *
   * @return how many records were removed
   * @throws dev.durablechat.api.UnsupportedCapabilityException if the store cannot trim
   */
  long trim(String sessionId, StreamKind stream, long throughSeq);

  /**
   * Calls {@code onAppend} after records land on the stream, so that readers can read again instead
   * of polling. Calls may be coalesced or spurious, and come from a thread of the store's; {@code
   * onAppend} must be quick and must not block. A store that cannot push must poll on a bounded
   * interval. Closing the returned handle stops the calls.
   */
  AutoCloseable watch(String sessionId, StreamKind stream, Runnable onAppend);

  // ---------------------------------------------------------------- delete and retention (S11)

  /**
   * Deletes the session, its runs and both of its streams (S11), in one atomic step that also
   * records the session's snapshot as still to delete ({@link #pendingSnapshotDeletions}): a
   * snapshot store is a different system, so the engine deletes the snapshot afterwards and clears
   * the record with {@link #snapshotDeleted}; a deletion that fails stays recorded and a sweep
   * retries it. Watchers of both streams are called, and then find the session gone. The external
   * id is free again at once: a later {@link #createSession} with it creates a new row (with a new
   * friendly id). Appends, reads and swaps that name the deleted session fail with {@link
   * dev.durablechat.api.NoSuchSessionException}, also those racing the delete, which either land
   * before it (and are deleted with it) or fail.
   *
   * @param at the deletion time, kept on the snapshot record
   * @return the session as it was, or empty (nothing changed) if there was no such session
   * @throws dev.durablechat.api.UnsupportedCapabilityException if the store cannot delete (the
   *     default; every bundled store can)
   */
  default Optional<Session> deleteSession(String sessionId, Instant at) {
    throw new dev.durablechat.api.UnsupportedCapabilityException(
        "session store [" + getClass().getName() + "] cannot delete session [" + sessionId + "]");
  }

  /**
   * Snapshots of deleted sessions that are still to delete, oldest deletion first: what {@link
   * #deleteSession} recorded and {@link #snapshotDeleted} has not cleared yet.
   *
   * @param limit at most this many, positive
   */
  default List<dev.durablechat.api.SnapshotKey> pendingSnapshotDeletions(
      Environment environment, int limit) {
    return List.of();
  }

  /**
   * Clears the record of {@link #deleteSession} once the snapshot at {@code key} is gone from the
   * snapshot store. Clearing an absent record changes nothing.
   */
  default void snapshotDeleted(dev.durablechat.api.SnapshotKey key) {}

  /**
   * Open sessions of the environment whose expiry time has passed at {@code now} (not closed,
   * {@code expiresAt <= now}), earliest expiry first, at most {@code limit}: what a retention sweep
   * closes as {@code expired}. Index-backed where the store has indexes, so the cost of a call does
   * not grow with the number of sessions.
   *
   * @throws IllegalArgumentException if {@code limit} is not positive
   */
  default List<Session> expiredSessions(Environment environment, Instant now, int limit) {
    return List.of();
  }

  /**
   * Closed sessions of the environment whose {@code closedAt} is before {@code closedBefore},
   * earliest close first, at most {@code limit}: what a retention sweep deletes once their grace
   * period is over. Index-backed where the store has indexes.
   *
   * @throws IllegalArgumentException if {@code limit} is not positive
   */
  default List<Session> closedSessions(Environment environment, Instant closedBefore, int limit) {
    return List.of();
  }

  /** Releases the store's resources; calls after close fail. */
  @Override
  void close();
}
