package dev.durablechat.api;

/**
 * A snapshot write was conditional on a version that is no longer current: the writer is stale (H1,
 * invariant 8).
 */
public class SnapshotConflictException extends DurableChatException {
  private static final long serialVersionUID = 1L;

  /** An exception with a message that names the value and says what was expected. */
  public SnapshotConflictException(String message) {
    super(message);
  }

  /** An exception with a message and the failure beneath it. */
  public SnapshotConflictException(String message, Throwable cause) {
    super(message, cause);
  }
}
