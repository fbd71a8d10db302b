package dev.durablechat.storage.memory;

import dev.durablechat.api.Environment;
import dev.durablechat.api.FencedException;
import dev.durablechat.api.InvalidInputException;
import dev.durablechat.api.NoSuchRunException;
import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.RunConflictException;
import dev.durablechat.api.Session;
import dev.durablechat.api.SessionClosedException;
import dev.durablechat.api.SessionPage;
import dev.durablechat.api.SessionQuery;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StoreUnavailableException;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.spi.AppendResult;
import dev.durablechat.api.spi.CreateOutcome;
import dev.durablechat.api.spi.NewRecord;
import dev.durablechat.api.spi.NewSession;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoreCapability;
import dev.durablechat.api.spi.StoredRecord;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import org.jspecify.annotations.Nullable;

/**
 * The reference {@link SessionStore}: everything in this process's memory, lost when it exits.
 *
 * <p>Sessions live in a concurrent map; each session has one lock per stream, so appends to
 * different sessions, or to the two streams of one session, never wait for each other. Watchers are
 * called on the appending thread right after its lock is released. Declares {@link
 * StoreCapability#TRIM}; not shared across processes.
 */
public final class MemorySessionStore implements SessionStore {
  private static final Set<StoreCapability> CAPABILITIES =
      Set.of(StoreCapability.TRIM, StoreCapability.RUN_LEASES, StoreCapability.RECOVERY);
  private static final String SUPERSEDED = "superseded";

  private final String name;
  private final ConcurrentHashMap<String, MemorySession> sessions = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<ExternalKey, MemorySession> byExternalId =
      new ConcurrentHashMap<>();

  /** Snapshots of deleted sessions still to delete, in deletion order (S11). */
  private final java.util.Map<String, SnapshotKey> pendingSnapshots =
      java.util.Collections.synchronizedMap(new java.util.LinkedHashMap<>());

  // The recovery query's two indexes (S12), kept under each session's row locks: sessions whose
  // current run is running (the dead ones among them are few, and found by their lease), and
  // sessions marked unserved. Sorted, so that the query pages by friendly id.
  private final ConcurrentSkipListSet<String> live = new ConcurrentSkipListSet<>();
  private final ConcurrentSkipListSet<String> unserved = new ConcurrentSkipListSet<>();
  private volatile boolean closed;

  /** An empty store. */
  public MemorySessionStore() {
    this("default");
  }

  /**
   * An empty store with a name, used only in messages.
   *
   * @param name the name, e.g. the part after {@code memory:} in a location
   */
  public MemorySessionStore(String name) {
    this.name = Objects.requireNonNull(name, "name");
  }

  @Override
  public Set<StoreCapability> capabilities() {
    return CAPABILITIES;
  }

  @Override
  public CreateOutcome createSession(NewSession session) {
    checkOpen();
    Session row = session.toSession();
    String externalId = session.externalId();
    if (externalId == null) {
      insert(new MemorySession(row));
      return new CreateOutcome(row, true);
    }
    var fresh = new MemorySession(row);
    // computeIfAbsent runs the insert at most once per key, so racing creators see one row.
    MemorySession holder =
        byExternalId.computeIfAbsent(
            new ExternalKey(session.environment(), externalId),
            k -> {
              insert(fresh);
              return fresh;
            });
    return new CreateOutcome(holder.row, holder == fresh);
  }

  private void insert(MemorySession fresh) {
    String id = fresh.row.friendlyId();
    if (sessions.putIfAbsent(id, fresh) != null) {
      throw new InvalidInputException("friendly id [" + id + "] is already used");
    }
  }

  @Override
  public Optional<Session> findByFriendlyId(Environment environment, String friendlyId) {
    checkOpen();
    MemorySession s = sessions.get(friendlyId);
    if (s == null) {
      return Optional.empty();
    }
    Session row = s.row;
    return row.environment().equals(environment) ? Optional.of(row) : Optional.empty();
  }

  @Override
  public Optional<Session> findByExternalId(Environment environment, String externalId) {
    checkOpen();
    MemorySession s = byExternalId.get(new ExternalKey(environment, externalId));
    return s == null ? Optional.empty() : Optional.of(s.row);
  }

  @Override
  public SessionPage listSessions(Environment environment, SessionQuery query, Instant now) {
    checkOpen();
    Comparator<Session> order =
        Comparator.comparing(Session::createdAt).thenComparing(Session::friendlyId);
    if (query.order() == SessionQuery.Order.NEWEST_FIRST) {
      order = order.reversed();
    }
    // A scan: the memory store is the test double and small; the database stores use an index.
    List<Session> fetched =
        sessions.values().stream()
            .map(s -> s.row)
            .filter(
                row ->
                    row.environment().equals(environment)
                        && query.isAfterPosition(row)
                        && query.matches(row, now))
            .sorted(order)
            .limit(query.limit() + 1L)
            .toList();
    return SessionPage.of(query, fetched);
  }

  @Override
  public Session closeSession(String sessionId, @Nullable String reason, Instant at) {
    MemorySession s = require(sessionId);
    s.lockRow();
    try {
      if (s.deleted) {
        throw noSuchSession(sessionId);
      }
      Session row = s.row;
      s.unserved = false;
      unserved.remove(sessionId);
      if (row.closedAt() != null) {
        return row;
      }
      Session closedRow =
          new Session(
              row.friendlyId(),
              row.externalId(),
              row.environment(),
              row.agentId(),
              row.currentRunId(),
              row.version(),
              row.clientData(),
              row.triggerConfig(),
              row.createdAt(),
              at,
              at,
              reason,
              row.expiresAt());
      s.row = closedRow;
      return closedRow;
    } finally {
      s.unlockRow();
    }
  }

  @Override
  public Session swapRun(
      String sessionId,
      long expectedVersion,
      @Nullable String expectedRunId,
      SessionRun newRun,
      Instant now) {
    MemorySession s = require(sessionId);
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
    s.lockRow();
    try {
      if (s.deleted) {
        throw noSuchSession(sessionId);
      }
      Session row = s.row;
      checkActive(row, now, "swap the run");
      if (row.version() != expectedVersion || !Objects.equals(row.currentRunId(), expectedRunId)) {
        throw new RunConflictException(
            "session ["
                + sessionId
                + "]: expected version ["
                + expectedVersion
                + "] and run ["
                + expectedRunId
                + "], found version ["
                + row.version()
                + "] and run ["
                + row.currentRunId()
                + "]",
            sessionId,
            row.currentRunId(),
            row.version());
      }
      int previous = -1;
      for (int i = 0; i < s.runs.size(); i++) {
        String runId = s.runs.get(i).runId();
        if (runId.equals(newRun.runId())) {
          throw new InvalidInputException(
              "session [" + sessionId + "]: run [" + runId + "] already exists");
        }
        if (runId.equals(row.currentRunId())) {
          previous = i;
        }
      }
      if (previous >= 0 && s.runs.get(previous).isRunning()) {
        s.runs.set(previous, s.runs.get(previous).ended(now, SUPERSEDED));
      }
      s.runs.add(newRun);
      s.unserved = false;
      unserved.remove(sessionId);
      if (newRun.isRunning()) {
        live.add(sessionId);
      } else {
        live.remove(sessionId);
      }
      Session swapped =
          new Session(
              row.friendlyId(),
              row.externalId(),
              row.environment(),
              row.agentId(),
              newRun.runId(),
              row.version() + 1,
              row.clientData(),
              row.triggerConfig(),
              row.createdAt(),
              now,
              row.closedAt(),
              row.closedReason(),
              row.expiresAt());
      s.row = swapped;
      return swapped;
    } finally {
      s.unlockRow();
    }
  }

  @Override
  public SessionRun endRun(String sessionId, String runId, Instant at, String endReason) {
    MemorySession s = require(sessionId);
    s.lockRow();
    try {
      for (int i = 0; i < s.runs.size(); i++) {
        SessionRun run = s.runs.get(i);
        if (run.runId().equals(runId)) {
          if (!run.isRunning()) {
            return run;
          }
          SessionRun ended = run.ended(at, endReason);
          s.runs.set(i, ended);
          if (runId.equals(s.row.currentRunId())) {
            live.remove(sessionId);
          }
          return ended;
        }
      }
      throw new NoSuchRunException("session [" + sessionId + "] has no run [" + runId + "]");
    } finally {
      s.unlockRow();
    }
  }

  @Override
  public SessionRun renewRun(String sessionId, String runId, Instant now) {
    MemorySession s = require(sessionId);
    s.lockRow();
    try {
      for (int i = 0; i < s.runs.size(); i++) {
        SessionRun run = s.runs.get(i);
        if (run.runId().equals(runId)) {
          Session row = s.row;
          if (!run.isRunning() || !runId.equals(row.currentRunId())) {
            throw new FencedException(sessionId, runId, row.currentRunId(), row.version());
          }
          Instant renewedAt = run.renewedAt();
          if (renewedAt != null && !now.isAfter(renewedAt)) {
            return run;
          }
          SessionRun renewed = run.renewed(now);
          s.runs.set(i, renewed);
          return renewed;
        }
      }
      throw new NoSuchRunException("session [" + sessionId + "] has no run [" + runId + "]");
    } finally {
      s.unlockRow();
    }
  }

  @Override
  public List<Session> findSessionsToRecover(
      Environment environment,
      Set<String> agentIds,
      Instant aliveBefore,
      Instant now,
      @Nullable String afterSessionId,
      int limit) {
    checkOpen();
    if (limit < 1) {
      throw new IllegalArgumentException("limit [" + limit + "] must be positive");
    }
    var found = new java.util.TreeMap<String, Session>();
    java.util.function.Predicate<Session> wanted =
        row ->
            row.environment().equals(environment)
                && agentIds.contains(row.agentId())
                && row.isActive(now);
    collect(unserved, afterSessionId, limit, found, s -> s.unserved && wanted.test(s.row));
    collect(
        live,
        afterSessionId,
        limit,
        found,
        s ->
            s.runRunning()
                && s.runs.get(s.runs.size() - 1).lastAliveAt().isBefore(aliveBefore)
                && wanted.test(s.row));
    var result = new ArrayList<Session>(Math.min(limit, found.size()));
    for (Session row : found.values()) {
      if (result.size() == limit) {
        break;
      }
      result.add(row);
    }
    return List.copyOf(result);
  }

  /** Adds up to {@code limit} sessions of the index after the id that pass the check. */
  private void collect(
      ConcurrentSkipListSet<String> index,
      @Nullable String after,
      int limit,
      java.util.Map<String, Session> found,
      java.util.function.Predicate<MemorySession> check) {
    Set<String> tail = after == null ? index : index.tailSet(after, false);
    int taken = 0;
    for (String id : tail) {
      if (taken == limit) {
        return;
      }
      MemorySession s = sessions.get(id);
      if (s == null) {
        continue;
      }
      s.lockRow();
      try {
        if (check.test(s)) {
          found.put(id, s.row);
          taken++;
        }
      } finally {
        s.unlockRow();
      }
    }
  }

  @Override
  public int recordAttempt(String sessionId, String runId, long inSeq, Instant now) {
    MemorySession s = require(sessionId);
    s.lockRow();
    try {
      Session row = s.row;
      if (!runId.equals(row.currentRunId())) {
        throw new FencedException(sessionId, runId, row.currentRunId(), row.version());
      }
      s.attempts = s.attemptInSeq == inSeq ? s.attempts + 1 : 1;
      s.attemptInSeq = inSeq;
      return s.attempts;
    } finally {
      s.unlockRow();
    }
  }

  @Override
  public List<SessionRun> runs(String sessionId) {
    checkOpen();
    MemorySession s = sessions.get(sessionId);
    if (s == null) {
      return List.of();
    }
    s.lockRow();
    try {
      return List.copyOf(s.runs);
    } finally {
      s.unlockRow();
    }
  }

  @Override
  public AppendResult append(
      String sessionId,
      StreamKind stream,
      List<NewRecord> records,
      @Nullable String fencingRunId,
      Instant now) {
    if (records.isEmpty()) {
      throw new InvalidInputException(
          "session [" + sessionId + "] " + stream.wireName() + ": an append needs records, got 0");
    }
    String partId = records.get(0).partId();
    if (records.size() > 1) {
      for (NewRecord r : records) {
        if (r.partId() != null) {
          throw new InvalidInputException(
              "session ["
                  + sessionId
                  + "] "
                  + stream.wireName()
                  + ": part id ["
                  + r.partId()
                  + "] needs a single-record append, got ["
                  + records.size()
                  + "] records");
        }
      }
    }
    MemorySession s = require(sessionId);
    MemoryStream st = s.stream(stream);
    long first;
    long last;
    st.lock.lock();
    try {
      // The dedupe answer comes before the status and fencing checks (javadoc order): a retry
      // after a close or a swap still learns where its first attempt landed.
      if (partId != null) {
        Long seen = st.seqOfPart(partId);
        if (seen != null) {
          return new AppendResult(seen, seen, true);
        }
      }
      if (s.deleted) {
        throw noSuchSession(sessionId);
      }
      Session row = s.row;
      checkActive(row, now, "append to " + stream.wireName());
      if (fencingRunId != null && !fencingRunId.equals(row.currentRunId())) {
        throw new FencedException(sessionId, fencingRunId, row.currentRunId(), row.version());
      }
      first = st.lastSeq() + 1;
      last = first;
      for (NewRecord r : records) {
        last = st.add(r.payload(), r.partId(), now);
      }
      // The in lock keeps the runs still (a run change takes both locks): no run serves the
      // session, so mark it for the recovery sweep until a run becomes current (S12).
      if (stream == StreamKind.IN && !s.unserved && !s.runRunning()) {
        s.unserved = true;
        unserved.add(sessionId);
      }
    } finally {
      st.lock.unlock();
    }
    notifyWatchers(st);
    return new AppendResult(first, last, false);
  }

  private static void notifyWatchers(MemoryStream st) {
    if (st.watchers.isEmpty()) {
      return;
    }
    for (Runnable watcher : st.watchers) {
      try {
        watcher.run();
      } catch (RuntimeException e) {
        // The append has landed; a failing watcher must not make the caller think it did not.
      }
    }
  }

  @Override
  public List<StoredRecord> read(String sessionId, StreamKind stream, long afterSeq, int limit) {
    if (afterSeq < 0) {
      throw new IllegalArgumentException("after seq [" + afterSeq + "] must not be negative");
    }
    if (limit < 1) {
      throw new IllegalArgumentException("limit [" + limit + "] must be positive");
    }
    MemoryStream st = require(sessionId).stream(stream);
    st.lock.lock();
    try {
      return st.read(afterSeq, limit);
    } finally {
      st.lock.unlock();
    }
  }

  @Override
  public long lastSeq(String sessionId, StreamKind stream) {
    MemoryStream st = require(sessionId).stream(stream);
    st.lock.lock();
    try {
      return st.lastSeq();
    } finally {
      st.lock.unlock();
    }
  }

  @Override
  public long trim(String sessionId, StreamKind stream, long throughSeq) {
    MemoryStream st = require(sessionId).stream(stream);
    st.lock.lock();
    try {
      return st.trim(throughSeq);
    } finally {
      st.lock.unlock();
    }
  }

  @Override
  public AutoCloseable watch(String sessionId, StreamKind stream, Runnable onAppend) {
    MemoryStream st = require(sessionId).stream(stream);
    // A distinct wrapper per call, so closing one handle removes exactly its own registration
    // even when the same Runnable is registered twice.
    Runnable registration = onAppend::run;
    st.watchers.add(registration);
    return () -> st.watchers.remove(registration);
  }

  @Override
  public Optional<Session> deleteSession(String sessionId, Instant at) {
    checkOpen();
    Objects.requireNonNull(at, "at");
    MemorySession s = sessions.get(sessionId);
    if (s == null) {
      return Optional.empty();
    }
    Session row;
    s.lockRow();
    try {
      if (s.deleted) {
        return Optional.empty();
      }
      row = s.row;
      s.deleted = true;
      s.deletedAt = at;
      // The snapshot record first, then the rows: no moment where the session is gone and its
      // snapshot forgotten.
      pendingSnapshots.put(sessionId, new SnapshotKey(row.environment(), sessionId));
      if (row.externalId() != null) {
        byExternalId.remove(new ExternalKey(row.environment(), row.externalId()), s);
      }
      sessions.remove(sessionId, s);
      live.remove(sessionId);
      unserved.remove(sessionId);
      s.runs.clear();
      s.in.clear();
      s.out.clear();
    } finally {
      s.unlockRow();
    }
    // Outside the locks, like an append's: the watchers read again and find the session gone.
    notifyWatchers(s.in);
    notifyWatchers(s.out);
    return Optional.of(row);
  }

  @Override
  public List<SnapshotKey> pendingSnapshotDeletions(Environment environment, int limit) {
    checkOpen();
    checkLimit(limit);
    var keys = new ArrayList<SnapshotKey>();
    synchronized (pendingSnapshots) {
      for (SnapshotKey key : pendingSnapshots.values()) {
        if (keys.size() >= limit) {
          break;
        }
        if (key.environment().equals(environment)) {
          keys.add(key);
        }
      }
    }
    return keys;
  }

  @Override
  public void snapshotDeleted(SnapshotKey key) {
    checkOpen();
    pendingSnapshots.remove(key.sessionId(), key);
  }

  @Override
  public List<Session> expiredSessions(Environment environment, Instant now, int limit) {
    checkOpen();
    checkLimit(limit);
    // A scan: the memory store is for tests and single processes, where it is cheap enough.
    return sessions.values().stream()
        .map(s -> s.row)
        .filter(r -> r.environment().equals(environment))
        .filter(r -> r.closedAt() == null && r.expiresAt() != null && !now.isBefore(r.expiresAt()))
        .sorted(Comparator.comparing(Session::expiresAt).thenComparing(Session::friendlyId))
        .limit(limit)
        .toList();
  }

  @Override
  public List<Session> closedSessions(Environment environment, Instant closedBefore, int limit) {
    checkOpen();
    checkLimit(limit);
    return sessions.values().stream()
        .map(s -> s.row)
        .filter(r -> r.environment().equals(environment))
        .filter(r -> r.closedAt() != null && r.closedAt().isBefore(closedBefore))
        .sorted(Comparator.comparing(Session::closedAt).thenComparing(Session::friendlyId))
        .limit(limit)
        .toList();
  }

  private static void checkLimit(int limit) {
    if (limit < 1) {
      throw new IllegalArgumentException("limit [" + limit + "] must be positive");
    }
  }

  @Override
  public void close() {
    closed = true;
    sessions.clear();
    byExternalId.clear();
    live.clear();
    unserved.clear();
  }

  @Override
  public String toString() {
    return "MemorySessionStore[" + name + "]";
  }

  private MemorySession require(String sessionId) {
    checkOpen();
    MemorySession s = sessions.get(sessionId);
    if (s == null) {
      throw noSuchSession(sessionId);
    }
    return s;
  }

  private NoSuchSessionException noSuchSession(String sessionId) {
    return new NoSuchSessionException(
        "no session [" + sessionId + "] in memory store [" + name + "]");
  }

  private static void checkActive(Session row, Instant now, String what) {
    switch (row.status(now)) {
      case CLOSED:
        throw new SessionClosedException(
            "session ["
                + row.friendlyId()
                + "] is closed (since ["
                + row.closedAt()
                + "]), cannot "
                + what);
      case EXPIRED:
        throw new SessionClosedException(
            "session ["
                + row.friendlyId()
                + "] expired at ["
                + row.expiresAt()
                + "], cannot "
                + what);
      default:
        return;
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new StoreUnavailableException("memory session store [" + name + "] is closed");
    }
  }

  /** The unique key of a session with an external id (S1). */
  private record ExternalKey(Environment environment, String externalId) {}
}
