package dev.durablechat.api;

import org.jspecify.annotations.Nullable;

/**
 * An {@code out} append came from a run that no longer owns the session (invariant 6): nothing was
 * written.
 */
public class FencedException extends RunConflictException {
  private static final long serialVersionUID = 1L;

  /** A fenced append by {@code runId}; the session's current run is {@code currentRunId}. */
  public FencedException(
      String sessionId, String runId, @Nullable String currentRunId, long currentVersion) {
    super(
        "session ["
            + sessionId
            + "] out: run ["
            + runId
            + "] is not current (current ["
            + currentRunId
            + "])",
        sessionId,
        currentRunId,
        currentVersion);
  }
}
