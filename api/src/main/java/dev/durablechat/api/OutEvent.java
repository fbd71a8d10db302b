package dev.durablechat.api;

import org.jspecify.annotations.Nullable;

/**
 * What an {@code out} record holds (W6): a UI message chunk, or a control record. The JSON form of
 * a chunk is {@code {"data":<chunk>,"id":<part id>}}, the body the SSE wire carries; a control
 * record is {@code {"control":"turn-complete",...}}.
 */
public sealed interface OutEvent {

  /** The JSON form that is stored. */
  JsonObject toJson();

  /** A UI message chunk, with the part id of the append that produced it, if any. */
  record Chunk(UIMessageChunk chunk, @Nullable String partId) implements OutEvent {
    /** Requires the chunk. */
    public Chunk {
      if (chunk == null) {
        throw new InvalidPayloadException("an out chunk record needs a chunk");
      }
    }

    /** A chunk with no part id. */
    public static Chunk of(UIMessageChunk chunk) {
      return new Chunk(chunk, null);
    }

    @Override
    public JsonObject toJson() {
      return JsonObject.builder().put("data", chunk.json()).putIfNotNull("id", partId).build();
    }
  }

  /**
   * The end of a turn (W6, W8): the agent has dispatched every {@code in} record up to and
   * including {@code lastDispatchedInEventId}.
   */
  record TurnComplete(long lastDispatchedInEventId) implements OutEvent {
    /** Requires a non-negative event id. */
    public TurnComplete {
      if (lastDispatchedInEventId < 0) {
        throw new InvalidPayloadException(
            "turn-complete in event id [" + lastDispatchedInEventId + "] must not be negative");
      }
    }

    @Override
    public JsonObject toJson() {
      return JsonObject.builder()
          .put("control", "turn-complete")
          .put("sessionInEventId", lastDispatchedInEventId)
          .build();
    }
  }

  /** The run handed over to a newer version (L4); the next run picks up from {@code in}. */
  record UpgradeRequired() implements OutEvent {
    @Override
    public JsonObject toJson() {
      return JsonObject.builder().put("control", "upgrade-required").build();
    }
  }

  /** Whether this is a control record rather than a chunk. */
  default boolean isControl() {
    return !(this instanceof Chunk);
  }

  /**
   * Reads a stored record.
   *
   * @throws InvalidPayloadException if it is neither a chunk nor a known control record
   */
  static OutEvent fromJson(JsonObject json) {
    if (json.get("data") instanceof JsonObject data) {
      return new Chunk(new UIMessageChunk(data), json.string("id").orElse(null));
    }
    String control = json.string("control").orElse(null);
    if (control == null) {
      throw new InvalidPayloadException(
          "out record must have a data object or a control name, got ["
              + Json.abbreviate(json.toString())
              + "]");
    }
    switch (control) {
      case "turn-complete":
        if (!(json.get("sessionInEventId") instanceof JsonNumber n)) {
          throw new InvalidPayloadException("turn-complete needs a numeric sessionInEventId");
        }
        return new TurnComplete(n.longValue());
      case "upgrade-required":
        return new UpgradeRequired();
      default:
        throw new InvalidPayloadException("unknown out control record [" + control + "]");
    }
  }
}
