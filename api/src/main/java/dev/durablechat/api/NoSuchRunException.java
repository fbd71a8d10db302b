package dev.durablechat.api;

/** No run with that id belongs to the session. */
public class NoSuchRunException extends DurableChatException {
  private static final long serialVersionUID = 1L;

  /** An exception with a message that names the value and says what was expected. */
  public NoSuchRunException(String message) {
    super(message);
  }

  /** An exception with a message and the failure beneath it. */
  public NoSuchRunException(String message, Throwable cause) {
    super(message, cause);
  }
}
