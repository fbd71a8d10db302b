package dev.durablechat.api;

/**
 * The store could not be reached or did not answer in time. Unlike a conflict this says nothing
 * about the data: the operation may be retried. A backend that cannot tell whether a write landed
 * must throw this rather than report success.
 */
public class StoreUnavailableException extends DurableChatException {
  private static final long serialVersionUID = 1L;

  /** An exception with a message that names the store and the operation. */
  public StoreUnavailableException(String message) {
    super(message);
  }

  /** An exception with a message and the failure beneath it. */
  public StoreUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
