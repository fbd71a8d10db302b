package dev.durablechat.core.fold;

import dev.durablechat.api.DurableChatException;

/**
 * A chunk could not be folded into the message: a delta or end for a text, reasoning or tool input
 * that is not streaming, or a tool output, approval or denial for a tool call the message does not
 * hold (PROTOCOL F3, F4). These are exactly the chunks on which the AI SDK's {@code
 * readUIMessageStream} fails, plus a {@code start} chunk whose {@code messageId} is not a string.
 * The fold is left as it was before the offending chunk.
 */
public final class ChunkFoldException extends DurableChatException {
  private static final long serialVersionUID = 1L;

  private final long chunkIndex;
  private final String chunkType;

  ChunkFoldException(long chunkIndex, String chunkType, String message) {
    super("chunk [" + chunkIndex + "] " + chunkType + ": " + message);
    this.chunkIndex = chunkIndex;
    this.chunkType = chunkType;
  }

  /** The zero-based index of the offending chunk in the sequence that was folded. */
  public long chunkIndex() {
    return chunkIndex;
  }

  /** The type of the offending chunk, e.g. {@code text-delta}. */
  public String chunkType() {
    return chunkType;
  }
}
