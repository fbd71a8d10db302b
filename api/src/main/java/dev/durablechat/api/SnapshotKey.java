package dev.durablechat.api;

/**
 * Where a session's snapshot lives (H1): {@code
 * packets/{projectRef}/{envSlug}/sessions/{sessionId}/snapshot.json}.
 */
public record SnapshotKey(Environment environment, String sessionId) {

  /** Requires a friendly session id, which is path-safe by construction. */
  public SnapshotKey {
    if (environment == null) {
      throw new NullPointerException("environment must not be null");
    }
    if (sessionId == null
        || !sessionId.startsWith(Session.FRIENDLY_ID_PREFIX)
        || !sessionId.matches("[A-Za-z0-9_-]{1,128}")) {
      throw new InvalidInputException(
          "snapshot session id [" + sessionId + "] must be a friendly id (session_...)");
    }
  }

  /** The object key / relative path, with forward slashes. */
  public String path() {
    return "packets/"
        + environment.projectRef()
        + "/"
        + environment.envSlug()
        + "/sessions/"
        + sessionId
        + "/snapshot.json";
  }
}
