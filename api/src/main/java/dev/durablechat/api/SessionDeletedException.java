package dev.durablechat.api;

/**
 * The session was deleted (S11) while the caller was using it, e.g. while a live tail followed its
 * {@code out} stream. A live tail ends with this error as its last signal; a later call that names
 * the session gets a plain {@link NoSuchSessionException}, since a deleted session is unknown.
 */
public class SessionDeletedException extends NoSuchSessionException {
  private static final long serialVersionUID = 1L;

  /** The friendly id of the deleted session. */
  private final String sessionId;

  /** An exception naming the deleted session. */
  public SessionDeletedException(String sessionId, String message) {
    super(message);
    this.sessionId = sessionId;
  }

  /** An exception naming the deleted session, with the failure that showed it. */
  public SessionDeletedException(String sessionId, String message, Throwable cause) {
    super(message, cause);
    this.sessionId = sessionId;
  }

  /** The friendly id of the deleted session. */
  public String sessionId() {
    return sessionId;
  }
}
