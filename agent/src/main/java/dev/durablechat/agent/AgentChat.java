package dev.durablechat.agent;

import dev.durablechat.api.InEvent;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.Trigger;
import dev.durablechat.api.TriggerConfig;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.WirePayload;
import dev.durablechat.core.Appended;
import dev.durablechat.core.DurableChat;
import java.util.Objects;
import java.util.UUID;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * A server-side chat client for one chat (the counterpart of the seed's {@code AgentChat}): it
 * sends messages through the {@link AgentRuntime}, one new message per append (W3), and reads the
 * replies from {@code out}.
 *
 * <pre>{@code
 * AgentChat chat = AgentChat.builder(runtime, "support").chatId("chat-1").build();
 * String answer = chat.sendMessage("hello").text(Duration.ofSeconds(30));
 * }</pre>
 */
public final class AgentChat {
  private final AgentRuntime runtime;
  private final DurableChat chat;
  private final String agentId;
  private final String chatId;
  private final JsonValue clientData;
  private final TriggerConfig triggerConfig;
  private final Supplier<String> messageIds;
  private volatile @Nullable StartedSession started;

  private AgentChat(Builder b) {
    this.runtime = b.runtime;
    this.chat = b.runtime.chat();
    this.agentId = b.agentId;
    this.chatId = Objects.requireNonNull(b.chatId, "chat id is required: builder.chatId(String)");
    this.clientData = b.clientData;
    this.triggerConfig = b.triggerConfig;
    this.messageIds =
        b.messageIds != null ? b.messageIds : () -> chatId + "-u-" + UUID.randomUUID();
  }

  /** A client for the agent; {@link Builder#chatId} is required. */
  public static Builder builder(AgentRuntime runtime, String agentId) {
    return new Builder(runtime, agentId);
  }

  /** The chat id. */
  public String chatId() {
    return chatId;
  }

  /** The session, once started; null before. */
  public @Nullable StartedSession session() {
    return started;
  }

  /** Starts the session with its first run (reason {@code initial}); idempotent. */
  public synchronized StartedSession start() {
    StartedSession s = started;
    if (s == null) {
      s = runtime.startSession(chatId, agentId, clientData, triggerConfig);
      started = s;
    }
    return s;
  }

  /**
   * Eager preload: creates the session and its first run (reason {@code preload}) before any
   * message, so the agent boots ({@code onBoot}, {@code onPreload}) while the user types.
   */
  public synchronized StartedSession preload() {
    StartedSession s = started;
    if (s == null) {
      s = runtime.preload(chatId, agentId, clientData, triggerConfig);
      started = s;
    }
    return s;
  }

  /** Sends a user message with one text part; see {@link #sendMessage(UIMessage)}. */
  public Reply sendMessage(String text) {
    return sendMessage(UIMessage.userText(messageIds.get(), text));
  }

  /**
   * Sends one message ({@code submit-message}), starting the session on first use, and returns its
   * reply stream (W8).
   */
  public Reply sendMessage(UIMessage message) {
    return send(WirePayload.submit(chatId, message));
  }

  /** Sends an action (L6); the reply ends on the action's {@code turn-complete}. */
  public Reply sendAction(JsonValue action) {
    return send(WirePayload.action(chatId, action));
  }

  /**
   * Asks for the last answer again ({@code regenerate-message}): the agent drops the trailing
   * non-user messages from its history (H6) and runs a turn.
   */
  public Reply regenerate() {
    return send(WirePayload.of(chatId, Trigger.REGENERATE_MESSAGE));
  }

  private Reply send(WirePayload payload) {
    StartedSession s = start();
    long outBefore = chat.lastEventId(s.sessionId(), StreamKind.OUT);
    Appended appended = runtime.send(s.sessionId(), new InEvent.Message(payload), null);
    return new Reply(chat, s.sessionId(), outBefore, appended.eventId());
  }

  /** Stops the current turn's generation (L7); its partial reply is kept. */
  public void stop() {
    StartedSession s = start();
    chat.appendIn(s.sessionId(), new InEvent.Stop(null), null);
  }

  /** Ends the chat: the run ends and the session is closed. */
  public void close() {
    StartedSession s = start();
    runtime.send(s.sessionId(), new InEvent.Message(WirePayload.of(chatId, Trigger.CLOSE)), null);
  }

  /**
   * Resumes reading after a saved bookmark (W7): the reply goes on from the record after {@code
   * lastEventId} and ends on the turn-complete that answers the chat's latest {@code in} record.
   */
  public Reply reconnect(long lastEventId) {
    StartedSession s = start();
    long inEventId = chat.lastEventId(s.sessionId(), StreamKind.IN);
    return new Reply(chat, s.sessionId(), lastEventId, inEventId);
  }

  /** What to save to reconnect to this reply later ({@link #reconnect(ChatState)}). */
  public ChatState state(Reply reply) {
    return new ChatState(chatId, reply.lastEventId());
  }

  /**
   * Resumes reading from a saved state record (W7), e.g. after the client restarted.
   *
   * @throws dev.durablechat.api.InvalidInputException if the state is another chat's
   */
  public Reply reconnect(ChatState state) {
    if (!state.chatId().equals(chatId)) {
      throw new dev.durablechat.api.InvalidInputException(
          "chat state is for chat [" + state.chatId() + "], expected [" + chatId + "]");
    }
    return reconnect(state.lastEventId());
  }

  /** Builds an {@link AgentChat}. */
  public static final class Builder {
    private final AgentRuntime runtime;
    private final String agentId;
    private @Nullable String chatId;
    private JsonValue clientData = JsonObject.empty();
    private TriggerConfig triggerConfig = TriggerConfig.none();
    private @Nullable Supplier<String> messageIds;

    private Builder(AgentRuntime runtime, String agentId) {
      this.runtime = Objects.requireNonNull(runtime, "runtime must not be null");
      this.agentId = Objects.requireNonNull(agentId, "agent id must not be null");
    }

    /** The chat (external) id (required). */
    public Builder chatId(String chatId) {
      this.chatId = Objects.requireNonNull(chatId, "chat id must not be null");
      return this;
    }

    /** The client data the session is created with. */
    public Builder clientData(JsonValue clientData) {
      this.clientData = Objects.requireNonNull(clientData, "client data must not be null");
      return this;
    }

    /** The trigger config the session is created with (S9). */
    public Builder triggerConfig(TriggerConfig triggerConfig) {
      this.triggerConfig = Objects.requireNonNull(triggerConfig, "trigger config must not be null");
      return this;
    }

    /** The ids of the messages {@link #sendMessage(String)} makes; default random UUIDs. */
    public Builder messageIds(Supplier<String> messageIds) {
      this.messageIds = Objects.requireNonNull(messageIds, "message ids must not be null");
      return this;
    }

    /** The client. */
    public AgentChat build() {
      return new AgentChat(this);
    }
  }
}
