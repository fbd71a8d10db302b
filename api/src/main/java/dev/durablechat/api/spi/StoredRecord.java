package dev.durablechat.api.spi;

import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * A record as a store returns it.
 *
 * @param seq its sequence number in the stream (the client's event id)
 * @param payload the JSON text exactly as appended
 * @param partId the part id it was appended with, or null
 * @param createdAt when it was stored
 */
public record StoredRecord(long seq, String payload, @Nullable String partId, Instant createdAt) {}
