package dev.durablechat.api;

import org.jspecify.annotations.Nullable;

/**
 * What an {@code in} record holds (W2). The JSON form is the body of {@code in/append}, e.g. {@code
 * {"kind":"message","payload":{...}}} or {@code {"kind":"stop"}}.
 */
public sealed interface InEvent {

  /** The record kind on the wire. */
  String kind();

  /** The JSON form. */
  JsonObject toJson();

  /** A message record: a turn, a regenerate, a preload, a close or an action. */
  record Message(WirePayload payload) implements InEvent {
    /** Requires the payload. */
    public Message {
      if (payload == null) {
        throw new InvalidPayloadException("a message record needs a payload");
      }
    }

    @Override
    public String kind() {
      return "message";
    }

    @Override
    public JsonObject toJson() {
      return JsonObject.builder().put("kind", kind()).put("payload", payload.toJson()).build();
    }
  }

  /** Abort the current turn's generation (L7), optionally with a reason. */
  record Stop(@Nullable String message) implements InEvent {
    @Override
    public String kind() {
      return "stop";
    }

    @Override
    public JsonObject toJson() {
      return JsonObject.builder().put("kind", kind()).putIfNotNull("message", message).build();
    }
  }

  /** A head-start handover record; its fields are kept as sent. */
  record Handover(JsonObject body) implements InEvent {
    @Override
    public String kind() {
      return "handover";
    }

    @Override
    public JsonObject toJson() {
      return body.with("kind", JsonValue.of(kind()));
    }
  }

  /** A head-start handover that was skipped; its fields are kept as sent. */
  record HandoverSkip(JsonObject body) implements InEvent {
    @Override
    public String kind() {
      return "handover-skip";
    }

    @Override
    public JsonObject toJson() {
      return body.with("kind", JsonValue.of(kind()));
    }
  }

  /**
   * Reads a record from the JSON body of an append.
   *
   * @throws InvalidPayloadException naming the field that is wrong
   */
  static InEvent fromJson(JsonObject json) {
    if (!(json.get("kind") instanceof JsonString kind)) {
      throw new InvalidPayloadException(
          "record.kind must be a string, one of [message, stop, handover, handover-skip]");
    }
    switch (kind.value()) {
      case "message":
        if (!(json.get("payload") instanceof JsonObject payload)) {
          throw new InvalidPayloadException("record.payload must be an object for kind [message]");
        }
        return new Message(WirePayload.fromJson(payload));
      case "stop":
        JsonValue message = json.get("message");
        if (message != null && !(message instanceof JsonNull) && !(message instanceof JsonString)) {
          throw new InvalidPayloadException("record.message must be a string for kind [stop]");
        }
        return new Stop(message instanceof JsonString s ? s.value() : null);
      case "handover":
        return new Handover(json.without("kind"));
      case "handover-skip":
        return new HandoverSkip(json.without("kind"));
      default:
        throw new InvalidPayloadException(
            "unknown record kind ["
                + kind.value()
                + "], expected one of [message, stop, handover, handover-skip]");
    }
  }
}
