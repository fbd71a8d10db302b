package dev.durablechat.api;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The payload of an {@code in} {@code message} record (W3): at most one new message, never the full
 * history. The constructor enforces what each {@link Trigger} may carry, so an invalid payload
 * cannot exist.
 *
 * @param message the one new message: required for {@code submit-message} (a user message, or an
 *     assistant message whose tool parts advanced), absent for every other trigger
 * @param headStartMessages prior history, only with {@code handover-prepare}
 * @param chatId the chat (external) id
 * @param trigger what the payload asks for
 * @param metadata per-turn metadata from the client, or null
 * @param action the action value, required with {@code action} and absent otherwise
 * @param extra any other top-level fields, kept unchanged (F6)
 */
public record WirePayload(
    @Nullable UIMessage message,
    @Nullable List<UIMessage> headStartMessages,
    String chatId,
    Trigger trigger,
    @Nullable JsonValue metadata,
    @Nullable JsonValue action,
    JsonObject extra) {

  private static final Set<String> KNOWN =
      Set.of("message", "headStartMessages", "chatId", "trigger", "metadata", "action");

  /** Enforces W3. */
  public WirePayload {
    if (chatId == null || chatId.isBlank()) {
      throw new InvalidPayloadException("payload.chatId must be a non-blank string");
    }
    if (trigger == null) {
      throw new InvalidPayloadException("payload.trigger is required");
    }
    if (extra == null) {
      extra = JsonObject.empty();
    }
    for (String name : KNOWN) {
      if (extra.has(name)) {
        throw new InvalidPayloadException("payload.extra must not repeat the field [" + name + "]");
      }
    }
    if (trigger == Trigger.SUBMIT_MESSAGE) {
      if (message == null) {
        throw new InvalidPayloadException(
            "payload.message is required for trigger [submit-message]");
      }
      if (!message.role().equals("user") && !message.role().equals("assistant")) {
        throw new InvalidPayloadException(
            "payload.message.role must be [user] or [assistant] for trigger [submit-message], got ["
                + message.role()
                + "]");
      }
    } else if (message != null) {
      throw new InvalidPayloadException(
          "payload.message must be absent for trigger [" + trigger.wireName() + "]");
    }
    if (trigger == Trigger.HANDOVER_PREPARE) {
      if (headStartMessages == null) {
        throw new InvalidPayloadException(
            "payload.headStartMessages is required for trigger [handover-prepare]");
      }
      headStartMessages = List.copyOf(headStartMessages);
    } else if (headStartMessages != null) {
      throw new InvalidPayloadException(
          "payload.headStartMessages is only allowed with trigger [handover-prepare], got ["
              + trigger.wireName()
              + "]");
    }
    if (trigger == Trigger.ACTION) {
      if (action == null || action instanceof JsonNull) {
        throw new InvalidPayloadException("payload.action is required for trigger [action]");
      }
    } else if (action != null) {
      throw new InvalidPayloadException(
          "payload.action must be absent for trigger [" + trigger.wireName() + "]");
    }
  }

  /** A {@code submit-message} payload carrying one message. */
  public static WirePayload submit(String chatId, UIMessage message) {
    return new WirePayload(message, null, chatId, Trigger.SUBMIT_MESSAGE, null, null, null);
  }

  /**
   * A payload with no message, for {@code regenerate-message}, {@code preload} or {@code close}.
   */
  public static WirePayload of(String chatId, Trigger trigger) {
    return new WirePayload(null, null, chatId, trigger, null, null, null);
  }

  /** An {@code action} payload. */
  public static WirePayload action(String chatId, JsonValue action) {
    return new WirePayload(null, null, chatId, Trigger.ACTION, null, action, null);
  }

  /**
   * Reads a payload from its JSON object.
   *
   * @throws InvalidPayloadException naming the field that is missing or of the wrong shape
   */
  public static WirePayload fromJson(JsonObject json) {
    if (!(json.get("chatId") instanceof JsonString chatId)) {
      throw new InvalidPayloadException(
          "payload.chatId must be a string, got " + describe(json.get("chatId")));
    }
    if (!(json.get("trigger") instanceof JsonString trigger)) {
      throw new InvalidPayloadException(
          "payload.trigger must be a string, got " + describe(json.get("trigger")));
    }
    if (json.get("messages") instanceof JsonArray history && history.size() > 0) {
      throw new InvalidPayloadException(
          "payload.messages (the full history) is not accepted: send the one new message as"
              + " payload.message");
    }
    UIMessage message = null;
    JsonValue rawMessage = json.get("message");
    if (rawMessage != null && !(rawMessage instanceof JsonNull)) {
      if (!(rawMessage instanceof JsonObject object)) {
        throw new InvalidPayloadException(
            "payload.message must be an object, got " + describe(rawMessage));
      }
      message = new UIMessage(object);
    }
    List<UIMessage> headStart = null;
    JsonValue rawHeadStart = json.get("headStartMessages");
    if (rawHeadStart != null && !(rawHeadStart instanceof JsonNull)) {
      if (!(rawHeadStart instanceof JsonArray array)) {
        throw new InvalidPayloadException(
            "payload.headStartMessages must be an array, got " + describe(rawHeadStart));
      }
      headStart = new ArrayList<>(array.size());
      for (int i = 0; i < array.size(); i++) {
        if (!(array.get(i) instanceof JsonObject object)) {
          throw new InvalidPayloadException(
              "payload.headStartMessages["
                  + i
                  + "] must be an object, got "
                  + describe(array.get(i)));
        }
        headStart.add(new UIMessage(object));
      }
    }
    JsonValue metadata = json.get("metadata");
    JsonValue action = json.get("action");
    var extra = new LinkedHashMap<String, JsonValue>();
    json.members()
        .forEach(
            (k, v) -> {
              if (!KNOWN.contains(k)) {
                extra.put(k, v);
              }
            });
    return new WirePayload(
        message,
        headStart,
        chatId.value(),
        Trigger.fromWireName(trigger.value()),
        metadata instanceof JsonNull ? null : metadata,
        action instanceof JsonNull ? null : action,
        JsonObject.adopt(extra));
  }

  /** The JSON object, with the known fields first and the extra fields after them. */
  public JsonObject toJson() {
    var b = JsonObject.builder();
    if (message != null) {
      b.put("message", message.json());
    }
    if (headStartMessages != null) {
      var list = new ArrayList<JsonValue>(headStartMessages.size());
      headStartMessages.forEach(m -> list.add(m.json()));
      b.put("headStartMessages", JsonArray.of(list));
    }
    b.put("chatId", chatId).put("trigger", trigger.wireName());
    b.putIfNotNull("metadata", metadata).putIfNotNull("action", action);
    extra.members().forEach(b::put);
    return b.build();
  }

  private static String describe(@Nullable JsonValue value) {
    return value == null
        ? "nothing"
        : Json.kindOf(value) + " [" + Json.abbreviate(value.toString()) + "]";
  }
}
