package dev.durablechat.core;

/**
 * Where an append landed: event ids {@code firstEventId..lastEventId}, gapless.
 *
 * @param firstEventId the first record's event id
 * @param lastEventId the last record's event id; equal to the first for a single record
 * @param duplicate whether the part id was already used on the stream, so nothing was written and
 *     the ids name the earlier record (PROTOCOL W5)
 */
public record Appended(long firstEventId, long lastEventId, boolean duplicate) {

  /** The event id of a single-record append (the last one of a batch). */
  public long eventId() {
    return lastEventId;
  }
}
