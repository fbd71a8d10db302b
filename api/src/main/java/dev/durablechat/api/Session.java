package dev.durablechat.api;

import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * The durable session row: it owns its current run and outlives it.
 *
 * @param friendlyId {@code session_} plus a random part; never reused
 * @param externalId the application's chat id, unique within the environment (S1, S2), or null
 * @param environment where the session lives
 * @param agentId the agent (task) that serves it
 * @param currentRunId the run that owns the session now, or null before the first run
 * @param version the optimistic-lock counter; each change of the current run adds one (S6)
 * @param clientData the application's data for the chat
 * @param triggerConfig how runs are started (S9)
 * @param createdAt when the row was created
 * @param updatedAt when the row last changed
 * @param closedAt when it was closed, or null (written once, S4)
 * @param closedReason why it was closed, or null (the first close's reason wins)
 * @param expiresAt when it expires, or null for never
 */
public record Session(
    String friendlyId,
    @Nullable String externalId,
    Environment environment,
    String agentId,
    @Nullable String currentRunId,
    long version,
    JsonValue clientData,
    TriggerConfig triggerConfig,
    Instant createdAt,
    Instant updatedAt,
    @Nullable Instant closedAt,
    @Nullable String closedReason,
    @Nullable Instant expiresAt) {

  /** The prefix of every friendly id; external ids may not use it (S2). */
  public static final String FRIENDLY_ID_PREFIX = "session_";

  /** Requires the identifying fields. */
  public Session {
    if (friendlyId == null || !friendlyId.startsWith(FRIENDLY_ID_PREFIX)) {
      throw new InvalidInputException(
          "friendly id [" + friendlyId + "] must start with [" + FRIENDLY_ID_PREFIX + "]");
    }
    if (environment == null || agentId == null || clientData == null || triggerConfig == null) {
      throw new NullPointerException("environment, agent id, client data and trigger config");
    }
    if (createdAt == null || updatedAt == null) {
      throw new NullPointerException("created and updated times are required");
    }
    if (version < 0) {
      throw new InvalidInputException("version [" + version + "] must not be negative");
    }
  }

  /** The status at the given time (S4): closed wins over expired. */
  public SessionStatus status(Instant now) {
    if (closedAt != null) {
      return SessionStatus.CLOSED;
    }
    if (expiresAt != null && !now.isBefore(expiresAt)) {
      return SessionStatus.EXPIRED;
    }
    return SessionStatus.ACTIVE;
  }

  /** Whether the session takes appends and run changes at the given time. */
  public boolean isActive(Instant now) {
    return status(now) == SessionStatus.ACTIVE;
  }

  /** The id a human would use: the external id when there is one, else the friendly id. */
  public String displayId() {
    return externalId != null ? externalId : friendlyId;
  }
}
