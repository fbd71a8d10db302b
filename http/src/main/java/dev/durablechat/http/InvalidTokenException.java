package dev.durablechat.http;

import dev.durablechat.api.DurableChatException;
import java.util.Locale;

/**
 * A session token was refused (T2, T3). The routes answer it with 401 and a body whose {@code
 * reason} is {@link Reason#code()}. The message names the problem, never the token.
 */
public final class InvalidTokenException extends DurableChatException {
  private static final long serialVersionUID = 1L;

  /** Why a token was refused. */
  public enum Reason {
    /** Not a JWT at all. */
    MALFORMED,
    /** An algorithm other than the configured ones, {@code none} included. */
    ALGORITHM,
    /** The signature verifies with none of the live keys. */
    SIGNATURE,
    /** No {@code exp} claim. */
    NO_EXPIRY,
    /** {@code exp} has passed. */
    EXPIRED,
    /** {@code exp} minus {@code iat} is over the maximum token lifetime. */
    LIFETIME,
    /** {@code nbf} or {@code iat} is in the future beyond the allowed clock skew. */
    NOT_YET_VALID,
    /** {@code sub} names another environment, or none. */
    ENVIRONMENT,
    /** {@code aud} does not include the audience the SDK writes. */
    AUDIENCE;

    /** The reason as the error body's {@code reason}: lower case, e.g. {@code no_expiry}. */
    public String code() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private final Reason reason;

  /** A refusal for the reason, with a message naming the problem. */
  public InvalidTokenException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  /** Why the token was refused. */
  public Reason reason() {
    return reason;
  }
}
