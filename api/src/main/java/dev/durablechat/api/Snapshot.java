package dev.durablechat.api;

import java.time.Instant;
import java.util.List;

/**
 * A cache of a prefix of the session's history (H1): the messages as of {@code out} event {@code
 * lastOutEventId} (a {@code turn-complete}) and {@code in} event {@code lastInEventId}. Deleting it
 * loses nothing: the {@code out} stream is the truth.
 *
 * @param version the format version, {@value #CURRENT_VERSION}
 * @param savedAt when it was written
 * @param messages the history, in order
 * @param lastOutEventId the {@code out} event the history is complete up to
 * @param lastInEventId the highest {@code in} event folded into the history
 */
public record Snapshot(
    int version,
    Instant savedAt,
    List<UIMessage> messages,
    long lastOutEventId,
    long lastInEventId) {

  /** The only format version this library reads and writes. */
  public static final int CURRENT_VERSION = 1;

  /** Validates the watermarks and copies the messages. */
  public Snapshot {
    messages = List.copyOf(messages);
    if (savedAt == null) {
      throw new NullPointerException("savedAt must not be null");
    }
    if (lastOutEventId < 0 || lastInEventId < 0) {
      throw new InvalidInputException(
          "snapshot watermarks must not be negative, got out ["
              + lastOutEventId
              + "] in ["
              + lastInEventId
              + "]");
    }
  }
}
