package dev.durablechat.api;

/**
 * An external id breaks S2 (blank, longer than 256 characters, or in the {@code session_}
 * namespace).
 */
public class InvalidExternalIdException extends InvalidInputException {
  private static final long serialVersionUID = 1L;

  /** An exception with a message that names the value and says what was expected. */
  public InvalidExternalIdException(String message) {
    super(message);
  }

  /** An exception with a message and the failure beneath it. */
  public InvalidExternalIdException(String message, Throwable cause) {
    super(message, cause);
  }
}
