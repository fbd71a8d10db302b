package dev.durablechat.api;

/**
 * The root of every exception durablechat throws. Subclasses are named after what failed; their
 * messages are lowercase, name the value in brackets and say what was expected and what was found.
 */
public class DurableChatException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** An exception with a message that names the value and says what was expected. */
  public DurableChatException(String message) {
    super(message);
  }

  /** An exception with a message and the failure beneath it. */
  public DurableChatException(String message, Throwable cause) {
    super(message, cause);
  }
}
