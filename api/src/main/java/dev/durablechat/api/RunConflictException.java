package dev.durablechat.api;

import org.jspecify.annotations.Nullable;

/**
 * A compare-and-set on the session's run lost (S6, S8, invariant 5): the session's version or
 * current run was not what the caller expected. Carries what the session holds now.
 */
public class RunConflictException extends DurableChatException {
  private static final long serialVersionUID = 1L;

  private final String sessionId;
  private final @Nullable String currentRunId;
  private final long currentVersion;

  /** A conflict on the session, naming its current run and version. */
  public RunConflictException(
      String message, String sessionId, @Nullable String currentRunId, long currentVersion) {
    super(message);
    this.sessionId = sessionId;
    this.currentRunId = currentRunId;
    this.currentVersion = currentVersion;
  }

  /** The session's friendly id. */
  public String sessionId() {
    return sessionId;
  }

  /** The session's current run when the conflict was seen, or null if it has none. */
  public @Nullable String currentRunId() {
    return currentRunId;
  }

  /** The session's version when the conflict was seen. */
  public long currentVersion() {
    return currentVersion;
  }
}
