package dev.durablechat.agent;

import dev.durablechat.api.DurableChatException;

/**
 * The turn was stopped (PROTOCOL L7): thrown by {@link ChunkWriter} writes and pauses once a {@code
 * stop} record has arrived, so that a {@code run} function unwinds. The runtime catches it and
 * keeps the partial reply; a {@code run} function should let it pass.
 */
public final class TurnCancelledException extends DurableChatException {
  private static final long serialVersionUID = 1L;

  /** An exception naming the stopped turn. */
  public TurnCancelledException(String message) {
    super(message);
  }
}
