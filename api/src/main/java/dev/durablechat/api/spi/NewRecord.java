package dev.durablechat.api.spi;

import org.jspecify.annotations.Nullable;

/**
 * A record to append: its payload (JSON text the engine encoded; stores keep it byte for byte) and
 * an optional client part id for dedupe (PROTOCOL W5).
 *
 * @param payload the JSON text
 * @param partId the client's part id, or null
 */
public record NewRecord(String payload, @Nullable String partId) {

  /** Requires a payload; a part id, when given, must be 1–128 characters. */
  public NewRecord {
    if (payload == null) {
      throw new NullPointerException("payload must not be null");
    }
    if (partId != null && (partId.isEmpty() || partId.length() > 128)) {
      throw new dev.durablechat.api.InvalidInputException(
          "part id must be 1 to 128 characters, got [" + partId.length() + "] characters");
    }
  }

  /** A record without a part id. */
  public static NewRecord of(String payload) {
    return new NewRecord(payload, null);
  }
}
