package dev.durablechat.api;

/** The backend does not have the optional capability the call needs: nothing was changed. */
public class UnsupportedCapabilityException extends DurableChatException {
  private static final long serialVersionUID = 1L;

  /** An exception with a message that names the value and says what was expected. */
  public UnsupportedCapabilityException(String message) {
    super(message);
  }

  /** An exception with a message and the failure beneath it. */
  public UnsupportedCapabilityException(String message, Throwable cause) {
    super(message, cause);
  }
}
