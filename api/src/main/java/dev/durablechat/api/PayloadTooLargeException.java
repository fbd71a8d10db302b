package dev.durablechat.api;

/** An append's body is over the configured cap (W4): nothing was stored. */
public class PayloadTooLargeException extends InvalidInputException {
  private static final long serialVersionUID = 1L;

  private final long size;
  private final long limit;

  /** An exception for a body of {@code size} bytes against a cap of {@code limit} bytes. */
  public PayloadTooLargeException(String what, long size, long limit) {
    super(what + " is " + size + " bytes, over the limit of " + limit + " bytes");
    this.size = size;
    this.limit = limit;
  }

  /** The size of the refused body, in bytes. */
  public long size() {
    return size;
  }

  /** The cap in force, in bytes. */
  public long limit() {
    return limit;
  }
}
