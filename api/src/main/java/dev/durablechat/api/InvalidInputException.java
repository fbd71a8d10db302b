package dev.durablechat.api;

/** Input was refused before anything was stored: the request changed nothing. */
public class InvalidInputException extends DurableChatException {
  private static final long serialVersionUID = 1L;

  /** An exception with a message that names the value and says what was expected. */
  public InvalidInputException(String message) {
    super(message);
  }

  /** An exception with a message and the failure beneath it. */
  public InvalidInputException(String message, Throwable cause) {
    super(message, cause);
  }
}
