package dev.durablechat.core;

import dev.durablechat.api.Session;

/**
 * The answer to {@link DurableChat#createSession}.
 *
 * @param session the session that holds the external id now
 * @param created whether this call created it; false when an existing session was returned (S1)
 */
public record CreatedSession(Session session, boolean created) {}
