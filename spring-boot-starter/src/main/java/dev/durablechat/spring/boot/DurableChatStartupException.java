package dev.durablechat.spring.boot;

import dev.durablechat.api.DurableChatException;

/**
 * durablechat could not start with the application's configuration: a missing or weak secret key,
 * an unreachable store, an invalid property. Its message names the problem, {@link #action()} what
 * to do (Spring Boot prints both through {@link DurableChatFailureAnalyzer}).
 */
public final class DurableChatStartupException extends DurableChatException {
  private static final long serialVersionUID = 1L;

  private final String action;

  DurableChatStartupException(String message, String action, Throwable cause) {
    super(message, cause);
    this.action = action;
  }

  DurableChatStartupException(String message, String action) {
    super(message);
    this.action = action;
  }

  /** What to do about it. */
  public String action() {
    return action;
  }
}
