package dev.durablechat.agent;

import java.util.HashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** The per-run state {@link ChatLocal}s live in; bound to the run's thread while it runs. */
final class RunScope {
  private static final ThreadLocal<RunScope> CURRENT = new ThreadLocal<>();

  final String runId;
  final Map<ChatLocal<?>, Object> values = new HashMap<>();

  RunScope(String runId) {
    this.runId = runId;
  }

  static @Nullable RunScope current() {
    return CURRENT.get();
  }

  void bind() {
    CURRENT.set(this);
  }

  static void unbind() {
    CURRENT.remove();
  }
}
