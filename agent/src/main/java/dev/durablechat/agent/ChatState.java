package dev.durablechat.agent;

import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.JsonNumber;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import java.util.Objects;

/**
 * What a client saves to reconnect to a chat's reply stream later (W7): the chat and the last
 * {@code out} event id it has read. {@link AgentChat#reconnect(ChatState)} goes on from the record
 * after it. As JSON: {@code {"chatId": "...", "lastEventId": 42}}. (A session token, where there is
 * one, is the HTTP adapter's business and not part of this record.)
 *
 * @param chatId the chat (external) id
 * @param lastEventId the last {@code out} event id read, 0 for none
 */
public record ChatState(String chatId, long lastEventId) {

  /** Requires a chat id and a non-negative event id. */
  public ChatState {
    Objects.requireNonNull(chatId, "chat id must not be null");
    if (lastEventId < 0) {
      throw new InvalidPayloadException(
          "chat state last event id [" + lastEventId + "] must not be negative");
    }
  }

  /** The record as JSON. */
  public JsonObject toJson() {
    return JsonObject.builder().put("chatId", chatId).put("lastEventId", lastEventId).build();
  }

  /**
   * The record from its JSON.
   *
   * @throws InvalidPayloadException if it is not an object with a string {@code chatId} and a
   *     whole, non-negative {@code lastEventId}, naming the field
   */
  public static ChatState fromJson(JsonValue json) {
    if (!(json instanceof JsonObject o)) {
      throw new InvalidPayloadException("chat state must be a json object, got [" + json + "]");
    }
    String chatId =
        o.string("chatId")
            .orElseThrow(
                () ->
                    new InvalidPayloadException(
                        "chat state field [chatId] must be a string, got ["
                            + o.get("chatId")
                            + "]"));
    if (!(o.get("lastEventId") instanceof JsonNumber n)) {
      throw new InvalidPayloadException(
          "chat state field [lastEventId] must be a number, got [" + o.get("lastEventId") + "]");
    }
    long id;
    try {
      id = n.toBigDecimal().longValueExact();
    } catch (ArithmeticException e) {
      throw new InvalidPayloadException(
          "chat state field [lastEventId] must be a whole number, got [" + n + "]", e);
    }
    return new ChatState(chatId, id);
  }
}
