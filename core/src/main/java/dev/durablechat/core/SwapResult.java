package dev.durablechat.core;

import dev.durablechat.api.Session;
import org.jspecify.annotations.Nullable;

/**
 * The answer to {@link DurableChat#endAndContinue} (PROTOCOL S8).
 *
 * @param session the session as this call last read it
 * @param winnerRunId the session's current run: the new run if this call swapped, else the run that
 *     is current instead of the caller
 * @param swapped whether this call made the swap; false when the caller was no longer current
 * @param continuation whether the winner is not the session's first run
 * @param previousRunId the run the winner replaced, or null for a first run
 */
public record SwapResult(
    Session session,
    String winnerRunId,
    boolean swapped,
    boolean continuation,
    @Nullable String previousRunId) {}
