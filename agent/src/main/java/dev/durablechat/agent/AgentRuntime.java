package dev.durablechat.agent;

import dev.durablechat.api.DurableChatException;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.InvalidInputException;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.Session;
import dev.durablechat.api.SessionClosedException;
import dev.durablechat.api.SessionRun;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@link ChatAgent}s on the sessions of a {@link DurableChat}: starts sessions with their
 * first run ({@link #startSession}, {@link #preload}), appends to {@code in} and boots a run when
 * none serves the session ({@link #send}, S7), and executes each run's loop: boot (L1), turns in
 * order (L2, L5), actions (L6), stop (L7), close, idle suspend (L3) and upgrade hand-over (L4).
 *
 * <p>Exactly one run executes a session at a time in this runtime. Runs execute on the executor
 * given to the builder, or on virtual threads when the JDK has them, else on named daemon threads
 * ({@code durablechat-agent-N}); {@link #close()} ends the runs (reason {@code shutdown}) and stops
 * the runtime's own threads. The {@link DurableChat} stays open.
 */
public final class AgentRuntime implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AgentRuntime.class);

  private final DurableChat chat;
  private final Executor executor;
  private final @Nullable ExecutorService ownedExecutor;
  private final Map<String, ChatAgent<?>> agents;
  private final ChatHistory history;
  private final ChatHistory hydrated;
  private final Map<String, RunLoop<?>> running = new ConcurrentHashMap<>();
  private final Map<String, Object> locks = new ConcurrentHashMap<>();
  private final Set<String> chatStarted = ConcurrentHashMap.newKeySet();
  private volatile boolean closing;

  private AgentRuntime(Builder b) {
    this.chat = b.chat;
    this.agents = Map.copyOf(b.agents);
    this.history =
        b.history != null ? b.history : ChatHistory.builder(chat).retention(b.retention).build();
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
   */
  public Appended send(String address, InEvent event, @Nullable String partId) {
    ensureOpen();
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
   * Like {@link #send(String, InEvent, String)} for the raw JSON body of an append (the HTTP
   * adapter's {@code in/append}): the engine checks the size, the syntax and the shape before it
   * stores anything ({@link DurableChat#appendIn(String, byte[], String)}), then a run is made sure
   * to serve the session.
   *
   * @return where the record landed
   */
  public Appended sendRaw(String address, byte[] body, @Nullable String partId) {
    ensureOpen();
    Appended appended = chat.appendIn(address, body, partId);
    try {
      ensureRunning(chat.session(address).friendlyId(), RunReason.INITIAL);
    } catch (SessionClosedException e) {
      // As in send: the record landed and the session closed right after it; no run is needed.
    }
    return appended;
  }

  /** The run serving the session in this runtime, if any. */
  public @Nullable String runningRunId(String address) {
    RunLoop<?> loop = running.get(chat.session(address).friendlyId());
    return loop == null ? null : loop.run.runId();
  }

  private Object lock(String sessionId) {
    return locks.computeIfAbsent(sessionId, k -> new Object());
  }

  /** The run serving the session, started here if none is. */
  String ensureRunning(String sessionId, RunReason firstReason) {
    synchronized (lock(sessionId)) {
      RunLoop<?> loop = running.get(sessionId);
      if (loop != null && !loop.retired()) {
        return loop.run.runId();
      }
      EnsuredRun ensured = chat.ensureRun(sessionId, firstReason);
      if (ensured.started()) {
        launch(ensured.session(), ensured.run());
        return ensured.run().runId();
      }
      // Running in the store but served by no loop here: its process died (this runtime assumes
      // it is the only one serving its sessions). Take over with a continuation run (S8), which
      // fences the dead run out; the new run rebuilds history and cleans its partial reply (H4).
      String dead = ensured.run().runId();
      SwapResult swap = chat.endAndContinue(sessionId, dead, RunReason.CONTINUATION);
      LOG.warn(
          "session [{}]: run [{}] is served by no loop here; taking over with run [{}]",
          sessionId,
          dead,
          swap.winnerRunId());
      SessionRun next = findRun(sessionId, swap.winnerRunId());
      if (next == null) {
        throw new DurableChatException(
            "session [" + sessionId + "]: run [" + swap.winnerRunId() + "] is not in its runs");
      }
      launch(swap.session(), next);
      return next.runId();
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

  private void launch(Session session, SessionRun run) {
    @SuppressWarnings("unchecked")
    ChatAgent<Object> agent = (ChatAgent<Object>) agent(session.agentId());
    var loop = new RunLoop<>(this, chat, agent, session, run);
    running.put(session.friendlyId(), loop);
    executor.execute(loop);
  }

  // ------------------------------------------------------------ called by run loops

  ChatHistory history(boolean hydrating) {
    return hydrating ? hydrated : history;
  }

  boolean chatStarted(String sessionId) {
    return chatStarted.contains(sessionId);
  }

  void markChatStarted(String sessionId) {
    chatStarted.add(sessionId);
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
    synchronized (lock(loop.sessionId)) {
      if (closing
          || loop.hasQueued()
          || chat.lastEventId(loop.sessionId, dev.durablechat.api.StreamKind.IN)
              > loop.lastReceived()) {
        return false;
      }
      suspend.run();
      loop.markRetired();
      running.remove(loop.sessionId, loop);
      return true;
    }
  }

  /** Retires the loop; false if it was retired already. */
  boolean retire(RunLoop<?> loop) {
    synchronized (lock(loop.sessionId)) {
      if (loop.retired()) {
        return false;
      }
      loop.markRetired();
      running.remove(loop.sessionId, loop);
      return true;
    }
  }

  /** L4: the loop swapped to a successor run; boot it here. */
  void handOver(RunLoop<?> loop, SwapResult swap) {
    synchronized (lock(loop.sessionId)) {
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
      launch(swap.session(), next);
    }
  }

  // ------------------------------------------------------------ lifecycle

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
     * The history runs rebuild from and complete turns through (H1-H5); default: one over the
     * engine's snapshot store, with {@link #retention} as set. Keep one per engine.
     */
    public Builder history(ChatHistory history) {
      this.history = Objects.requireNonNull(history, "history must not be null");
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
