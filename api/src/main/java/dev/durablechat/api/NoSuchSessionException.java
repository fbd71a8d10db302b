package dev.durablechat.api;

/** No session answers to the address in this environment (S3). */
public class NoSuchSessionException extends DurableChatException {
  private static final long serialVersionUID = 1L;

  /** An exception with a message that names the value and says what was expected. */
  public NoSuchSessionException(String message) {
    super(message);
  }

  /** An exception with a message and the failure beneath it. */
  public NoSuchSessionException(String message, Throwable cause) {
    super(message, cause);
  }
}
