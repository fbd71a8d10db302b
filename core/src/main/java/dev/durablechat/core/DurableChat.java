package dev.durablechat.core;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.durablechat.api.DurableChatException;
import dev.durablechat.api.Environment;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.InvalidExternalIdException;
import dev.durablechat.api.InvalidInputException;
import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.NoSuchRunException;
import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.PayloadTooLargeException;
import dev.durablechat.api.RunConflictException;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.Session;
import dev.durablechat.api.SessionClosedException;
import dev.durablechat.api.SessionPage;
import dev.durablechat.api.SessionQuery;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.spi.AppendResult;
import dev.durablechat.api.spi.CreateOutcome;
import dev.durablechat.api.spi.NewRecord;
import dev.durablechat.api.spi.NewSession;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoreLoader;
import dev.durablechat.api.spi.StoredRecord;
import dev.durablechat.core.internal.JsonCodec;
import dev.durablechat.core.internal.OutRecords;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durablechat engine: sessions (PROTOCOL S1–S5), their runs (S6–S8) and their two streams
 * (W1–W7), kept on a {@link SessionStore}. Every input is validated before the store sees it, and a
 * refused input changes nothing (invariant 7).
 *
 * <p>Sessions are addressed by either of their ids (S3): an address that starts with {@code
 * session_} is a friendly id, anything else an external id in this engine's environment.
 *
 * <p>Build one per environment with {@link #builder()}; it is thread-safe. {@link #close()} ends
 * the live tails and stops the engine's own threads; stores passed to the builder stay open (their
 * owner closes them), a store the engine opened by location is closed with it.
 *
 * <pre>{@code
 * try (DurableChat chat = DurableChat.builder()
 *     .environment(new Environment("proj", "dev"))
 *     .sessionStore(store)
 *     .build()) {
 *   Session s = chat.createSession(CreateSessionRequest.builder("agent").externalId("chat-1").build())
 *       .session();
 *   chat.appendIn("chat-1", body, partId);
 * }
 * }</pre>
 */
public final class DurableChat implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DurableChat.class);

  /** The default cap on one {@code in} append's body: 512 KiB (PROTOCOL W4). */
  public static final int DEFAULT_MAX_APPEND_BYTES = 512 * 1024;

  /** How often a compare-and-set on the current run is retried before giving up (S7). */
  static final int MAX_RUN_ATTEMPTS = 8;

  private static final int MAX_EXTERNAL_ID_LENGTH = 256;
  private static final Pattern SAFE_ID = Pattern.compile("[A-Za-z0-9_-]{1,128}");

  private final Environment environment;
  private final SessionStore sessionStore;
  private final boolean ownsSessionStore;
  private final @Nullable SnapshotStore snapshotStore;
  private final int maxAppendBytes;
  private final Clock clock;
  private final IdGenerator ids;
  private final Executor executor;
  private final @Nullable ExecutorService ownedExecutor;
  private final Telemetry telemetry;

  /** The live tails of this engine, by stream (also how an append hands its records over). */
  private final LiveTails live = new LiveTails();

  // Maintenance runs on the calling thread: the engine starts no thread it does not own.
  private final Cache<String, String> addresses =
      Caffeine.newBuilder().maximumSize(10_000).executor(Runnable::run).build();
  private volatile boolean closed;
  private final Map<String, Supplier<List<UIMessage>>> liveHistories = new ConcurrentHashMap<>();
  private final Set<Consumer<String>> closeListeners = ConcurrentHashMap.newKeySet();
  private final Set<Consumer<String>> readerListeners = ConcurrentHashMap.newKeySet();
  // Built on first use: an engine that never rebuilds history must not warn about having no
  // snapshot store (H7).
  private volatile @Nullable ChatHistory history;
  private final RetentionPolicy retention;
  private final RetentionSweeper sweeper;
  private final @Nullable ScheduledExecutorService sweepTimer;

  private DurableChat(Builder b, SessionStore sessionStore, boolean ownsSessionStore) {
    this.environment = Objects.requireNonNull(b.environment);
    this.sessionStore = sessionStore;
    this.ownsSessionStore = ownsSessionStore;
    this.snapshotStore = b.snapshotStore;
    this.maxAppendBytes = b.maxAppendBytes;
    this.clock = b.clock;
    this.ids = b.ids;
    this.telemetry = b.telemetry;
    if (b.executor != null) {
      this.executor = b.executor;
      this.ownedExecutor = null;
    } else {
      ExecutorService own = newTailExecutor();
      this.executor = own;
      this.ownedExecutor = own;
    }
    this.retention = b.retention;
    this.sweeper = new RetentionSweeper(this, retention);
    this.sweepTimer = retention.sweeps() ? startSweeps(retention.sweepInterval()) : null;
  }

  private ScheduledExecutorService startSweeps(Duration interval) {
    var timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "durablechat-retention");
              t.setDaemon(true);
              return t;
            });
    long nanos = interval.toNanos();
    timer.scheduleWithFixedDelay(sweeper::run, nanos, nanos, TimeUnit.NANOSECONDS);
    return timer;
  }

  /** A builder; {@link Builder#environment} and a session store are required. */
  public static Builder builder() {
    return new Builder();
  }

  /** The cap on one {@code in} append's body in bytes (W4), as configured on the builder. */
  public int maxAppendBytes() {
    return maxAppendBytes;
  }

  /**
   * What this engine, and the agent runtime and HTTP routes built over it, report to ({@link
   * Builder#telemetry}); {@link Telemetry#noop()} unless configured.
   */
  public Telemetry telemetry() {
    return telemetry;
  }

  /** The environment every session of this engine lives in. */
  public Environment environment() {
    return environment;
  }

  /** The snapshot store, if one was configured (used by history rebuilds). */
  Optional<SnapshotStore> snapshotStore() {
    return Optional.ofNullable(snapshotStore);
  }

  /**
   * The engine's history (H1-H7): rebuilds from its snapshot store and completes turns, with no
   * hook and no retention ({@link ChatHistory#withRetention} gives the same history with it). Use
   * this one rather than building another: it remembers each session's snapshot version and
   * watermark, which a second instance would have to read again (and a stale one would write a
   * conflicting snapshot first).
   */
  public ChatHistory history() {
    ChatHistory h = history;
    if (h == null) {
      synchronized (this) {
        h = history;
        if (h == null) {
          h = ChatHistory.of(this);
          history = h;
        }
      }
    }
    return h;
  }

  /** The retention policy the engine was built with (S11, H5). */
  public RetentionPolicy retention() {
    return retention;
  }

  /**
   * Runs one retention sweep now (S11), as the engine's periodic sweep does: closes expired
   * sessions ({@code expired}), deletes sessions closed longer than the grace period, and deletes
   * the recorded snapshots of deleted sessions, each step in bounded batches ({@link
   * RetentionPolicy}). Steps the policy turns off are skipped; the snapshot step always runs.
   */
  public RetentionSweep sweepRetention() {
    ensureOpen();
    return sweeper.sweep();
  }

  /** The session store (for engine parts in this module). */
  SessionStore sessionStore() {
    return sessionStore;
  }

  /** The engine's clock: it stamps runs, records and leases. */
  public Clock clock() {
    return clock;
  }

  // ---------------------------------------------------------------- sessions

  /**
   * Creates a session, or returns the one that already holds the external id (S1: idempotent on
   * {@code (environment, externalId)}; racing creators get one row).
   *
   * @throws InvalidExternalIdException if the external id is blank, longer than 256 characters
   *     after trimming, or starts with {@code session_} (S2)
   * @throws InvalidInputException if the agent id is blank or the expiry is not in the future
   * @throws SessionClosedException if the external id belongs to a closed or expired session (S5);
   *     nothing is created or triggered
   */
  public CreatedSession createSession(CreateSessionRequest request) {
    ensureOpen();
    Objects.requireNonNull(request, "request must not be null");
    String externalId = request.externalId() == null ? null : checkExternalId(request.externalId());
    if (request.agentId().isBlank()) {
      throw new InvalidInputException("agent id [" + request.agentId() + "] must not be blank");
    }
    Instant now = clock.instant();
    if (request.expiresAt() != null && !request.expiresAt().isAfter(now)) {
      throw new InvalidInputException(
          "expires at [" + request.expiresAt() + "] must be after now [" + now + "]");
    }
    String friendlyId = newId(IdGenerator.SESSION_PREFIX);
    CreateOutcome outcome =
        sessionStore.createSession(
            new NewSession(
                friendlyId,
                externalId,
                environment,
                request.agentId(),
                request.clientData(),
                request.triggerConfig(),
                now,
                request.expiresAt()));
    Session session = outcome.session();
    if (!outcome.created() && !session.isActive(now)) {
      throw closed(session, now, "create");
    }
    return new CreatedSession(session, outcome.created());
  }

  /**
   * The session at the address (S3): a friendly id when it starts with {@code session_}, else an
   * external id in this environment.
   *
   * @throws NoSuchSessionException naming the address if there is none
   */
  public Session session(String address) {
    ensureOpen();
    return resolve(address);
  }

  /**
   * One page of this engine's sessions, as the query filters and orders them (newest first by
   * default), with the cursor of the next page. Pages are keyset pages: the cursor is a position in
   * the order, so paging while sessions are created never repeats a session nor skips one that
   * existed when paging began, and a page costs the same at any depth on the database stores.
   *
   * <pre>{@code
   * SessionPage page = chat.listSessions(SessionQuery.builder().tag("vip").limit(20).build());
   * while (page.nextCursor() != null) {
   *   page = chat.listSessions(SessionQuery.builder().tag("vip").limit(20)
   *       .cursor(page.nextCursor()).build());
   * }
   * }</pre>
   *
   * @throws dev.durablechat.api.UnsupportedCapabilityException if the session store cannot list
   */
  public SessionPage listSessions(SessionQuery query) {
    ensureOpen();
    Objects.requireNonNull(query, "query must not be null");
    return sessionStore.listSessions(environment, query, clock.instant());
  }

  /**
   * Closes the session (S4): the first close's time and reason are kept, later ones change nothing.
   *
   * @return the session after the call
   * @throws NoSuchSessionException if there is no session at the address
   */
  public Session closeSession(String address, @Nullable String reason) {
    ensureOpen();
    Session session = resolve(address);
    Session closedSession =
        sessionStore.closeSession(session.friendlyId(), reason, clock.instant());
    // After the store call: a listener that looks finds the session closed.
    notifyClosed(closedSession.friendlyId());
    return closedSession;
  }

  /** The retention sweep's close of an expired session, closed as of its expiry time. */
  Session closeExpired(String sessionId, String reason, Instant at) {
    Session closedSession = sessionStore.closeSession(sessionId, reason, at);
    notifyClosed(sessionId);
    return closedSession;
  }

  private void notifyClosed(String sessionId) {
    for (Consumer<String> listener : closeListeners) {
      try {
        listener.accept(sessionId);
      } catch (RuntimeException e) {
        LOG.warn("a close listener failed for session [{}]", sessionId, e);
      }
    }
  }

  /**
   * Registers a listener that {@link #closeSession} calls on this node, with the session's friendly
   * id, after the session is closed (every call, also a repeated close); also after {@link
   * #deleteSession} and after the retention sweep closes an expired session (S11). For agent
   * runtimes, which end the session's run at once instead of waiting out its idle timeout; the
   * listener must be quick and thread-safe.
   */
  public void addCloseListener(Consumer<String> listener) {
    closeListeners.add(Objects.requireNonNull(listener));
  }

  /** Removes a listener of {@link #addCloseListener}. */
  public void removeCloseListener(Consumer<String> listener) {
    closeListeners.remove(listener);
  }

  /**
   * Deletes the session (S11): the session row, its runs and both of its streams go in one atomic
   * store step, which also records the session's snapshot as still to delete; then the snapshot is
   * deleted from the engine's snapshot store and the record cleared. A snapshot that cannot be
   * deleted now (the store is away) is logged and stays recorded, and the retention sweep ({@link
   * RetentionPolicy}) retries it: it is never left behind silently. An engine without a snapshot
   * store clears the record at once.
   *
   * <p>Afterwards the session is unknown everywhere: live tails of its streams end with a {@link
   * dev.durablechat.api.SessionDeletedException}, the close listeners ({@link #addCloseListener})
   * are called so that a run serving it stops, and the external id may be created afresh, on this
   * node or any other sharing the store (a new session with a new friendly id).
   *
   * @return the session as it was before the delete
   * @throws NoSuchSessionException if there is no session at the address (also when a concurrent
   *     delete removed it first)
   * @throws dev.durablechat.api.UnsupportedCapabilityException if the session store cannot delete
   */
  public Session deleteSession(String address) {
    ensureOpen();
    Session session = resolve(address);
    String sessionId = session.friendlyId();
    Optional<Session> deleted;
    try {
      deleted = sessionStore.deleteSession(sessionId, clock.instant());
    } finally {
      forget(session);
    }
    if (deleted.isEmpty()) {
      throw new NoSuchSessionException(
          "no session at address [" + address + "] in [" + environment + "]: deleted already");
    }
    LOG.debug("session [{}] deleted", sessionId);
    notifyClosed(sessionId);
    deleteSnapshot(new SnapshotKey(environment, sessionId));
    return deleted.get();
  }

  /**
   * Deletes the snapshot of a deleted session and clears its record; false (logged, still recorded
   * for the sweep) if the snapshot store failed.
   */
  boolean deleteSnapshot(SnapshotKey key) {
    SnapshotStore snapshots = snapshotStore;
    try {
      if (snapshots != null) {
        // The manifest's segments first, then snapshot.json: a retry still finds what is left.
        SegmentedSnapshots.delete(snapshots, key);
      }
    } catch (RuntimeException e) {
      LOG.warn(
          "snapshot [{}] of deleted session [{}] not deleted yet, the retention sweep retries: {}",
          key.path(),
          key.sessionId(),
          e.toString());
      return false;
    }
    try {
      sessionStore.snapshotDeleted(key);
      return true;
    } catch (RuntimeException e) {
      // The snapshot is gone; the record stays and the sweep deletes (nothing) again.
      LOG.warn(
          "snapshot [{}] deleted, but clearing its record failed: {}", key.path(), e.toString());
      return false;
    }
  }

  /** Drops the cached addresses of a session (it was deleted). */
  private void forget(Session session) {
    addresses.invalidate(session.friendlyId());
    if (session.externalId() != null) {
      addresses.invalidate(session.externalId());
    }
  }

  /**
   * Registers a listener that {@link #readerConnected} calls on this node, with the session's
   * friendly id. For agent runtimes, which look whether the session's run is dead or its messages
   * unanswered (S12); the listener must be quick, must not block and must be thread-safe.
   */
  public void addReaderListener(Consumer<String> listener) {
    readerListeners.add(Objects.requireNonNull(listener));
  }

  /** Removes a listener of {@link #addReaderListener}. */
  public void removeReaderListener(Consumer<String> listener) {
    readerListeners.remove(listener);
  }

  /**
   * A reader connected to the session's {@code out} (the HTTP out route calls it): tells the
   * listeners of {@link #addReaderListener}, so that a reader of a session whose run died gets its
   * reply without waiting for the next recovery sweep (S12).
   */
  public void readerConnected(String sessionId) {
    for (Consumer<String> listener : readerListeners) {
      try {
        listener.accept(sessionId);
      } catch (RuntimeException e) {
        LOG.warn("a reader listener failed for session [{}]", sessionId, e);
      }
    }
  }

  // ---------------------------------------------------------------- runs

  /**
   * Makes sure the session has a running current run (S7): reuses it if it is running; else starts
   * one and claims it by compare-and-set, with {@code firstRunReason} when the session never had a
   * run, or {@link RunReason#CONTINUATION} (naming the previous run) when its run has ended. A
   * caller that loses the race adopts the winner's run. Exactly one {@link SessionRun} row is
   * written per claimed run.
   *
   * @param firstRunReason {@link RunReason#INITIAL} or {@link RunReason#PRELOAD}
   * @throws SessionClosedException if the session is closed or expired (S5); nothing is written
   * @throws RunConflictException if the claim kept losing (8 attempts)
   */
  public EnsuredRun ensureRun(String address, RunReason firstRunReason) {
    ensureOpen();
    Objects.requireNonNull(firstRunReason, "run reason must not be null");
    if (firstRunReason != RunReason.INITIAL && firstRunReason != RunReason.PRELOAD) {
      throw new InvalidInputException(
          "ensure-run reason ["
              + firstRunReason.wireName()
              + "] must be [initial] or [preload]; continuations are chosen by the engine");
    }
    Session session = resolve(address);
    for (int attempt = 1; ; attempt++) {
      Instant now = clock.instant();
      if (!session.isActive(now)) {
        throw closed(session, now, "ensure-run");
      }
      String currentRunId = session.currentRunId();
      SessionRun current = currentRunId == null ? null : findRun(session, currentRunId);
      if (current != null && current.isRunning()) {
        return new EnsuredRun(session, current, false);
      }
      RunReason reason = currentRunId == null ? firstRunReason : RunReason.CONTINUATION;
      SessionRun run =
          SessionRun.started(
              newId(IdGenerator.RUN_PREFIX), session.friendlyId(), reason, currentRunId, now);
      try {
        Session after =
            sessionStore.swapRun(session.friendlyId(), session.version(), currentRunId, run, now);
        return new EnsuredRun(after, run, true);
      } catch (RunConflictException e) {
        // Someone else claimed first; re-read and adopt their run if it is running.
        if (attempt >= MAX_RUN_ATTEMPTS) {
          throw new RunConflictException(
              "session ["
                  + session.friendlyId()
                  + "] ensure-run: lost the claim "
                  + attempt
                  + " times (current ["
                  + e.currentRunId()
                  + "] version ["
                  + e.currentVersion()
                  + "]); giving up",
              session.friendlyId(),
              e.currentRunId(),
              e.currentVersion());
        }
        session = reload(session);
      }
    }
  }

  /**
   * Ends the calling run and makes a new one current (S8), by compare-and-set on the session's
   * version and current run; the store ends the replaced run as {@code superseded}. If the caller
   * is no longer current, nothing is written and the answer names the run that is, with {@code
   * swapped=false}. Of racing callers exactly one swaps (invariant 5).
   *
   * @param reason why: {@link RunReason#CONTINUATION}, {@link RunReason#UPGRADE} or {@link
   *     RunReason#MANUAL}
   * @throws SessionClosedException if the session is closed or expired (S5); nothing is written
   * @throws NoSuchRunException if the calling run never belonged to the session
   */
  public SwapResult endAndContinue(String address, String callingRunId, RunReason reason) {
    ensureOpen();
    Objects.requireNonNull(callingRunId, "calling run id must not be null");
    Objects.requireNonNull(reason, "run reason must not be null");
    if (reason == RunReason.INITIAL || reason == RunReason.PRELOAD) {
      throw new InvalidInputException(
          "end-and-continue reason ["
              + reason.wireName()
              + "] must be one of [continuation, upgrade, manual]");
    }
    Session session = resolve(address);
    for (int attempt = 1; ; attempt++) {
      Instant now = clock.instant();
      if (!session.isActive(now)) {
        throw closed(session, now, "end-and-continue");
      }
      if (!callingRunId.equals(session.currentRunId())) {
        return notSwapped(session, callingRunId);
      }
      SessionRun run =
          SessionRun.started(
              newId(IdGenerator.RUN_PREFIX), session.friendlyId(), reason, callingRunId, now);
      try {
        Session after =
            sessionStore.swapRun(session.friendlyId(), session.version(), callingRunId, run, now);
        return new SwapResult(after, run.runId(), true, true, callingRunId);
      } catch (RunConflictException e) {
        if (attempt >= MAX_RUN_ATTEMPTS) {
          throw e;
        }
        session = reload(session);
      }
    }
  }

  private SwapResult notSwapped(Session session, String callingRunId) {
    List<SessionRun> runs = sessionStore.runs(session.friendlyId());
    if (runs.stream().noneMatch(r -> r.runId().equals(callingRunId))) {
      throw new NoSuchRunException(
          "session [" + session.friendlyId() + "] has no run [" + callingRunId + "]");
    }
    String winner = session.currentRunId();
    if (winner == null) {
      // Unreachable with a store that keeps S6, since the caller's run once was current.
      throw new RunConflictException(
          "session [" + session.friendlyId() + "] has no current run",
          session.friendlyId(),
          null,
          session.version());
    }
    SessionRun winnerRun =
        runs.stream().filter(r -> r.runId().equals(winner)).findFirst().orElse(null);
    String previous = winnerRun == null ? null : winnerRun.previousRunId();
    return new SwapResult(session, winner, false, previous != null, previous);
  }

  /**
   * Ends a run (the first end's time and reason are kept). The session's current run does not
   * change; the next {@link #ensureRun} starts a continuation.
   *
   * @throws NoSuchRunException if the session has no such run
   */
  public SessionRun endRun(String address, String runId, String endReason) {
    ensureOpen();
    Objects.requireNonNull(runId, "run id must not be null");
    Objects.requireNonNull(endReason, "end reason must not be null");
    return withSessionId(address, id -> sessionStore.endRun(id, runId, clock.instant(), endReason));
  }

  /**
   * Renews the lease of the session's current run at the engine's clock (a heartbeat): nodes that
   * share the store presume a running run dead only once it was neither started nor renewed for a
   * lease's duration. Only the current, running run can renew.
   *
   * @return the run after the renewal
   * @throws dev.durablechat.api.FencedException if the run was superseded or has ended: it no
   *     longer owns the session
   * @throws NoSuchRunException if the session has no such run
   * @throws dev.durablechat.api.UnsupportedCapabilityException if the store keeps no leases ({@link
   *     dev.durablechat.api.spi.StoreCapability#RUN_LEASES})
   */
  public SessionRun renewRun(String address, String runId) {
    ensureOpen();
    Objects.requireNonNull(runId, "run id must not be null");
    return withSessionId(address, id -> sessionStore.renewRun(id, runId, clock.instant()));
  }

  /** Whether the session store keeps run leases ({@link #renewRun}). */
  public boolean keepsRunLeases() {
    return sessionStore.capabilities().contains(dev.durablechat.api.spi.StoreCapability.RUN_LEASES);
  }

  /**
   * Whether the session store finds sessions to recover and counts attempts ({@link
   * dev.durablechat.api.spi.StoreCapability#RECOVERY}, S12).
   */
  public boolean keepsRecovery() {
    return sessionStore.capabilities().contains(dev.durablechat.api.spi.StoreCapability.RECOVERY);
  }

  /**
   * One page of the sessions of this environment that may need a run (S12): of one of the agents,
   * active now, whose current run is running and was last alive before {@code aliveBefore}, or
   * whose {@code in} grew while no run served them; by friendly id after {@code afterSessionId}
   * (null: from the first), at most {@code limit}. A hint: check each session before acting.
   *
   * @throws dev.durablechat.api.UnsupportedCapabilityException if the store cannot ({@link
   *     #keepsRecovery})
   */
  public List<Session> sessionsToRecover(
      Set<String> agentIds, Instant aliveBefore, @Nullable String afterSessionId, int limit) {
    ensureOpen();
    Objects.requireNonNull(agentIds, "agent ids must not be null");
    Objects.requireNonNull(aliveBefore, "alive-before must not be null");
    return sessionStore.findSessionsToRecover(
        environment, Set.copyOf(agentIds), aliveBefore, clock.instant(), afterSessionId, limit);
  }

  /**
   * Counts an attempt of the session's current run at answering the {@code in} record (S12),
   * durably: the attempts at that record so far, this one included (one counter per session, for
   * the record being answered).
   *
   * @throws dev.durablechat.api.FencedException if the run is not the session's current run
   * @throws dev.durablechat.api.UnsupportedCapabilityException if the store cannot ({@link
   *     #keepsRecovery})
   */
  public int recordAttempt(String address, String runId, long inEventId) {
    ensureOpen();
    Objects.requireNonNull(runId, "run id must not be null");
    return sessionStore.recordAttempt(sessionId(address), runId, inEventId, clock.instant());
  }

  /** The session's runs, in the order they became current (S6 audit trail). */
  public List<SessionRun> runs(String address) {
    ensureOpen();
    List<SessionRun> runs = sessionStore.runs(sessionId(address));
    if (runs.isEmpty() && isCachedExternalId(address)) {
      // An empty answer may come from a cached session that was deleted (S11): look again.
      return sessionStore.runs(resolve(address).friendlyId());
    }
    return runs;
  }

  // ---------------------------------------------------------------- streams

  /**
   * Appends the raw JSON body of an {@code in} append, e.g. {@code
   * {"kind":"message","payload":{...}}}. Checks, in order: the size against {@code maxAppendBytes}
   * before anything is parsed (W4); the JSON syntax; the record's shape (W2, W3); then the store
   * append, where a repeated part id stores nothing (W5). Every refusal stores nothing.
   *
   * @param partId the client's part id for dedupe, or null
   * @throws PayloadTooLargeException if the body is over the cap
   * @throws InvalidPayloadException if the body is not JSON (naming the offset) or has the wrong
   *     shape (naming the field)
   * @throws NoSuchSessionException if there is no session at the address
   * @throws SessionClosedException if the session is closed or expired
   */
  public Appended appendIn(String address, byte[] body, @Nullable String partId) {
    ensureOpen();
    Objects.requireNonNull(body, "body must not be null");
    checkSize(address, body.length);
    JsonObject json = JsonCodec.parseObject(body);
    InEvent event = InEvent.fromJson(json);
    checkMessage(address, event);
    return storeIn(address, JsonCodec.write(json), partId);
  }

  /**
   * Appends a typed {@code in} record; its encoded form is held to the same cap as a raw body (W4).
   *
   * @see #appendIn(String, byte[], String)
   */
  public Appended appendIn(String address, InEvent event, @Nullable String partId) {
    ensureOpen();
    Objects.requireNonNull(event, "event must not be null");
    String text = JsonCodec.write(event.toJson());
    checkSize(address, utf8Length(text));
    checkMessage(address, event);
    return storeIn(address, text, partId);
  }

  /**
   * H6 at append time: an assistant message a client sends may only advance tool parts of a message
   * the server has ({@link MessageMerge#check}). User messages need no history. The history is the
   * live run's on this node when it already has the message; otherwise (another node runs the
   * session, or the reply is still being written) a rebuild from the stores decides, so a refusal
   * never rests on a history that lags.
   */
  private void checkMessage(String address, InEvent event) {
    if (!(event instanceof InEvent.Message m)
        || m.payload().message() == null
        || !m.payload().message().role().equals("assistant")) {
      return;
    }
    UIMessage message = m.payload().message();
    String sessionId =
        isCachedExternalId(address) ? resolve(address).friendlyId() : sessionId(address);
    Supplier<List<UIMessage>> live = liveHistories.get(sessionId);
    if (live != null) {
      try {
        MessageMerge.check(live.get(), message);
        return;
      } catch (InvalidInputException e) {
        // The live history may not have the reply yet: the stores decide.
      }
    }
    MessageMerge.check(history().rebuild(sessionId).messages(), message);
  }

  /**
   * Registers the in-memory history of a session's run on this node, which the H6 check of an
   * assistant message appended here reads before rebuilding from the stores. For agent runtimes;
   * the supplier must be cheap and thread-safe.
   *
   * @param sessionId the session's friendly id
   */
  public void putLiveHistory(String sessionId, Supplier<List<UIMessage>> history) {
    liveHistories.put(Objects.requireNonNull(sessionId), Objects.requireNonNull(history));
  }

  /** Removes a registration of {@link #putLiveHistory}, if it is still the current one. */
  public void removeLiveHistory(String sessionId, Supplier<List<UIMessage>> history) {
    liveHistories.remove(sessionId, history);
  }

  private Appended storeIn(String address, String payload, @Nullable String partId) {
    NewRecord record = new NewRecord(payload, partId);
    AppendResult result =
        withSessionId(address, id -> timedAppend(id, StreamKind.IN, List.of(record), null));
    return new Appended(result.firstSeq(), result.lastSeq(), result.duplicate());
  }

  /**
   * Appends records to {@code out} for the run {@code runId}, in one all-or-nothing store call.
   * Fenced (invariant 6): if {@code runId} is not the session's current run, nothing is written.
   *
   * @throws dev.durablechat.api.FencedException if the run is not current
   * @throws InvalidInputException if {@code events} is empty
   * @throws SessionClosedException if the session is closed or expired
   */
  public Appended appendOut(String address, String runId, List<? extends OutEvent> events) {
    ensureOpen();
    Objects.requireNonNull(runId, "run id must not be null");
    if (events.isEmpty()) {
      throw new InvalidInputException("out append needs at least one event, got [0]");
    }
    List<NewRecord> records;
    if (events.size() == 1) {
      records = List.of(NewRecord.of(OutRecords.encode(events.get(0))));
    } else {
      var array = new NewRecord[events.size()];
      for (int i = 0; i < array.length; i++) {
        array[i] = NewRecord.of(OutRecords.encode(events.get(i)));
      }
      records = Arrays.asList(array);
    }
    AppendResult result = withSessionId(address, id -> appendOut(id, runId, records, events));
    return new Appended(result.firstSeq(), result.lastSeq(), result.duplicate());
  }

  /**
   * The store append of {@code out} records, whose records this node's live tails of the stream are
   * handed right after it landed (no store read, no decode; {@link LiveTails}). A refused append
   * (fenced, closed) stores nothing and hands nothing over.
   */
  private AppendResult appendOut(
      String sessionId, String runId, List<NewRecord> records, List<? extends OutEvent> events) {
    Instant now = clock.instant();
    return live.append(
        new LiveTails.Key(sessionId, StreamKind.OUT),
        () -> timedAppend(sessionId, StreamKind.OUT, records, runId, now),
        result -> {
          if (result.duplicate() || result.lastSeq() - result.firstSeq() + 1 != events.size()) {
            return List.of(); // nothing new, or not the range asked for: the tails read the store
          }
          var handed = new ArrayList<StreamRecord<OutEvent>>(events.size());
          for (int i = 0; i < events.size(); i++) {
            handed.add(new StreamRecord<>(result.firstSeq() + i, now, events.get(i)));
          }
          return handed;
        });
  }

  /** The store append, timed for {@link Telemetry#append} (a refusal counts as a failure). */
  private AppendResult timedAppend(
      String sessionId, StreamKind kind, List<NewRecord> records, @Nullable String runId) {
    return timedAppend(sessionId, kind, records, runId, clock.instant());
  }

  private AppendResult timedAppend(
      String sessionId,
      StreamKind kind,
      List<NewRecord> records,
      @Nullable String runId,
      Instant now) {
    long start = System.nanoTime();
    boolean ok = false;
    try {
      AppendResult result = sessionStore.append(sessionId, kind, records, runId, now);
      ok = true;
      return result;
    } finally {
      telemetry.append(kind, System.nanoTime() - start, ok);
    }
  }

  /**
   * Appends one record to {@code out} for the run {@code runId}; see {@link #appendOut(String,
   * String, List)}.
   */
  public Appended appendOut(String address, String runId, OutEvent event) {
    return appendOut(address, runId, List.of(event));
  }

  /**
   * Up to {@code limit} {@code in} records after {@code afterEventId}, in order (W7: after N the
   * first is N+1, unless it was trimmed).
   */
  public List<StreamRecord<InEvent>> readIn(String address, long afterEventId, int limit) {
    return read(address, StreamKind.IN, afterEventId, limit, DurableChat::decodeIn);
  }

  /**
   * Up to {@code limit} {@code out} records after {@code afterEventId}, in order (W7). If the
   * records right after it were trimmed (H5), the list starts at the first retained one.
   */
  public List<StreamRecord<OutEvent>> readOut(String address, long afterEventId, int limit) {
    return read(address, StreamKind.OUT, afterEventId, limit, DurableChat::decodeOut);
  }

  private <E> List<StreamRecord<E>> read(
      String address,
      StreamKind kind,
      long afterEventId,
      int limit,
      Function<StoredRecord, StreamRecord<E>> decode) {
    ensureOpen();
    checkRead(afterEventId, limit);
    List<StoredRecord> stored =
        withSessionId(address, id -> sessionStore.read(id, kind, afterEventId, limit));
    var out = new ArrayList<StreamRecord<E>>(stored.size());
    for (StoredRecord r : stored) {
      out.add(decode.apply(r));
    }
    return out;
  }

  /** The highest event id ever assigned on the stream, 0 if none (trimming does not lower it). */
  public long lastEventId(String address, StreamKind stream) {
    ensureOpen();
    Objects.requireNonNull(stream, "stream must not be null");
    return withSessionId(address, id -> sessionStore.lastSeq(id, stream));
  }

  /**
   * Follows the session's {@code out} stream live from after {@code afterEventId}: each subscriber
   * gets every later record in order, across run swaps, at most as many items as it requested, and
   * a {@link TailItem.Moved} notice if its bookmark was trimmed away (H5). Items are delivered on
   * the engine's executor, one at a time per subscriber. Cancelling stops delivery and releases the
   * store watch; {@link #close()} ends the tail with an error.
   *
   * @throws NoSuchSessionException at once, if there is no session at the address
   */
  public Flow.Publisher<TailItem<OutEvent>> subscribeOut(String address, long afterEventId) {
    return subscribe(address, StreamKind.OUT, afterEventId, DurableChat::decodeOut, executor);
  }

  /**
   * {@link #subscribeOut(String, long)}, with the tail's work (reading the new records from the
   * store, decoding them, signalling the subscriber) run on {@code executor} instead of the
   * engine's. With {@code Runnable::run} it runs on the thread that wakes the tail: for an append
   * on this node, the appending thread itself, right after its records landed (no thread hop; a
   * subscriber that fans out to many readers should hand the work on quickly); for an append on
   * another node, the store's notification thread. Signals stay serialized, one at a time.
   *
   * @throws NoSuchSessionException at once, if there is no session at the address
   */
  public Flow.Publisher<TailItem<OutEvent>> subscribeOut(
      String address, long afterEventId, Executor executor) {
    Objects.requireNonNull(executor, "executor must not be null");
    return subscribe(address, StreamKind.OUT, afterEventId, DurableChat::decodeOut, executor);
  }

  /** Follows the session's {@code in} stream live; see {@link #subscribeOut}. */
  public Flow.Publisher<TailItem<InEvent>> subscribeIn(String address, long afterEventId) {
    return subscribe(address, StreamKind.IN, afterEventId, DurableChat::decodeIn, executor);
  }

  private <E> Flow.Publisher<TailItem<E>> subscribe(
      String address,
      StreamKind kind,
      long afterEventId,
      Function<StoredRecord, StreamRecord<E>> decode,
      Executor tailExecutor) {
    ensureOpen();
    checkRead(afterEventId, 1);
    // Not from the cache for an external id: a tail must not start on a deleted session (S11).
    String sessionId =
        isCachedExternalId(address) ? resolve(address).friendlyId() : sessionId(address);
    return subscriber -> {
      Objects.requireNonNull(subscriber, "subscriber must not be null");
      var tail =
          new Tail<E>(
              sessionStore,
              sessionId,
              kind,
              afterEventId,
              decode,
              tailExecutor,
              subscriber,
              ended -> live.remove(ended.key(), ended),
              live);
      // Before the tail's first drain registers its store watch (LiveTails#handsOver).
      live.add(tail.key(), tail);
      if (closed) {
        tail.fail(new DurableChatException("durablechat engine is closed"));
      }
      tail.start();
    };
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Ends every live tail with an error, stops the engine's own executor, and closes the stores the
   * engine opened itself. Stores passed to the builder stay open. Idempotent.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (sweepTimer != null) {
      sweepTimer.shutdownNow();
    }
    var error = new DurableChatException("durablechat engine is closed");
    for (Tail<?> tail : live.all()) {
      tail.fail(error);
    }
    if (ownedExecutor != null) {
      ownedExecutor.shutdown();
      try {
        if (!ownedExecutor.awaitTermination(2, TimeUnit.SECONDS)) {
          ownedExecutor.shutdownNow();
        }
      } catch (InterruptedException e) {
        ownedExecutor.shutdownNow();
        Thread.currentThread().interrupt();
      }
    }
    if (ownsSessionStore) {
      sessionStore.close();
    }
  }

  /**
   * Whether {@link #close()} has run. A caller whose work fails because the engine closed under it
   * (a shutdown) can tell that expected end from a failure an operator must look at.
   */
  public boolean isClosed() {
    return closed;
  }

  // ---------------------------------------------------------------- helpers

  private void ensureOpen() {
    if (closed) {
      throw new DurableChatException("durablechat engine is closed");
    }
  }

  /**
   * The friendly id at the address, from the cache when it was resolved before. Friendly ids are
   * never reused and an external id keeps its session until the session is deleted (S11); {@link
   * #withSessionId} notices a mapping that a delete made stale. Status is not cached (the store
   * checks it on every write).
   */
  private String sessionId(String address) {
    if (address == null) {
      return resolve(address).friendlyId();
    }
    String key = address.startsWith(Session.FRIENDLY_ID_PREFIX) ? address : address.trim();
    String cached = addresses.getIfPresent(key);
    return cached != null ? cached : resolve(address).friendlyId();
  }

  /**
   * Calls the store with the friendly id at the address. A cached external id whose session the
   * store no longer knows was deleted (S11), here or on another node, and may since have been
   * created afresh: the mapping is dropped and the call made once more with the id the store holds
   * now, so a stale mapping is never served.
   */
  private <T> T withSessionId(String address, Function<String, T> call) {
    if (!isCachedExternalId(address)) {
      return call.apply(sessionId(address));
    }
    String key = address.trim();
    String cached = addresses.getIfPresent(key);
    if (cached == null) {
      return call.apply(resolve(address).friendlyId());
    }
    try {
      return call.apply(cached);
    } catch (NoSuchSessionException e) {
      addresses.invalidate(key);
      String fresh = resolve(address).friendlyId();
      if (fresh.equals(cached)) {
        throw e;
      }
      return call.apply(fresh);
    }
  }

  private boolean isCachedExternalId(@Nullable String address) {
    return address != null
        && !address.startsWith(Session.FRIENDLY_ID_PREFIX)
        && addresses.getIfPresent(address.trim()) != null;
  }

  private Session resolve(String address) {
    if (address == null) {
      throw new NoSuchSessionException("no session at address [null] in [" + environment + "]");
    }
    Optional<Session> found;
    if (address.startsWith(Session.FRIENDLY_ID_PREFIX)) {
      found = sessionStore.findByFriendlyId(environment, address);
    } else {
      String externalId = address.trim();
      found =
          externalId.isEmpty()
              ? Optional.empty()
              : sessionStore.findByExternalId(environment, externalId);
    }
    Session session =
        found.orElseThrow(
            () ->
                new NoSuchSessionException(
                    "no session at address [" + address + "] in [" + environment + "]"));
    addresses.put(
        address.startsWith(Session.FRIENDLY_ID_PREFIX) ? address : address.trim(),
        session.friendlyId());
    return session;
  }

  private Session reload(Session session) {
    return sessionStore
        .findByFriendlyId(environment, session.friendlyId())
        .orElseThrow(
            () ->
                new NoSuchSessionException(
                    "session [" + session.friendlyId() + "] disappeared in [" + environment + "]"));
  }

  private @Nullable SessionRun findRun(Session session, String runId) {
    for (SessionRun run : sessionStore.runs(session.friendlyId())) {
      if (run.runId().equals(runId)) {
        return run;
      }
    }
    return null;
  }

  private static SessionClosedException closed(Session session, Instant now, String operation) {
    return new SessionClosedException(
        "session ["
            + session.friendlyId()
            + "] "
            + operation
            + ": expected an active session, found "
            + session.status(now).name().toLowerCase(java.util.Locale.ROOT)
            + (session.closedAt() != null ? " (closed at [" + session.closedAt() + "])" : "")
            + (session.closedAt() == null && session.expiresAt() != null
                ? " (expired at [" + session.expiresAt() + "])"
                : ""));
  }

  static String checkExternalId(String raw) {
    String id = raw.trim();
    if (id.isEmpty()) {
      throw new InvalidExternalIdException("external id [" + raw + "] must not be blank (S2)");
    }
    if (id.length() > MAX_EXTERNAL_ID_LENGTH) {
      throw new InvalidExternalIdException(
          "external id must be at most "
              + MAX_EXTERNAL_ID_LENGTH
              + " characters, got ["
              + id.length()
              + "] (S2)");
    }
    if (id.startsWith(Session.FRIENDLY_ID_PREFIX)) {
      throw new InvalidExternalIdException(
          "external id ["
              + id
              + "] must not start with ["
              + Session.FRIENDLY_ID_PREFIX
              + "], the friendly id namespace (S2)");
    }
    return id;
  }

  private String newId(String prefix) {
    String id = ids.next(prefix);
    if (id == null || !id.startsWith(prefix) || !SAFE_ID.matcher(id).matches()) {
      throw new DurableChatException(
          "id generator returned ["
              + id
              + "], expected ["
              + prefix
              + "] followed by letters, digits, '_' or '-' (at most 128 characters)");
    }
    return id;
  }

  private void checkSize(String address, long size) {
    if (size > maxAppendBytes) {
      throw new PayloadTooLargeException(
          "in append to session [" + address + "]", size, maxAppendBytes);
    }
  }

  private static void checkRead(long afterEventId, int limit) {
    if (afterEventId < 0) {
      throw new InvalidInputException("after event id [" + afterEventId + "] must not be negative");
    }
    if (limit < 1) {
      throw new InvalidInputException("read limit [" + limit + "] must be positive");
    }
  }

  static StreamRecord<InEvent> decodeIn(StoredRecord r) {
    return new StreamRecord<>(
        r.seq(), r.createdAt(), InEvent.fromJson(JsonCodec.parseObject(r.payload())));
  }

  static StreamRecord<OutEvent> decodeOut(StoredRecord r) {
    return new StreamRecord<>(r.seq(), r.createdAt(), OutRecords.decode(r.payload()));
  }

  private static long utf8Length(String s) {
    long n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        n += 1;
      } else if (c < 0x800) {
        n += 2;
      } else if (Character.isHighSurrogate(c)
          && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        n += 4;
        i++;
      } else {
        n += 3;
      }
    }
    return n;
  }

  private static ExecutorService newTailExecutor() {
    AtomicInteger count = new AtomicInteger();
    ThreadFactory factory =
        r -> {
          Thread t = new Thread(r, "durablechat-tail-" + count.incrementAndGet());
          t.setDaemon(true);
          return t;
        };
    int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
    var pool =
        new ThreadPoolExecutor(
            threads, threads, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), factory);
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }

  /**
   * Builds a {@link DurableChat}. Required: {@link #environment} and a session store ({@link
   * #sessionStore}, or a location in the system property {@value
   * StoreLoader#SESSION_STORE_PROPERTY} opened through {@link java.util.ServiceLoader}).
   */
  public static final class Builder {
    private @Nullable Environment environment;
    private @Nullable SessionStore sessionStore;
    private @Nullable SnapshotStore snapshotStore;
    private int maxAppendBytes = DEFAULT_MAX_APPEND_BYTES;
    private Clock clock = Clock.systemUTC();
    private IdGenerator ids = IdGenerator.random();
    private @Nullable Executor executor;
    private RetentionPolicy retention = RetentionPolicy.defaults();
    private Telemetry telemetry = Telemetry.noop();

    private Builder() {}

    /** The environment every session lives in (required). */
    public Builder environment(Environment environment) {
      this.environment = Objects.requireNonNull(environment, "environment must not be null");
      return this;
    }

    /**
     * The session store (required unless {@value StoreLoader#SESSION_STORE_PROPERTY} names one).
     * The caller keeps ownership: {@link DurableChat#close()} does not close it.
     */
    public Builder sessionStore(SessionStore sessionStore) {
      this.sessionStore = Objects.requireNonNull(sessionStore, "session store must not be null");
      return this;
    }

    /** The snapshot store for history (optional). The caller keeps ownership. */
    public Builder snapshotStore(SnapshotStore snapshotStore) {
      this.snapshotStore = Objects.requireNonNull(snapshotStore, "snapshot store must not be null");
      return this;
    }

    /** The cap on one {@code in} append's body in bytes (W4); default 512 KiB. */
    public Builder maxAppendBytes(int maxAppendBytes) {
      if (maxAppendBytes < 1) {
        throw new IllegalArgumentException(
            "max append bytes must be positive, got [" + maxAppendBytes + "]");
      }
      this.maxAppendBytes = maxAppendBytes;
      return this;
    }

    /** The clock for timestamps, expiry and status checks; default UTC system clock. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock must not be null");
      return this;
    }

    /** The generator of session and run ids; default {@link IdGenerator#random()}. */
    public Builder idGenerator(IdGenerator ids) {
      this.ids = Objects.requireNonNull(ids, "id generator must not be null");
      return this;
    }

    /**
     * The executor that delivers live tails. The caller keeps ownership. Default: a pool of named
     * daemon threads ({@code durablechat-tail-N}) that {@link DurableChat#close()} shuts down.
     */
    public Builder executor(Executor executor) {
      this.executor = Objects.requireNonNull(executor, "executor must not be null");
      return this;
    }

    /**
     * How sessions are retired and streams trimmed (S11, H5); default {@link
     * RetentionPolicy#defaults()}: expired sessions closed, closed ones deleted after 30 days,
     * nothing trimmed, a sweep every minute. {@link RetentionPolicy#none()} turns it all off.
     */
    public Builder retention(RetentionPolicy retention) {
      this.retention = Objects.requireNonNull(retention, "retention policy must not be null");
      return this;
    }

    /**
     * What the engine, and the runtime and routes built over it, report: metrics and a span per
     * turn; default {@link Telemetry#noop()}. For Micrometer: {@code
     * telemetry(Telemetry.micrometer(meterRegistry, observationRegistry))}.
     */
    public Builder telemetry(Telemetry telemetry) {
      this.telemetry = Objects.requireNonNull(telemetry, "telemetry must not be null");
      return this;
    }

    /**
     * The engine.
     *
     * @throws IllegalStateException naming what is missing
     */
    public DurableChat build() {
      var missing = new ArrayList<String>();
      if (environment == null) {
        missing.add("environment(Environment)");
      }
      Optional<String> configured = StoreLoader.configuredSessionStore();
      if (sessionStore == null && configured.isEmpty()) {
        missing.add(
            "sessionStore(SessionStore) or the system property ["
                + StoreLoader.SESSION_STORE_PROPERTY
                + "]");
      }
      if (!missing.isEmpty()) {
        throw new IllegalStateException(
            "durablechat builder is missing " + String.join(", ", missing));
      }
      if (sessionStore != null) {
        return new DurableChat(this, sessionStore, false);
      }
      String location = configured.orElseThrow();
      LOG.info("opening the session store at [{}] through ServiceLoader", scheme(location));
      return new DurableChat(this, StoreLoader.openSessionStore(location), true);
    }

    // The location may hold credentials; only its scheme is logged.
    private static String scheme(String location) {
      int colon = location.indexOf(':');
      return colon < 0 ? "?" : location.substring(0, colon) + ":...";
    }
  }
}
