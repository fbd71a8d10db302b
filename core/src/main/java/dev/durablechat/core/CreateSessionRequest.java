package dev.durablechat.core;

import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.TriggerConfig;
import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What {@link DurableChat#createSession} needs. The engine validates it (PROTOCOL S2) before any
 * store sees it.
 *
 * @param externalId the application's chat id, or null for a session addressed only by its friendly
 *     id; trimmed, 1–256 characters, not starting with {@code session_}
 * @param agentId the agent (task) that serves the session, not blank
 * @param clientData the application's data for the chat
 * @param triggerConfig how runs are started (S9); server side only
 * @param expiresAt when the session expires, or null for never
 */
public record CreateSessionRequest(
    @Nullable String externalId,
    String agentId,
    JsonValue clientData,
    TriggerConfig triggerConfig,
    @Nullable Instant expiresAt) {

  /** Requires the agent id, client data and trigger config; the rest is checked by the engine. */
  public CreateSessionRequest {
    Objects.requireNonNull(agentId, "agent id must not be null");
    Objects.requireNonNull(clientData, "client data must not be null (use JsonObject.empty())");
    Objects.requireNonNull(triggerConfig, "trigger config must not be null");
  }

  /** A request for the agent, with no external id, no data, no trigger config and no expiry. */
  public static Builder builder(String agentId) {
    return new Builder(agentId);
  }

  /** Builds a {@link CreateSessionRequest}. */
  public static final class Builder {
    private final String agentId;
    private @Nullable String externalId;
    private JsonValue clientData = JsonObject.empty();
    private TriggerConfig triggerConfig = TriggerConfig.none();
    private @Nullable Instant expiresAt;

    private Builder(String agentId) {
      this.agentId = Objects.requireNonNull(agentId, "agent id must not be null");
    }

    /** The application's chat id (S1, S2), or null for none. */
    public Builder externalId(@Nullable String externalId) {
      this.externalId = externalId;
      return this;
    }

    /** The application's data for the chat. */
    public Builder clientData(JsonValue clientData) {
      this.clientData = Objects.requireNonNull(clientData, "client data must not be null");
      return this;
    }

    /** How runs are started (S9). */
    public Builder triggerConfig(TriggerConfig triggerConfig) {
      this.triggerConfig = Objects.requireNonNull(triggerConfig, "trigger config must not be null");
      return this;
    }

    /** When the session expires, or null for never. */
    public Builder expiresAt(@Nullable Instant expiresAt) {
      this.expiresAt = expiresAt;
      return this;
    }

    /** The request. */
    public CreateSessionRequest build() {
      return new CreateSessionRequest(externalId, agentId, clientData, triggerConfig, expiresAt);
    }
  }
}
