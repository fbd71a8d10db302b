package dev.durablechat.agent;

import dev.durablechat.api.JsonValue;
import dev.durablechat.api.UIMessage;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A chat agent: the Java counterpart of {@code chat.agent({...})}. An id, an idle timeout, a client
 * data type, lifecycle hooks (PROTOCOL L1–L10) and the {@code run} function that answers a turn by
 * writing UI message chunks. Register it with an {@link AgentRuntime}.
 *
 * <pre>{@code
 * ChatAgent<Plan> agent = ChatAgent.builder("support")
 *     .clientData(Plan.class)
 *     .idleTimeout(Duration.ofSeconds(30))
 *     .onBoot(boot -> user.init(loadUser(boot.clientData())))
 *     .run((turn, out) -> out.text("Hello " + user.get().name()))
 *     .build();
 * }</pre>
 *
 * <p>Per turn (L2): {@code onValidateMessages} → {@code hydrateMessages} → {@code onChatStart}
 * (once per chat) → {@code onTurnStart} → {@code run} → {@code onBeforeTurnComplete} → the {@code
 * turn-complete} record → {@code onTurnComplete}. Hooks run on the run's thread, one at a time.
 *
 * @param <C> the client data type
 */
public final class ChatAgent<C> {
  /** The default idle timeout: 30 seconds (L3). */
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(30);

  /** The default attempts a message gets (S12): 3, as the seed's platform defaults to. */
  public static final int DEFAULT_MAX_ATTEMPTS = 3;

  /** The default bound on deferred work (L9): 10 seconds. */
  public static final Duration DEFAULT_DEFER_TIMEOUT = Duration.ofSeconds(10);

  /**
   * A lifecycle hook.
   *
   * @param <E> what the hook sees
   */
  @FunctionalInterface
  public interface Hook<E> {
    /** Handles the event; an exception fails the turn (or the boot) and is logged. */
    void on(E event) throws Exception;
  }

  /**
   * Answers a turn (or an action) by writing chunks.
   *
   * @param <C> the client data type
   */
  @FunctionalInterface
  public interface Responder<C> {
    /** Writes the reply; a {@link TurnCancelledException} means the turn was stopped. */
    void respond(TurnContext<C> turn, ChunkWriter out) throws Exception;
  }

  /**
   * Supplies the whole history from the application (H7).
   *
   * @param <C> the client data type
   */
  @FunctionalInterface
  public interface Hydrator<C> {
    /** The full history, including the incoming message ({@link TurnContext#message()}). */
    List<UIMessage> hydrate(TurnContext<C> turn) throws Exception;
  }

  /**
   * Server-side compaction (L10): after a turn's reply, if {@link #shouldCompact} says so, the
   * history is replaced by {@link #summarize}'s result before the turn completes, so the snapshot
   * holds the compacted history.
   *
   * @param <C> the client data type
   */
  public interface Compaction<C> {
    /** Whether the history after this turn should be compacted. */
    boolean shouldCompact(TurnContext<C> turn, List<UIMessage> messages);

    /** The compacted history (e.g. a summary message and the latest messages). */
    List<UIMessage> summarize(TurnContext<C> turn, List<UIMessage> messages) throws Exception;
  }

  final String id;
  final Class<C> clientDataType;
  final Class<?> actionType;
  final Duration idleTimeout;
  final Duration deferTimeout;
  final int maxAttempts;
  final @Nullable Hook<BootEvent<C>> onBoot;
  final @Nullable Hook<BootEvent<C>> onPreload;
  final @Nullable Hook<TurnContext<C>> onChatStart;
  final @Nullable Hook<TurnContext<C>> onValidateMessages;
  final @Nullable Hydrator<C> hydrateMessages;
  final @Nullable Hook<TurnContext<C>> onTurnStart;
  final @Nullable Hook<TurnContext<C>> onBeforeTurnComplete;
  final @Nullable Hook<TurnContext<C>> onTurnComplete;
  final @Nullable Hook<BootEvent<C>> onChatSuspend;
  final @Nullable Hook<BootEvent<C>> onChatResume;
  final @Nullable Responder<C> onAction;
  final @Nullable Compaction<C> compaction;
  final Responder<C> run;

  private ChatAgent(Builder<C> b, Responder<C> run) {
    this.id = b.id;
    this.clientDataType = b.clientDataType;
    this.actionType = b.actionType;
    this.idleTimeout = b.idleTimeout;
    this.deferTimeout = b.deferTimeout;
    this.maxAttempts = b.maxAttempts;
    this.onBoot = b.onBoot;
    this.onPreload = b.onPreload;
    this.onChatStart = b.onChatStart;
    this.onValidateMessages = b.onValidateMessages;
    this.hydrateMessages = b.hydrateMessages;
    this.onTurnStart = b.onTurnStart;
    this.onBeforeTurnComplete = b.onBeforeTurnComplete;
    this.onTurnComplete = b.onTurnComplete;
    this.onChatSuspend = b.onChatSuspend;
    this.onChatResume = b.onChatResume;
    this.onAction = b.onAction;
    this.compaction = b.compaction;
    this.run = run;
  }

  /**
   * A builder for the agent with the id; its client data is raw JSON until {@link
   * Builder#clientData}.
   */
  public static Builder<JsonValue> builder(String id) {
    if (id == null || id.isBlank()) {
      throw new IllegalArgumentException("agent id [" + id + "] must not be blank");
    }
    return new Builder<>(id, JsonValue.class);
  }

  /** The agent id (the session's agent id, the task id of the seed). */
  public String id() {
    return id;
  }

  /** How long a run waits for the next message before it suspends (L3). */
  public Duration idleTimeout() {
    return idleTimeout;
  }

  /**
   * How many attempts a message gets before it is answered with an {@code error} chunk (S12),
   * unless its session's trigger config says ({@code maxAttempts}).
   */
  public int maxAttempts() {
    return maxAttempts;
  }

  /** The client data type. */
  public Class<C> clientDataType() {
    return clientDataType;
  }

  /**
   * Binds client data to the agent's type.
   *
   * @throws dev.durablechat.api.InvalidPayloadException naming the field that does not bind
   */
  public C bindClientData(JsonValue clientData) {
    return ClientDataBinder.bind(id, clientDataType, clientData);
  }

  /** The class actions bind to ({@link Builder#actionType}); {@link JsonValue} if untyped. */
  public Class<?> actionType() {
    return actionType;
  }

  /**
   * Binds an action's payload to the agent's action type (the action schema).
   *
   * @throws dev.durablechat.api.InvalidPayloadException if it is missing, or naming the field that
   *     does not bind
   */
  public Object bindAction(@Nullable JsonValue action) {
    if (action == null) {
      throw new dev.durablechat.api.InvalidPayloadException(
          "agent [" + id + "] action is missing: an action record needs [action]");
    }
    return ClientDataBinder.bind("agent [" + id + "]", "action", "action", actionType, action);
  }

  /**
   * Builds a {@link ChatAgent}. {@link #run} is required.
   *
   * @param <C> the client data type
   */
  public static final class Builder<C> {
    private final String id;
    private final Class<C> clientDataType;
    private Class<?> actionType = JsonValue.class;
    private Duration idleTimeout = DEFAULT_IDLE_TIMEOUT;
    private Duration deferTimeout = DEFAULT_DEFER_TIMEOUT;
    private int maxAttempts = DEFAULT_MAX_ATTEMPTS;
    private @Nullable Hook<BootEvent<C>> onBoot;
    private @Nullable Hook<BootEvent<C>> onPreload;
    private @Nullable Hook<TurnContext<C>> onChatStart;
    private @Nullable Hook<TurnContext<C>> onValidateMessages;
    private @Nullable Hydrator<C> hydrateMessages;
    private @Nullable Hook<TurnContext<C>> onTurnStart;
    private @Nullable Hook<TurnContext<C>> onBeforeTurnComplete;
    private @Nullable Hook<TurnContext<C>> onTurnComplete;
    private @Nullable Hook<BootEvent<C>> onChatSuspend;
    private @Nullable Hook<BootEvent<C>> onChatResume;
    private @Nullable Responder<C> onAction;
    private @Nullable Compaction<C> compaction;
    private @Nullable Responder<C> run;
    private boolean typedHookSet;

    private Builder(String id, Class<C> clientDataType) {
      this.id = id;
      this.clientDataType = clientDataType;
    }

    /**
     * The class the session's client data binds to with Jackson; client data that does not bind is
     * refused naming the field. Call it before setting any hook.
     *
     * @throws IllegalStateException if a hook was set already
     */
    public <D> Builder<D> clientData(Class<D> type) {
      Objects.requireNonNull(type, "client data type must not be null");
      if (typedHookSet) {
        throw new IllegalStateException(
            "agent [" + id + "]: set the client data type before any hook");
      }
      var b = new Builder<>(id, type);
      b.actionType = actionType;
      b.idleTimeout = idleTimeout;
      b.deferTimeout = deferTimeout;
      b.maxAttempts = maxAttempts;
      return b;
    }

    /**
     * The action schema: the class an action's payload binds to with Jackson (unknown fields are
     * ignored, missing primitives and creator properties refused). An action that does not bind is
     * refused naming the field: by {@link AgentRuntime#send} before anything is stored, and at
     * dispatch for one appended some other way (an {@code error} chunk and its {@code
     * turn-complete}; {@code onAction} is not called). {@code onAction} reads it with {@link
     * TurnContext#action(Class)}. Default: any JSON.
     */
    public Builder<C> actionType(Class<?> type) {
      this.actionType = Objects.requireNonNull(type, "action type must not be null");
      return this;
    }

    /** How long a run waits for a message before it suspends and ends (L3); default 30 s. */
    public Builder<C> idleTimeout(Duration idleTimeout) {
      if (idleTimeout.isNegative() || idleTimeout.isZero()) {
        throw new IllegalArgumentException("idle timeout [" + idleTimeout + "] must be positive");
      }
      this.idleTimeout = idleTimeout;
      return this;
    }

    /**
     * How many attempts each message gets (S12), for sessions whose trigger config names none
     * ({@code maxAttempts}); default 3. An attempt is a run starting to answer the message; one
     * that ends without its {@code turn-complete} (the process died, the run lost its lease, or an
     * {@link Error} such as {@link OutOfMemoryError} ended it) is retried by a continuation run,
     * and once this many attempts did not answer it, the message is answered with an {@code error}
     * chunk naming the cause and its {@code turn-complete}, and never tried again. An exception
     * thrown by the turn's code is not retried: it is the turn's answer (an {@code error} chunk) at
     * once, since retrying would repeat what the code did before it threw.
     *
     * @throws IllegalArgumentException if it is under 1
     */
    public Builder<C> maxAttempts(int maxAttempts) {
      if (maxAttempts < 1) {
        throw new IllegalArgumentException("max attempts [" + maxAttempts + "] must be at least 1");
      }
      this.maxAttempts = maxAttempts;
      return this;
    }

    /** The bound on a turn's deferred work (L9); default 10 s. */
    public Builder<C> deferTimeout(Duration deferTimeout) {
      if (deferTimeout.isNegative()) {
        throw new IllegalArgumentException(
            "defer timeout [" + deferTimeout + "] must not be negative");
      }
      this.deferTimeout = deferTimeout;
      return this;
    }

    private <T> T typed(T hook) {
      typedHookSet = true;
      return Objects.requireNonNull(hook, "hook must not be null");
    }

    /** Every boot: initial, preloaded, continuation (L1). Initialise {@link ChatLocal}s here. */
    public Builder<C> onBoot(Hook<BootEvent<C>> hook) {
      this.onBoot = typed(hook);
      return this;
    }

    /** After {@code onBoot} on a preloaded boot (L1). */
    public Builder<C> onPreload(Hook<BootEvent<C>> hook) {
      this.onPreload = typed(hook);
      return this;
    }

    /** Once per chat, on the first message ever; never on continuations (L2). */
    public Builder<C> onChatStart(Hook<TurnContext<C>> hook) {
      this.onChatStart = typed(hook);
      return this;
    }

    /** First hook of a turn or action; may {@link TurnContext#requestUpgrade()} (L4). */
    public Builder<C> onValidateMessages(Hook<TurnContext<C>> hook) {
      this.onValidateMessages = typed(hook);
      return this;
    }

    /** The application is the source of the history (H7). */
    public Builder<C> hydrateMessages(Hydrator<C> hook) {
      this.hydrateMessages = typed(hook);
      return this;
    }

    /** Before {@code run}; may {@link TurnContext#requestUpgrade()} (L4). */
    public Builder<C> onTurnStart(Hook<TurnContext<C>> hook) {
      this.onTurnStart = typed(hook);
      return this;
    }

    /** After {@code run}, before the {@code turn-complete} record. */
    public Builder<C> onBeforeTurnComplete(Hook<TurnContext<C>> hook) {
      this.onBeforeTurnComplete = typed(hook);
      return this;
    }

    /** After the {@code turn-complete} record and the deferred work (L9). */
    public Builder<C> onTurnComplete(Hook<TurnContext<C>> hook) {
      this.onTurnComplete = typed(hook);
      return this;
    }

    /** The run found no message for the idle timeout and is about to end (L3). */
    public Builder<C> onChatSuspend(Hook<BootEvent<C>> hook) {
      this.onChatSuspend = typed(hook);
      return this;
    }

    /** A continuation run booted after a suspend (after {@code onBoot}). */
    public Builder<C> onChatResume(Hook<BootEvent<C>> hook) {
      this.onChatResume = typed(hook);
      return this;
    }

    /** Handles an action (L6): not a turn; what it writes goes out as a fresh message. */
    public Builder<C> onAction(Responder<C> hook) {
      this.onAction = typed(hook);
      return this;
    }

    /**
     * Compacts the history on the server after a turn's reply (L10); the snapshot written at the
     * turn's end holds the result. Without a snapshot store, a rebuild replays the uncompacted
     * stream.
     */
    public Builder<C> compaction(Compaction<C> compaction) {
      this.compaction = typed(compaction);
      return this;
    }

    /** Answers a turn (required). */
    public Builder<C> run(Responder<C> run) {
      this.run = typed(run);
      return this;
    }

    /**
     * The agent.
     *
     * @throws IllegalStateException if {@link #run} is missing
     */
    public ChatAgent<C> build() {
      if (run == null) {
        throw new IllegalStateException("agent [" + id + "] is missing run(Responder)");
      }
      return new ChatAgent<>(this, run);
    }
  }
}
