package dev.durablechat.api;

import java.time.Instant;

/**
 * A record read from a session stream.
 *
 * @param eventId the per-stream sequence number: gapless, increasing from 1, the client's event id
 * @param createdAt when it was stored
 * @param event what it holds: an {@link InEvent} or an {@link OutEvent}
 * @param <E> the stream's event type
 */
public record StreamRecord<E>(long eventId, Instant createdAt, E event) {

  /** Requires a positive event id. */
  public StreamRecord {
    if (eventId < 1) {
      throw new IllegalArgumentException("event id [" + eventId + "] must be at least 1");
    }
  }
}
