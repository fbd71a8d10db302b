package dev.durablechat.api;

/** A payload, record or JSON text has the wrong shape (W3): nothing was stored. */
public class InvalidPayloadException extends InvalidInputException {
  private static final long serialVersionUID = 1L;

  /** An exception with a message that names the value and says what was expected. */
  public InvalidPayloadException(String message) {
    super(message);
  }

  /** An exception with a message and the failure beneath it. */
  public InvalidPayloadException(String message, Throwable cause) {
    super(message, cause);
  }
}
