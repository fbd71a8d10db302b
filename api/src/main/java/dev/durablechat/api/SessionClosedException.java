package dev.durablechat.api;

/** The session is closed or expired (S4, S5): the request changed nothing. */
public class SessionClosedException extends DurableChatException {
  private static final long serialVersionUID = 1L;

  /** An exception with a message that names the value and says what was expected. */
  public SessionClosedException(String message) {
    super(message);
  }

  /** An exception with a message and the failure beneath it. */
  public SessionClosedException(String message, Throwable cause) {
    super(message, cause);
  }
}
