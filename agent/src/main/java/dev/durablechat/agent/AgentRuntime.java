package dev.durablechat.agent;

import dev.durablechat.api.DurableChatException;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.InvalidInputException;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.Session;
import dev.durablechat.api.SessionClosedException;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.Trigger;
import dev.durablechat.api.TriggerConfig;
import dev.durablechat.core.Appended;
import dev.durablechat.core.ChatHistory;
import dev.durablechat.core.CreateSessionRequest;
import dev.durablechat.core.CreatedSession;
import dev.durablechat.core.DurableChat;
import dev.durablechat.core.EnsuredRun;
import dev.durablechat.core.SwapResult;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@link ChatAgent}s on the sessions of a {@link DurableChat}: starts sessions with their
 * first run ({@link #startSession}, {@link #preload}), appends to {@code in} and boots a run when
 * none serves the session ({@link #send}, S7), and executes each run's loop: boot (L1), turns in
 * order (L2, L5), actions (L6), stop (L7), close, idle suspend (L3) and upgrade hand-over (L4).
 *
 * <p>Exactly one run executes a session at a time, also across nodes that share one store (several
 * runtimes on one PostgreSQL): the runtime that executes a run holds its <b>lease</b>, renewing it
 * every third of {@link Builder#leaseDuration} ({@link DurableChat#renewRun}). A node that gets a
 * message for a session whose run is alive elsewhere only appends it: the owner's loop follows
 * {@code in} (LISTEN/NOTIFY on PostgreSQL, polling elsewhere) and dispatches it. The node then
 * watches that run's lease, and once the run was neither started nor renewed for a lease's duration
 * (its process died), takes the session over with a {@code continuation} run by compare-and-set
 * (S8): of two nodes racing to take over exactly one wins, and fencing (invariant 6) keeps a stale
 * owner from writing {@code out}. An owner that learns it lost the session (its renewal is fenced),
 * or that could not renew for a whole lease, cancels its turn and stops without a {@code
 * turn-complete}, so the taker answers the message again. Nodes' clocks must agree to well within a
 * lease. With a store that keeps no leases ({@link
 * dev.durablechat.api.spi.StoreCapability#RUN_LEASES}), a running run that no loop of this runtime
 * serves is presumed dead at once (one node only).
 *
 * <p><b>Recovery without a new message (S12).</b> With a store that has {@link
 * dev.durablechat.api.spi.StoreCapability#RECOVERY}, the runtime sweeps at start and every half
 * lease (on one named daemon thread, {@code durablechat-agent-recovery}) for the sessions of its
 * agents whose run died or whose {@code in} grew while no run served them, in bounded pages read
 * from an index, and takes each over as above; a reader connecting to a session's {@code out} on
 * this node ({@link DurableChat#readerConnected}) triggers the same look at once. Each message's
 * attempts are counted durably; after {@code maxAttempts} (the session's trigger config, else
 * {@link ChatAgent.Builder#maxAttempts}) the message is answered with an {@code error} chunk and
 * its {@code turn-complete} and never tried again.
 *
 * <p>Runs execute on the executor given to the builder, or on virtual threads when the JDK has
 * them, else on named daemon threads ({@code durablechat-agent-N}); leases are renewed and watched
 * on one named daemon thread ({@code durablechat-agent-lease}). {@link #close()} ends the runs
 * (reason {@code shutdown}) and stops the runtime's own threads. The {@link DurableChat} stays
 * open.
 */
public final class AgentRuntime implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AgentRuntime.class);

  /** The default run lease: 20 seconds, renewed every third of it. */
  public static final Duration DEFAULT_LEASE = Duration.ofSeconds(20);

  private final DurableChat chat;
  private final Executor executor;
  private final @Nullable ExecutorService ownedExecutor;
  private final Map<String, ChatAgent<?>> agents;
  private final ChatHistory history;
  private final ChatHistory hydrated;
  // Per-session state lives only while a session is served: running loses a loop when it
  // retires, locks an entry when nobody holds it, the lease keeper a watch when it fires.
  private final Map<String, RunLoop<?>> running = new ConcurrentHashMap<>();
  private final SessionLocks locks = new SessionLocks();
  private final LeaseKeeper leases;
  private final @Nullable RecoverySweep recovery;
  private final boolean countsAttempts;
  private volatile boolean closing;
  private final Consumer<String> onSessionClosed = this::sessionClosed;
  private final Consumer<String> onReader = this::readerConnected;
  private final Object turnsDone = new Object();

  private AgentRuntime(Builder b) {
    this.chat = b.chat;
    this.agents = Map.copyOf(b.agents);
    this.history = b.history != null ? b.history : chat.history().withRetention(b.retention);
    // Agents with hydrateMessages own their history (H7): this one only finds where in stands.
    this.hydrated = ChatHistory.builder(chat).hydrateMessages(incoming -> List.of()).build();
    if (b.executor != null) {
      this.executor = b.executor;
      this.ownedExecutor = null;
    } else {
      ExecutorService own = newRunExecutor();
      this.executor = own;
      this.ownedExecutor = own;
    }
    this.leases = new LeaseKeeper(chat, b.lease, running::values, () -> closing, this::lookAgain);
    if (!leases.enabled()) {
      LOG.warn(
          "the session store keeps no run leases: this runtime presumes a running run that none of"
              + " its loops serves dead, so it must be the only node serving these sessions");
    }
    chat.addCloseListener(onSessionClosed);
    // S12: a store that finds dead runs and counts attempts lets every node recover on its own.
    this.countsAttempts = chat.keepsRecovery();
    if (countsAttempts && leases.enabled()) {
      this.recovery =
          new RecoverySweep(
              chat, agents.keySet(), b.lease, () -> closing, this::recover, this::checkRead);
      chat.addReaderListener(onReader);
      recovery.start();
    } else {
      this.recovery = null;
      LOG.warn(
          "the session store finds no sessions to recover and counts no attempts: a run whose"
              + " process died is taken over only by the next send or resume of its session, and"
              + " maxAttempts is not enforced");
    }
  }

  /** A reader connected to the session's out on this node: look at its run soon (S12). */
  private void readerConnected(String sessionId) {
    RecoverySweep r = recovery;
    RunLoop<?> loop = running.get(sessionId);
    if (r != null && (loop == null || loop.retired())) {
      r.check(sessionId);
    }
  }

  /**
   * A reader's check (S12), on the recovery thread: for a session of this runtime's agents, what
   * {@link #resume} does (take over a dead run, answer a backlog behind an ended one).
   */
  private void checkRead(String sessionId) {
    if (closing || !agents.containsKey(chat.session(sessionId).agentId())) {
      return;
    }
    resume(sessionId);
  }

  /**
   * A session the sweep found (S12), on the recovery thread: its current run died (take it over by
   * compare-and-set, S8), or its {@code in} grew while no run served it (boot a run that reads it,
   * as {@link #send} would have). Checked again under the session's lock: the store's answer is a
   * hint from a moment ago.
   */
  private void recover(String sessionId) {
    if (closing) {
      return;
    }
    Session session = chat.session(sessionId);
    if (!session.isActive(chat.clock().instant())) {
      return;
    }
    locks.lock(sessionId);
    try {
      RunLoop<?> loop = running.get(sessionId);
      if (loop != null && !loop.retired()) {
        return;
      }
      SessionRun current = currentRun(session);
      if (current != null && current.isRunning() && leases.holds(current)) {
        return; // renewed since the store answered: alive on another node
      }
      ensureRunning(sessionId, RunReason.INITIAL, "recovery");
    } catch (SessionClosedException e) {
      // closed meanwhile: nothing to serve (S5)
    } finally {
      locks.unlock(sessionId);
    }
  }

  /** Whether runs count their attempts durably (S12: the store has RECOVERY). */
  boolean countsAttempts() {
    return countsAttempts;
  }

  /**
   * A session was closed through this node's engine (the close route, {@code closeSession}): its
   * run here ends now, reason {@code closed}, instead of waiting out its idle timeout.
   */
  private void sessionClosed(String sessionId) {
    RunLoop<?> loop = running.get(sessionId);
    if (loop != null && !loop.retired()) {
      loop.sessionClosed();
    }
  }

  /** A builder over the engine. */
  public static Builder builder(DurableChat chat) {
    return new Builder(chat);
  }

  /** The engine this runtime runs on. */
  public DurableChat chat() {
    return chat;
  }

  /** The registered agent with the id. */
  public ChatAgent<?> agent(String agentId) {
    ChatAgent<?> agent = agents.get(agentId);
    if (agent == null) {
      throw new InvalidInputException(
          "no agent [" + agentId + "] is registered; registered: " + agents.keySet());
    }
    return agent;
  }

  /**
   * Creates the chat's session (or finds it, S1) and makes sure a run serves it (S7): its first run
   * has reason {@code initial}. The counterpart of {@code chat.createStartSessionAction}.
   *
   * @throws dev.durablechat.api.InvalidPayloadException if the client data does not bind to the
   *     agent's client data type (naming the field); nothing is created
   */
  public StartedSession startSession(
      String chatId, String agentId, JsonValue clientData, TriggerConfig triggerConfig) {
    return start(chatId, agentId, clientData, triggerConfig, RunReason.INITIAL);
  }

  /**
   * Like {@link #startSession} ahead of the first message (eager preload): the first run has reason
   * {@code preload} and boots at once, with {@code onPreload} after {@code onBoot} (L1).
   */
  public StartedSession preload(
      String chatId, String agentId, JsonValue clientData, TriggerConfig triggerConfig) {
    return start(chatId, agentId, clientData, triggerConfig, RunReason.PRELOAD);
  }

  private StartedSession start(
      String chatId,
      String agentId,
      JsonValue clientData,
      TriggerConfig triggerConfig,
      RunReason reason) {
    ensureOpen();
    agent(agentId).bindClientData(clientData);
    CreatedSession created =
        chat.createSession(
            CreateSessionRequest.builder(agentId)
                .externalId(chatId)
                .clientData(clientData)
                .triggerConfig(triggerConfig)
                .build());
    Session session = created.session();
    String runId = ensureRunning(session.friendlyId(), reason);
    return new StartedSession(session.friendlyId(), session.displayId(), runId, created.created());
  }

  /**
   * Appends a record to the session's {@code in} stream and makes sure a run serves the session: if
   * none runs here, the session's run is ensured (S7; after an idle end the engine starts a {@code
   * continuation}) and booted.
   *
   * @return where the record landed
   * @throws dev.durablechat.api.InvalidPayloadException if an action does not bind to the agent's
   *     action type ({@link ChatAgent.Builder#actionType}); nothing is stored
   */
  public Appended send(String address, InEvent event, @Nullable String partId) {
    ensureOpen();
    if (event instanceof InEvent.Message m && m.payload().trigger() == Trigger.ACTION) {
      // The action schema: an action that does not bind is refused before it is stored.
      agent(chat.session(address).agentId()).bindAction(m.payload().action());
    }
    Appended appended = chat.appendIn(address, event, partId);
    try {
      ensureRunning(chat.session(address).friendlyId(), RunReason.INITIAL);
    } catch (SessionClosedException e) {
      // The record landed; the session was closed after it (by this very close record, served by
      // the running loop, or concurrently): a closed session needs no run (S5).
    }
    return appended;
  }

  /**
   * Makes sure the session's unanswered messages get answered, e.g. after a restart or for a
   * session whose process died mid-turn: if its run is alive (here, or on another node whose lease
   * holds) nothing more happens, though a run alive elsewhere is watched and taken over once its
   * lease expires; if its run is running but its lease expired, a {@code continuation} run takes
   * over here (S8) and rebuilds the history, cleaning the partial reply (H4); if its run ended and
   * {@code in} holds messages no {@code turn-complete} acknowledged, a {@code continuation} run
   * boots here to answer them. A closed session needs nothing.
   *
   * @return the run serving the session (here or elsewhere), or null if none needs to
   */
  public @Nullable String resume(String address) {
    ensureOpen();
    Session session = chat.session(address);
    if (!session.isActive(chat.clock().instant())) {
      return null;
    }
    String sessionId = session.friendlyId();
    locks.lock(sessionId);
    try {
      RunLoop<?> loop = running.get(sessionId);
      if (loop != null && !loop.retired()) {
        return loop.run.runId();
      }
      SessionRun current = currentRun(session);
      if ((current == null || !current.isRunning()) && !hasBacklog(sessionId)) {
        return null;
      }
      try {
        return ensureRunning(sessionId, RunReason.INITIAL);
      } catch (SessionClosedException e) {
        return null;
      }
    } finally {
      locks.unlock(sessionId);
    }
  }

  /** The run serving the session in this runtime, if any. */
  public @Nullable String runningRunId(String address) {
    RunLoop<?> loop = running.get(chat.session(address).friendlyId());
    return loop == null ? null : loop.run.runId();
  }

  /**
   * The run serving the session: the loop here, or a run alive on another node (whose lease is then
   * watched), else a run started here (S7) or, if the current run's lease expired, a continuation
   * that takes over (S8).
   */
  String ensureRunning(String sessionId, RunReason firstReason) {
    return ensureRunning(sessionId, firstReason, "lease");
  }

  /**
   * As {@link #ensureRunning(String, RunReason)}; {@code takeoverCause} names, for telemetry, what
   * found the dead run if this takes one over: {@code lease} (a message to serve) or {@code
   * recovery} (the sweep or a reader's check, S12).
   */
  private String ensureRunning(String sessionId, RunReason firstReason, String takeoverCause) {
    locks.lock(sessionId);
    try {
      RunLoop<?> loop = running.get(sessionId);
      if (loop != null && !loop.retired()) {
        return loop.run.runId();
      }
      EnsuredRun ensured = chat.ensureRun(sessionId, firstReason);
      if (ensured.started()) {
        launch(ensured.session(), ensured.run(), false);
        return ensured.run().runId();
      }
      SessionRun current = ensured.run();
      if (leases.holds(current)) {
        // Alive on another node (or another runtime of this JVM): it dispatches what we appended.
        leases.watch(sessionId, current);
        return current.runId();
      }
      // Its owner stopped renewing for a whole lease: presumed dead. Take over with a continuation
      // run by compare-and-set (S8); the store ends the dead run as superseded and fencing keeps it
      // from writing out. The new run rebuilds history and cleans the partial reply (H4).
      SwapResult swap = chat.endAndContinue(sessionId, current.runId(), RunReason.CONTINUATION);
      SessionRun next = findRun(sessionId, swap.winnerRunId());
      if (next == null) {
        throw new DurableChatException(
            "session [" + sessionId + "]: run [" + swap.winnerRunId() + "] is not in its runs");
      }
      if (!swap.swapped()) {
        // Another node took over first: its run serves the session; keep an eye on its lease.
        LOG.info(
            "session [{}]: run [{}] was taken over by run [{}] elsewhere",
            sessionId,
            current.runId(),
            next.runId());
        if (next.isRunning()) {
          leases.watch(sessionId, next);
        }
        return next.runId();
      }
      chat.telemetry().takeover(takeoverCause);
      LOG.warn(
          "session [{}]: run [{}] was last alive at [{}] (lease [{}]); taking over with run [{}]",
          sessionId,
          current.runId(),
          current.lastAliveAt(),
          leases.lease(),
          next.runId());
      launch(swap.session(), next, false);
      return next.runId();
    } finally {
      locks.unlock(sessionId);
    }
  }

  private @Nullable SessionRun currentRun(Session session) {
    String runId = session.currentRunId();
    return runId == null ? null : findRun(session.friendlyId(), runId);
  }

  /**
   * Whether {@code in} holds a message after the last one a {@code turn-complete} acknowledged
   * (looked up in the last records of {@code out}; if none is found there, everything after the
   * start counts).
   */
  boolean hasBacklog(String sessionId) {
    long lastIn = chat.lastEventId(sessionId, StreamKind.IN);
    if (lastIn == 0) {
      return false;
    }
    long dispatched = lastDispatched(sessionId);
    if (dispatched >= lastIn) {
      return false;
    }
    long after = dispatched;
    while (true) {
      List<StreamRecord<InEvent>> page = chat.readIn(sessionId, after, 64);
      if (page.isEmpty()) {
        return false;
      }
      for (StreamRecord<InEvent> r : page) {
        if (r.event() instanceof InEvent.Message m
            && (m.payload().trigger() == Trigger.SUBMIT_MESSAGE
                || m.payload().trigger() == Trigger.REGENERATE_MESSAGE
                || m.payload().trigger() == Trigger.ACTION
                || m.payload().trigger() == Trigger.CLOSE)) {
          return true;
        }
        after = r.eventId();
      }
    }
  }

  /** The in event id the last {@code turn-complete} on out names; 0 if none is near the end. */
  private long lastDispatched(String sessionId) {
    long lastOut = chat.lastEventId(sessionId, StreamKind.OUT);
    if (lastOut == 0) {
      return 0;
    }
    // A run's last out record is usually its last turn-complete (or upgrade-required after it):
    // look back a page, then further, at most a few pages.
    for (long window = 16; window <= 4096; window *= 4) {
      long from = Math.max(0, lastOut - window);
      List<StreamRecord<OutEvent>> page = chat.readOut(sessionId, from, (int) (lastOut - from));
      for (int i = page.size() - 1; i >= 0; i--) {
        if (page.get(i).event() instanceof OutEvent.TurnComplete tc) {
          return tc.lastDispatchedInEventId();
        }
      }
      if (from == 0) {
        return 0;
      }
    }
    return 0;
  }

  /** A watched run's lease would have expired: look at its session again (S8). */
  private void lookAgain(String sessionId) {
    try {
      resume(sessionId);
    } catch (RuntimeException e) {
      LOG.warn("session [{}]: could not look at its run again", sessionId, e);
      Session session = chat.session(sessionId);
      SessionRun current = currentRun(session);
      if (current != null && current.isRunning()) {
        leases.watch(sessionId, current);
      }
    }
  }

  private @Nullable SessionRun findRun(String sessionId, String runId) {
    for (SessionRun r : chat.runs(sessionId)) {
      if (r.runId().equals(runId)) {
        return r;
      }
    }
    return null;
  }

  /**
   * Starts a loop for the run.
   *
   * @param chatStarted whether onChatStart already fired for the chat in a run that did not
   *     complete the turn (an upgrade hand-over); otherwise the loop reads it from {@code in}
   */
  private void launch(Session session, SessionRun run, boolean chatStarted) {
    @SuppressWarnings("unchecked")
    ChatAgent<Object> agent = (ChatAgent<Object>) agent(session.agentId());
    var loop = new RunLoop<>(this, chat, agent, session, run, chatStarted);
    running.put(session.friendlyId(), loop);
    executor.execute(loop);
  }

  // ------------------------------------------------------------ called by run loops

  ChatHistory history(boolean hydrating) {
    return hydrating ? hydrated : history;
  }

  boolean isClosing() {
    return closing;
  }

  void stopRequested(RunLoop<?> loop) {
    loop.applyStop();
  }

  /**
   * Ends the loop if nothing arrived: under the session's lock, so that a {@link #send} racing the
   * idle end either reaches this loop or boots a new run after it ended (L3).
   */
  boolean retireIfIdle(RunLoop<?> loop, Runnable suspend) {
    locks.lock(loop.sessionId);
    try {
      // Read before the queue: the tail queues a record before it counts it as received, so a
      // record counted here is in the queue, and one that is not was appended after this read
      // (and lastEventId shows it). Re-reading it later would miss a record the tail queued in
      // between, which this retiring loop would then never answer.
      long received = loop.lastReceived();
      if (closing
          || loop.hasQueued()
          || chat.lastEventId(loop.sessionId, StreamKind.IN) > received) {
        return false;
      }
      suspend.run();
      loop.markRetired();
      running.remove(loop.sessionId, loop);
      // Another node may have appended while this run still looked alive to it (it then leaves
      // the message to this run): now that the run has ended, answer such a message here. Compare
      // with `received` as read above, not the loop's count now: this run's tail may have
      // delivered the record meanwhile, into a queue that nobody reads any more.
      if (chat.lastEventId(loop.sessionId, StreamKind.IN) > received
          && hasBacklog(loop.sessionId)) {
        try {
          ensureRunning(loop.sessionId, RunReason.INITIAL);
        } catch (RuntimeException e) {
          LOG.warn("session [{}]: could not boot a run for a late message", loop.sessionId, e);
        }
      }
      return true;
    } finally {
      locks.unlock(loop.sessionId);
    }
  }

  /**
   * Retires the loop and closes its session, all under the session's lock: a {@link #send} racing
   * the close either reaches this loop or finds the session closed, never an ended run to continue.
   */
  void retireAndClose(RunLoop<?> loop, Runnable close) {
    locks.lock(loop.sessionId);
    try {
      if (loop.retired()) {
        return;
      }
      loop.markRetired();
      running.remove(loop.sessionId, loop);
      close.run();
    } finally {
      locks.unlock(loop.sessionId);
    }
  }

  /** Retires the loop; false if it was retired already. */
  boolean retire(RunLoop<?> loop) {
    locks.lock(loop.sessionId);
    try {
      if (loop.retired()) {
        return false;
      }
      loop.markRetired();
      running.remove(loop.sessionId, loop);
      return true;
    } finally {
      locks.unlock(loop.sessionId);
    }
  }

  /** L4: the loop swapped to a successor run; boot it here. */
  void handOver(RunLoop<?> loop, SwapResult swap) {
    locks.lock(loop.sessionId);
    try {
      loop.markRetired();
      running.remove(loop.sessionId, loop);
      if (closing) {
        return;
      }
      SessionRun next = findRun(loop.sessionId, swap.winnerRunId());
      if (next == null || !next.isRunning()) {
        LOG.warn(
            "session [{}]: successor run [{}] is not running", loop.sessionId, swap.winnerRunId());
        return;
      }
      // The successor answers the message this run dispatched: onChatStart must not fire twice.
      launch(swap.session(), next, loop.chatStarted());
    } finally {
      locks.unlock(loop.sessionId);
    }
  }

  /**
   * How many per-session entries the runtime holds now: running loops, session locks and lease
   * watches. Zero once no session is being served.
   */
  int sessionEntries() {
    return running.size()
        + locks.size()
        + leases.watched()
        + (recovery == null ? 0 : recovery.pending());
  }

  // ------------------------------------------------------------ lifecycle

  /** A run loop's turn or action ended: wakes {@link #awaitTurns}. */
  void turnEnded() {
    synchronized (turnsDone) {
      turnsDone.notifyAll();
    }
  }

  /**
   * Waits until no run of this runtime is in the middle of a turn or an action, at most the
   * timeout: the step of a graceful shutdown between refusing new messages (the HTTP routes stop
   * accepting appends) and {@link #close()}. A turn still running when the timeout passes is ended
   * by {@link #close()} without a {@code turn-complete}, and the node that serves the session next
   * answers its message again (H4).
   *
   * @return true if no turn is in flight, false if the timeout passed first
   * @throws InterruptedException if the waiting thread is interrupted
   */
  public boolean awaitTurns(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (turnsDone) {
      while (running.values().stream().anyMatch(RunLoop::inTurn)) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        // Capped: a turn that started after the check notifies too, but a loop's first turn may
        // begin between the check and the wait.
        turnsDone.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 100)));
      }
      return true;
    }
  }

  private void ensureOpen() {
    if (closing) {
      throw new DurableChatException("agent runtime is closed");
    }
  }

  /**
   * Ends every run this runtime executes (reason {@code shutdown}), waiting up to 5 seconds for
   * them, and stops the runtime's own threads. Idempotent.
   */
  @Override
  public void close() {
    if (closing) {
      return;
    }
    closing = true;
    chat.removeCloseListener(onSessionClosed);
    chat.removeReaderListener(onReader);
    if (recovery != null) {
      recovery.close();
    }
    leases.close();
    List<RunLoop<?>> loops = new ArrayList<>(running.values());
    loops.forEach(RunLoop::shutdown);
    try {
      for (RunLoop<?> loop : loops) {
        if (!loop.awaitDone(5_000)) {
          LOG.warn("run [{}] did not end within 5 s of close", loop.run.runId());
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (ownedExecutor != null) {
      ownedExecutor.shutdownNow();
      try {
        ownedExecutor.awaitTermination(2, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Virtual threads when the JDK has them (21+), else a pool of named daemon threads. */
  static ExecutorService newRunExecutor() {
    try {
      MethodHandle virtual =
          MethodHandles.publicLookup()
              .findStatic(
                  Executors.class,
                  "newVirtualThreadPerTaskExecutor",
                  MethodType.methodType(ExecutorService.class));
      return (ExecutorService) virtual.invoke();
    } catch (NoSuchMethodException | IllegalAccessException e) {
      AtomicInteger count = new AtomicInteger();
      ThreadFactory factory =
          r -> {
            Thread t = new Thread(r, "durablechat-agent-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
          };
      return Executors.newCachedThreadPool(factory);
    } catch (Throwable e) {
      throw new DurableChatException("could not create the run executor", e);
    }
  }

  /** Builds an {@link AgentRuntime}: register agents, optionally give an executor. */
  public static final class Builder {
    private final DurableChat chat;
    private final Map<String, ChatAgent<?>> agents = new ConcurrentHashMap<>();
    private @Nullable Executor executor;
    private @Nullable ChatHistory history;
    private boolean retention;
    private Duration lease = DEFAULT_LEASE;

    private Builder(DurableChat chat) {
      this.chat = Objects.requireNonNull(chat, "durable chat must not be null");
    }

    /**
     * Registers an agent under its id.
     *
     * @throws IllegalArgumentException if another agent has the id
     */
    public Builder register(ChatAgent<?> agent) {
      if (agents.putIfAbsent(agent.id(), agent) != null) {
        throw new IllegalArgumentException("agent [" + agent.id() + "] is registered twice");
      }
      return this;
    }

    /**
     * The executor runs execute on; the caller keeps ownership. Each run holds a thread while it
     * waits for messages (up to the idle timeout), so size it for the live sessions.
     */
    public Builder executor(Executor executor) {
      this.executor = Objects.requireNonNull(executor, "executor must not be null");
      return this;
    }

    /**
     * The history runs rebuild from and complete turns through (H1-H5); default: the engine's own
     * ({@link DurableChat#history()}), with {@link #retention} as set.
     */
    public Builder history(ChatHistory history) {
      this.history = Objects.requireNonNull(history, "history must not be null");
      return this;
    }

    /**
     * How long a run's owner may go without renewing before other nodes presume it dead and take
     * its session over (default 20 s); the owner renews every third of it. Crash recovery on
     * another node waits this long, so keep it well above a database hiccup and the nodes' clock
     * skew. Every node serving the same sessions must use the same lease: a node judges other
     * nodes' runs by its own.
     *
     * @throws IllegalArgumentException if it is under 100 ms
     */
    public Builder leaseDuration(Duration lease) {
      Objects.requireNonNull(lease, "lease duration must not be null");
      if (lease.compareTo(Duration.ofMillis(100)) < 0) {
        throw new IllegalArgumentException(
            "lease duration [" + lease + "] must be at least [PT0.1S]");
      }
      this.lease = lease;
      return this;
    }

    /** Retention for the default history (H5): trim out after each snapshot. Off by default. */
    public Builder retention(boolean retention) {
      this.retention = retention;
      return this;
    }

    /** The runtime. */
    public AgentRuntime build() {
      if (agents.isEmpty()) {
        throw new IllegalStateException("agent runtime has no agent; register(ChatAgent) one");
      }
      return new AgentRuntime(this);
    }
  }
}
