package dev.durablechat.api.spi;

import dev.durablechat.api.Session;

/**
 * The result of a create-or-get.
 *
 * @param session the row that holds the external id now: the new one, or the one that was there
 * @param created whether this call created it
 */
public record CreateOutcome(Session session, boolean created) {}
