package dev.durablechat.api;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * How the session's runs are started (S9). It lives on the server side of the session and is never
 * taken from a client. Every field is optional.
 *
 * @param machine the machine preset to run on
 * @param maxAttempts how often a crashed run is retried
 * @param tags free-form tags for the runs
 * @param queue the queue the runs go on
 * @param idleTimeout how long a run waits for the next message before it suspends (L3); overrides
 *     the agent's default; at most {@link #MAX_IDLE_TIMEOUT}
 * @param basePayload fields merged under every run's first payload
 */
public record TriggerConfig(
    @Nullable String machine,
    @Nullable Integer maxAttempts,
    List<String> tags,
    @Nullable String queue,
    @Nullable Duration idleTimeout,
    JsonObject basePayload) {

  /** The longest idle timeout a session may ask for: a day (a run waits that long at most). */
  public static final Duration MAX_IDLE_TIMEOUT = Duration.ofDays(1);

  private static final TriggerConfig NONE =
      new TriggerConfig(null, null, List.of(), null, null, JsonObject.empty());

  /** Validates the numbers and copies the tags. */
  public TriggerConfig {
    tags = List.copyOf(tags);
    if (maxAttempts != null && maxAttempts < 1) {
      throw new InvalidInputException("max attempts [" + maxAttempts + "] must be at least 1");
    }
    if (idleTimeout != null && (idleTimeout.isNegative() || idleTimeout.isZero())) {
      throw new InvalidInputException("idle timeout [" + idleTimeout + "] must be positive");
    }
    if (idleTimeout != null && idleTimeout.compareTo(MAX_IDLE_TIMEOUT) > 0) {
      throw new InvalidInputException(
          "idle timeout [" + idleTimeout + "] must be at most [" + MAX_IDLE_TIMEOUT + "]");
    }
    if (basePayload == null) {
      throw new NullPointerException("base payload must not be null (use JsonObject.empty())");
    }
  }

  /** No configuration: every default applies. */
  public static TriggerConfig none() {
    return NONE;
  }

  /** The JSON form that backends persist. */
  public JsonObject toJson() {
    var tagValues = new ArrayList<JsonValue>(tags.size());
    tags.forEach(t -> tagValues.add(JsonValue.of(t)));
    var b = JsonObject.builder().putIfNotNull("machine", machine);
    if (maxAttempts != null) {
      b.put("maxAttempts", maxAttempts.longValue());
    }
    if (!tags.isEmpty()) {
      b.put("tags", JsonArray.of(tagValues));
    }
    b.putIfNotNull("queue", queue);
    if (idleTimeout != null) {
      b.put("idleTimeoutInSeconds", idleTimeout.toSeconds());
    }
    if (basePayload.size() > 0) {
      b.put("basePayload", basePayload);
    }
    return b.build();
  }

  /** Reads the JSON form written by {@link #toJson()}. */
  public static TriggerConfig fromJson(JsonObject json) {
    var tags = new ArrayList<String>();
    if (json.get("tags") instanceof JsonArray array) {
      for (JsonValue v : array.elements()) {
        if (v instanceof JsonString s) {
          tags.add(s.value());
        }
      }
    }
    Integer maxAttempts =
        json.get("maxAttempts") instanceof JsonNumber n ? Math.toIntExact(n.longValue()) : null;
    Duration idle =
        json.get("idleTimeoutInSeconds") instanceof JsonNumber n
            ? Duration.ofSeconds(n.longValue())
            : null;
    JsonObject base = json.get("basePayload") instanceof JsonObject o ? o : JsonObject.empty();
    return new TriggerConfig(
        json.string("machine").orElse(null),
        maxAttempts,
        tags,
        json.string("queue").orElse(null),
        idle,
        base);
  }
}
