package dev.durablechat.core;

import dev.durablechat.api.Session;
import dev.durablechat.api.SessionRun;

/**
 * The answer to {@link DurableChat#ensureRun} (PROTOCOL S7).
 *
 * @param session the session as it is with {@code run} current
 * @param run the session's current, running run
 * @param started whether this call started and claimed it; false when it reused a running run or
 *     adopted the run of a caller that won the race
 */
public record EnsuredRun(Session session, SessionRun run, boolean started) {}
