package dev.durablechat.spring.boot;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** Prints a {@link DurableChatStartupException} as Spring Boot's "APPLICATION FAILED TO START". */
final class DurableChatFailureAnalyzer
    extends AbstractFailureAnalyzer<DurableChatStartupException> {
  @Override
  protected FailureAnalysis analyze(Throwable root, DurableChatStartupException cause) {
    return new FailureAnalysis(cause.getMessage(), cause.action(), cause);
  }
}
