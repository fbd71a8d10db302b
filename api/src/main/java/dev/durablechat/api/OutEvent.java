package dev.durablechat.api;

import org.jspecify.annotations.Nullable;

/**
 * What an {@code out} record holds (W6): a UI message chunk, or a control record. The stored form
 * of a chunk is {@code {"data":<chunk>,"id":<part id>}}, the body the SSE wire carries; a control
 * record is {@code {"control":"turn-complete",...}}.
 *
 * <p>These are plain values: the stored form has exactly one encoder and one decoder, the engine's
 * ({@code dev.durablechat.core.internal.OutRecords}), since the api depends on nothing and a second
 * codec here would be a second definition of the format, free to drift from the first.
 */
public sealed interface OutEvent {

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
  }

  /** The run handed over to a newer version (L4); the next run picks up from {@code in}. */
  record UpgradeRequired() implements OutEvent {}

  /** Whether this is a control record rather than a chunk. */
  default boolean isControl() {
    return !(this instanceof Chunk);
  }
}
