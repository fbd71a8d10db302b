package dev.durablechat.agent;

import dev.durablechat.api.RunReason;
import org.jspecify.annotations.Nullable;

/**
 * What {@code onBoot}, {@code onPreload}, {@code onChatSuspend} and {@code onChatResume} see: the
 * run that booted (PROTOCOL L1).
 *
 * @param chatId the chat (external) id, or the session's friendly id when it has none
 * @param sessionId the session's friendly id
 * @param runId the run that booted
 * @param reason why the run became current: {@code initial}, {@code preload}, {@code continuation}
 *     or {@code upgrade}
 * @param previousRunId the run it replaced, or null for the session's first run
 * @param clientData the session's client data, bound to the agent's client data type
 * @param <C> the client data type
 */
public record BootEvent<C>(
    String chatId,
    String sessionId,
    String runId,
    RunReason reason,
    @Nullable String previousRunId,
    C clientData) {

  /** Whether this run took over from an earlier one (S8): any reason but initial and preload. */
  public boolean continuation() {
    return reason != RunReason.INITIAL && reason != RunReason.PRELOAD;
  }

  /** Whether the run was started eagerly, before any message (L1: {@code onPreload} follows). */
  public boolean preloaded() {
    return reason == RunReason.PRELOAD;
  }
}
