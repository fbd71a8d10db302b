package dev.durablechat.agent;

import dev.durablechat.api.InEvent;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.Trigger;
import dev.durablechat.api.UIMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * One turn (or action) as the hooks and {@code run} see it: the incoming record, the history, and
 * what a hook may ask for — a history change (L10), an upgrade (L4), deferred work (L9). One
 * context serves every hook of the turn, so a change made in {@code onTurnStart} is what {@code
 * run} sees.
 *
 * @param <C> the client data type
 */
public final class TurnContext<C> {
  private final String chatId;
  private final String sessionId;
  private final String runId;
  private final RunReason runReason;
  private final C clientData;
  private final Trigger trigger;
  private final @Nullable UIMessage message;
  private final @Nullable JsonValue action;
  private final @Nullable JsonValue metadata;
  private final long inEventId;
  private final Cancellation cancellation;
  private List<UIMessage> messages;
  private @Nullable UIMessage response;
  private boolean upgradeRequested;
  private @Nullable Object boundAction;
  private long dispatchedInEventId;
  private @Nullable Supplier<List<StreamRecord<InEvent.Message>>> injectable;
  private final List<CompletionStage<?>> deferred = new ArrayList<>();

  TurnContext(
      String chatId,
      String sessionId,
      String runId,
      RunReason runReason,
      C clientData,
      Trigger trigger,
      @Nullable UIMessage message,
      @Nullable JsonValue action,
      @Nullable JsonValue metadata,
      long inEventId,
      List<UIMessage> messages,
      Cancellation cancellation) {
    this.chatId = chatId;
    this.sessionId = sessionId;
    this.runId = runId;
    this.runReason = runReason;
    this.clientData = clientData;
    this.trigger = trigger;
    this.message = message;
    this.action = action;
    this.metadata = metadata;
    this.inEventId = inEventId;
    this.dispatchedInEventId = inEventId;
    this.messages = List.copyOf(messages);
    this.cancellation = cancellation;
  }

  /** The chat (external) id. */
  public String chatId() {
    return chatId;
  }

  /** The session's friendly id. */
  public String sessionId() {
    return sessionId;
  }

  /** The run serving this turn. */
  public String runId() {
    return runId;
  }

  /** Why that run became current. */
  public RunReason runReason() {
    return runReason;
  }

  /** The session's client data, bound to the agent's client data type. */
  public C clientData() {
    return clientData;
  }

  /** What the incoming record asks for: {@code submit-message}, {@code action}, ... */
  public Trigger trigger() {
    return trigger;
  }

  /** The one new message of a {@code submit-message}, or null (W3). */
  public @Nullable UIMessage message() {
    return message;
  }

  /** The action value of an {@code action} record, or null. */
  public @Nullable JsonValue action() {
    return action;
  }

  /**
   * The action bound to a class: the agent's action type ({@link ChatAgent.Builder#actionType}),
   * bound once at dispatch, or any other class Jackson can bind it to.
   *
   * @throws IllegalStateException if this is not an action
   * @throws dev.durablechat.api.InvalidPayloadException naming the field that does not bind
   */
  public <A> A action(Class<A> type) {
    Objects.requireNonNull(type, "action type must not be null");
    Object bound = boundAction;
    if (type.isInstance(bound)) {
      return type.cast(bound);
    }
    JsonValue value = action;
    if (value == null) {
      throw new IllegalStateException(
          "turn at in [" + inEventId + "] is a [" + trigger.wireName() + "], not an action");
    }
    return ClientDataBinder.bind(
        "chat [" + chatId + "] in [" + inEventId + "]", "action", "action", type, value);
  }

  void boundAction(Object bound) {
    this.boundAction = bound;
  }

  /** The client's per-turn metadata, or null. */
  public @Nullable JsonValue metadata() {
    return metadata;
  }

  /** The {@code in} event id of the record this turn answers. */
  public long inEventId() {
    return inEventId;
  }

  /**
   * The highest {@code in} event id this turn answers: its own record's, or the last message it
   * took in with {@link #injectQueuedMessages()}. The turn's {@code turn-complete} names it (W6).
   */
  public long dispatchedInEventId() {
    return dispatchedInEventId;
  }

  /**
   * At a step boundary of {@code run} (say, between a tool's result and the next model call), takes
   * in the user messages that arrived during this turn (L5): they join this turn's history, in
   * arrival order, and this turn answers them (its {@code turn-complete} names the last one), so
   * they run as no turn of their own and get no turn hooks. Only plain {@code submit-message}
   * records at the head of the queue are taken: the first action, regenerate, close, or message a
   * stop reached stays queued with everything behind it, so the order of turns is kept.
   *
   * @return the messages taken in, oldest first; empty if none is waiting (or outside {@code run})
   */
  public List<UIMessage> injectQueuedMessages() {
    Supplier<List<StreamRecord<InEvent.Message>>> source = injectable;
    if (source == null) {
      return List.of();
    }
    List<StreamRecord<InEvent.Message>> taken = source.get();
    if (taken.isEmpty()) {
      return List.of();
    }
    var messages = new ArrayList<>(this.messages);
    var injected = new ArrayList<UIMessage>();
    for (StreamRecord<InEvent.Message> r : taken) {
      UIMessage m = Objects.requireNonNull(r.event().payload().message());
      RunLoop.put(messages, m);
      injected.add(m);
      dispatchedInEventId = Math.max(dispatchedInEventId, r.eventId());
    }
    this.messages = List.copyOf(messages);
    return List.copyOf(injected);
  }

  void injectable(@Nullable Supplier<List<StreamRecord<InEvent.Message>>> source) {
    this.injectable = source;
  }

  /**
   * The chat's history: before {@code hydrateMessages}, what the run held; from then on, including
   * the incoming message; after {@code run}, including the reply.
   */
  public List<UIMessage> messages() {
    return messages;
  }

  /** Replaces the history on the server (L10); later hooks and turns see the new history. */
  public void setMessages(List<UIMessage> messages) {
    this.messages = List.copyOf(Objects.requireNonNull(messages, "messages must not be null"));
  }

  /**
   * The assistant message this turn wrote, once {@code run} has returned; null before or if none.
   */
  public @Nullable UIMessage response() {
    return response;
  }

  /**
   * Asks for the next message to be served by a new run (L4). From {@code onValidateMessages} or
   * {@code onTurnStart} it skips {@code run}: the run hands over (reason {@code upgrade}, an {@code
   * upgrade-required} record) and the new run answers the message. Later in the turn, the turn
   * finishes first and the run hands over after it.
   */
  public void requestUpgrade() {
    upgradeRequested = true;
  }

  /** Whether {@link #requestUpgrade()} was called. */
  public boolean upgradeRequested() {
    return upgradeRequested;
  }

  /** Whether the turn was stopped (L7). */
  public boolean isCancelled() {
    return cancellation.isCancelled();
  }

  /**
   * Registers work the turn must finish before {@code onTurnComplete} (L9); the runtime waits for
   * it, bounded by the agent's defer timeout.
   */
  public void defer(CompletionStage<?> work) {
    deferred.add(Objects.requireNonNull(work, "deferred work must not be null"));
  }

  List<CompletionStage<?>> deferred() {
    return deferred;
  }

  void response(@Nullable UIMessage response) {
    this.response = response;
  }
}
