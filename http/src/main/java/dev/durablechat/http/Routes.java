package dev.durablechat.http;

import dev.durablechat.agent.AgentRuntime;
import dev.durablechat.agent.StartedSession;
import dev.durablechat.api.DurableChatException;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonNull;
import dev.durablechat.api.JsonNumber;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonString;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.Session;
import dev.durablechat.api.SessionClosedException;
import dev.durablechat.api.TriggerConfig;
import dev.durablechat.core.Appended;
import dev.durablechat.core.CreateSessionRequest;
import dev.durablechat.core.DurableChat;
import dev.durablechat.http.SessionTokens.Principal;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** The request/response routes: in/append, session create and close, token claims. */
final class Routes {
  private static final int MAX_CLOSE_REASON = 256;

  /** The machine presets the SDK's schema knows ({@code MachinePresetName}). */
  private static final java.util.Set<String> MACHINES =
      java.util.Set.of(
          "micro", "small-1x", "small-2x", "medium-1x", "medium-2x", "large-1x", "large-2x");

  private final AgentRuntime runtime;
  private final DurableChat chat;
  private final SessionTokens tokens;
  private final int maxAppendBytes;
  private final int maxBodyBytes;
  private final RateLimiter appendLimit;
  private @Nullable OutStreams streams;

  /**
   * @param maxAppendBytes the cap on an in/append body (W4: the engine's)
   * @param maxBodyBytes the cap on every other route's body
   * @param appendLimit the rate limit of appends per session token (T4)
   */
  Routes(
      AgentRuntime runtime,
      SessionTokens tokens,
      int maxAppendBytes,
      int maxBodyBytes,
      RateLimiter appendLimit) {
    this.runtime = runtime;
    this.chat = runtime.chat();
    this.tokens = tokens;
    this.maxAppendBytes = maxAppendBytes;
    this.maxBodyBytes = maxBodyBytes;
    this.appendLimit = appendLimit;
  }

  /** Set once at start (the routes and the streams know each other). */
  void streams(OutStreams streams) {
    this.streams = streams;
  }

  // ------------------------------------------------------------------ access

  /**
   * The session at the address, if the principal may {@code action} it (T1, T2): the secret key may
   * do everything; a token must hold the scope for either of the session's ids. A token that does
   * not name the address learns nothing about whether the session exists (403).
   */
  Session authorize(Principal principal, String address, String action) {
    if (principal.secret() || principal.may(action, List.of(address))) {
      return session(address);
    }
    Session session;
    try {
      session = chat.session(address);
    } catch (NoSuchSessionException e) {
      throw forbidden(action, address);
    }
    if (!principal.may(action, keys(session))) {
      throw forbidden(action, address);
    }
    return session;
  }

  static void requireSecret(Principal principal, String route) {
    if (!principal.secret()) {
      throw HttpError.of(
          403, "forbidden", "route [" + route + "] needs the secret key, not a session token");
    }
  }

  private static HttpError forbidden(String action, String address) {
    return HttpError.of(
        403, "forbidden", "token lacks scope [" + action + ":sessions:" + address + "] (T2)");
  }

  private Session session(String address) {
    try {
      return chat.session(address);
    } catch (DurableChatException e) {
      throw Errors.map(e, null);
    }
  }

  static List<String> keys(Session session) {
    return session.externalId() == null
        ? List.of(session.friendlyId())
        : List.of(session.externalId(), session.friendlyId());
  }

  /**
   * The key a session token names: the external id (the chat id, as the SDK does), else the
   * friendly id.
   */
  static String tokenKey(Session session) {
    return session.externalId() != null ? session.externalId() : session.friendlyId();
  }

  // ------------------------------------------------------------------ in/append

  /** {@code POST /realtime/v1/sessions/{id}/in/append} (http.md §2, W2–W5). */
  Reply append(Exchange exchange, Principal principal, String address) throws IOException {
    Session session = authorize(principal, address, "write");
    if (!principal.secret()) {
      // T4: per token, after the scope check (a refused token spends nothing), before the body is
      // read. The secret key is the application server's own credential and is not limited.
      long waitNanos = appendLimit.acquire(principal.bearerId());
      if (waitNanos > 0) {
        long seconds = Math.max(1, (waitNanos + 999_999_999L) / 1_000_000_000L);
        throw HttpError.of(
                429,
                "rate_limited",
                "too many appends with this token; retry after [" + seconds + "] s (T4)")
            .with("retryAfterSeconds", JsonValue.of(seconds))
            .header("Retry-After", Long.toString(seconds));
      }
    }
    Exchanges.requireJson(exchange);
    byte[] body = Exchanges.body(exchange, maxAppendBytes);
    JsonObject record = Exchanges.parseObject(body, "in append");
    String partId = Exchanges.header(exchange, "X-Part-Id");
    if (partId != null && (partId.isEmpty() || partId.length() > 256)) {
      throw HttpError.of(
          400, "bad_request", "x-part-id must be 1-256 characters, got [" + partId.length() + "]");
    }
    // The record is decoded here (W2, W3: a wrong shape is refused naming the field) and handed to
    // the runtime as an event, so it takes the same path as a server-side send: the runtime's own
    // checks, then the engine's size check (W4) and store append (W5), then a run for the session.
    InEvent event;
    try {
      event = InEvent.fromJson(record);
    } catch (DurableChatException e) {
      throw Errors.map(e, null);
    }
    Appended appended;
    try {
      appended =
          event instanceof InEvent.Stop
              // A stop needs no run: there is nothing to stop if none serves the session (L7).
              ? chat.appendIn(session.friendlyId(), event, partId)
              : runtime.send(session.friendlyId(), event, partId);
    } catch (SessionClosedException e) {
      throw Errors.map(e, closedReason(session.friendlyId()));
    } catch (DurableChatException e) {
      throw Errors.map(e, null);
    }
    var answer = JsonObject.builder().put("ok", true);
    if (!appended.duplicate()) {
      answer.put("seq", appended.eventId());
    }
    return Reply.json(exchange, 200, answer.build());
  }

  private @Nullable String closedReason(String address) {
    try {
      Session s = chat.session(address);
      return s.closedReason() != null
          ? s.closedReason()
          : s.closedAt() == null && s.expiresAt() != null ? "expired" : null;
    } catch (DurableChatException e) {
      return null;
    }
  }

  // ------------------------------------------------------------------ sessions

  /** {@code POST /api/v1/sessions} (http.md §3, S1, S5, S9). */
  Reply create(Exchange exchange, Principal principal) throws IOException {
    requireSecret(principal, "POST /api/v1/sessions");
    Exchanges.requireJson(exchange);
    JsonObject body = Exchanges.parseObject(Exchanges.body(exchange, maxBodyBytes), "session");
    String type = optionalString(body, "type", 64);
    String externalId = optionalString(body, "externalId", 1024);
    String task = optionalString(body, "taskIdentifier", 128);
    if (task == null || task.isBlank()) {
      throw HttpError.of(422, "invalid_input", "taskIdentifier must be a non-empty string");
    }
    JsonObject config = optionalObject(body, "triggerConfig", "triggerConfig");
    JsonObject base =
        config == null ? null : optionalObject(config, "basePayload", "triggerConfig.basePayload");
    JsonObject metadata = optionalObject(body, "metadata", "metadata");
    JsonValue clientData = JsonObject.empty();
    if (base != null && base.get("metadata") instanceof JsonObject m) {
      clientData = m;
    } else if (base != null
        && base.has("metadata")
        && !(base.get("metadata") instanceof JsonNull)) {
      throw HttpError.of(
          422, "invalid_input", "triggerConfig.basePayload.metadata must be an object");
    } else if (metadata != null) {
      clientData = metadata;
    }
    String trigger =
        base == null
            ? null
            : optionalString(base, "trigger", 64, "triggerConfig.basePayload.trigger");
    TriggerConfig triggerConfig = triggerConfig(config, body);
    Instant expiresAt = expiresAt(body.get("expiresAt"));
    if (expiresAt != null && externalId == null) {
      throw HttpError.of(
          422,
          "invalid_input",
          "expiresAt needs an externalId (a session addressed by its chat id)");
    }
    try {
      runtime.agent(task);
    } catch (DurableChatException e) {
      throw HttpError.of(404, "task_not_found", e.getMessage());
    }
    boolean created;
    StartedSession started;
    try {
      // Bind first: client data that does not fit the agent must leave no row behind (invariant 7).
      runtime.agent(task).bindClientData(clientData);
      // The engine takes the expiry; the runtime then finds the row by its external id (S1) and
      // starts its run. Without an external id the runtime makes the row itself.
      Boolean madeHere =
          externalId == null
              ? null
              : chat.createSession(
                      CreateSessionRequest.builder(task)
                          .externalId(externalId)
                          .clientData(clientData)
                          .triggerConfig(triggerConfig)
                          .expiresAt(expiresAt)
                          .build())
                  .created();
      started =
          "preload".equals(trigger)
              ? runtime.preload(externalId, task, clientData, triggerConfig)
              : runtime.startSession(externalId, task, clientData, triggerConfig);
      created = madeHere != null ? madeHere : started.created();
    } catch (SessionClosedException e) {
      throw Errors.map(e, externalId == null ? null : closedReason(externalId));
    } catch (DurableChatException e) {
      throw Errors.map(e, null);
    }
    Session session = chat.session(started.sessionId());
    JsonObject item =
        sessionItem(session, type == null ? "chat.agent" : type)
            .with("runId", JsonValue.of(started.runId()))
            .with("publicAccessToken", JsonValue.of(tokens.mint(tokenKey(session))))
            .with("isCached", JsonValue.of(!created));
    return Reply.json(exchange, created ? 201 : 200, item);
  }

  /** {@code POST /api/v1/sessions/{id}/close} (S4): the first reason wins; idempotent. */
  Reply close(Exchange exchange, Principal principal, String address) throws IOException {
    requireSecret(principal, "POST /api/v1/sessions/{id}/close");
    byte[] raw = Exchanges.body(exchange, maxBodyBytes);
    String reason = null;
    if (raw.length > 0) {
      Exchanges.requireJson(exchange);
      JsonObject body = Exchanges.parseObject(raw, "close");
      reason = optionalString(body, "reason", MAX_CLOSE_REASON);
    }
    Session closed;
    try {
      closed = chat.closeSession(address, reason);
    } catch (DurableChatException e) {
      throw Errors.map(e, null);
    }
    OutStreams s = streams;
    if (s != null) {
      s.wake(closed.friendlyId());
    }
    return Reply.json(exchange, 200, sessionItem(closed, "chat.agent"));
  }

  /** {@code GET /api/v1/sessions}: a keyset page of sessions ({@link SessionListing}). */
  Reply list(Exchange exchange, Principal principal) {
    requireSecret(principal, "GET /api/v1/sessions");
    return SessionListing.list(exchange, chat);
  }

  /** {@code GET /api/v1/sessions/{id}}: the session with its runs. */
  Reply get(Exchange exchange, Principal principal, String address) {
    requireSecret(principal, "GET /api/v1/sessions/{id}");
    return SessionListing.get(exchange, chat, address);
  }

  /**
   * {@code DELETE /api/v1/sessions/{id}} (S11): deletes the session with its runs, streams and
   * snapshot; 204, or 404 when there is no such session. Open {@code out} readers end with {@code
   * session-closed}, reason {@code deleted}.
   */
  Reply delete(Exchange exchange, Principal principal, String address) throws IOException {
    requireSecret(principal, "DELETE /api/v1/sessions/{id}");
    Exchanges.body(exchange, maxAppendBytes);
    Session deleted;
    try {
      deleted = chat.deleteSession(address);
    } catch (DurableChatException e) {
      throw Errors.map(e, null);
    }
    OutStreams s = streams;
    if (s != null) {
      s.wake(deleted.friendlyId());
    }
    var headers = new java.util.LinkedHashMap<String, String>();
    Exchanges.cors(exchange, headers);
    headers.put("Cache-Control", "no-store");
    return new Reply(204, headers, new byte[0]);
  }

  /** {@code POST /api/v1/auth/jwt/claims}: what the SDK signs its own public tokens with. */
  Reply claims(Exchange exchange, Principal principal) throws IOException {
    requireSecret(principal, "POST /api/v1/auth/jwt/claims");
    Exchanges.body(exchange, maxBodyBytes);
    return Reply.json(
        exchange,
        200,
        JsonObject.builder().put("sub", tokens.environmentId()).put("pub", true).build());
  }

  /**
   * The session as the SDK's {@code SessionItem} (every key present; dates as ISO-8601). {@code
   * metadata} is the session's client data (null when empty): the session keeps no other metadata.
   */
  static JsonObject sessionItem(Session s, String type) {
    var tags = new ArrayList<JsonValue>();
    s.triggerConfig().tags().forEach(t -> tags.add(JsonValue.of(t)));
    JsonValue metadata =
        s.clientData() instanceof JsonObject o && o.size() > 0 ? o : JsonNull.INSTANCE;
    JsonObject config = wireConfig(s.triggerConfig());
    return JsonObject.builder()
        .put("id", s.friendlyId())
        .put("externalId", nullable(s.externalId()))
        .put("type", type)
        .put("taskIdentifier", s.agentId())
        .put("triggerConfig", config)
        .put("currentRunId", nullable(s.currentRunId()))
        .put("tags", JsonArray.of(tags))
        .put("metadata", metadata)
        .put("closedAt", time(s.closedAt()))
        .put("closedReason", nullable(s.closedReason()))
        .put("expiresAt", time(s.expiresAt()))
        .put("createdAt", time(s.createdAt()))
        .put("updatedAt", time(s.updatedAt()))
        .build();
  }

  /**
   * The trigger config as the SDK's {@code SessionTriggerConfig}: AgentChat validates it when
   * present, so only fields within its limits are echoed (the create route refuses others).
   */
  private static JsonObject wireConfig(TriggerConfig c) {
    var b = JsonObject.builder().put("basePayload", c.basePayload());
    if (c.machine() != null && MACHINES.contains(c.machine())) {
      b.put("machine", c.machine());
    }
    if (c.queue() != null && c.queue().length() <= 128) {
      b.put("queue", c.queue());
    }
    if (!c.tags().isEmpty() && c.tags().size() <= 10) {
      var tags = new ArrayList<JsonValue>();
      c.tags().forEach(t -> tags.add(JsonValue.of(t)));
      b.put("tags", JsonArray.of(tags));
    }
    if (c.maxAttempts() != null && c.maxAttempts() <= 10) {
      b.put("maxAttempts", c.maxAttempts().longValue());
    }
    if (c.idleTimeout() != null && c.idleTimeout().toSeconds() <= 3600) {
      b.put("idleTimeoutInSeconds", c.idleTimeout().toSeconds());
    }
    return b.build();
  }

  private static JsonValue nullable(@Nullable String s) {
    return s == null ? JsonNull.INSTANCE : JsonValue.of(s);
  }

  private static JsonValue time(@Nullable Instant t) {
    return t == null ? JsonNull.INSTANCE : JsonValue.of(t.toString());
  }

  /** {@code expiresAt}: an ISO-8601 instant or epoch milliseconds (the SDK coerces either). */
  private static @Nullable Instant expiresAt(@Nullable JsonValue value) {
    if (value == null || value instanceof JsonNull) {
      return null;
    }
    try {
      if (value instanceof JsonString s) {
        return Instant.parse(s.value());
      }
      if (value instanceof JsonNumber n) {
        return Instant.ofEpochMilli(n.toBigDecimal().longValueExact());
      }
    } catch (java.time.DateTimeException | ArithmeticException e) {
      // fall through to the refusal
    }
    throw HttpError.of(
        422, "invalid_input", "expiresAt must be an ISO-8601 instant or epoch milliseconds");
  }

  private static TriggerConfig triggerConfig(@Nullable JsonObject config, JsonObject body) {
    if (config == null) {
      return TriggerConfig.none();
    }
    String machine = optionalString(config, "machine", 128, "triggerConfig.machine");
    if (machine != null && !MACHINES.contains(machine)) {
      throw HttpError.of(
          422,
          "invalid_input",
          "triggerConfig.machine ["
              + machine
              + "] must be one of "
              + new java.util.TreeSet<>(MACHINES));
    }
    String queue = optionalString(config, "queue", 128, "triggerConfig.queue");
    Long maxAttempts = optionalPositive(config, "maxAttempts", "triggerConfig.maxAttempts");
    if (maxAttempts != null && maxAttempts > 10) {
      throw HttpError.of(
          422,
          "invalid_input",
          "triggerConfig.maxAttempts must be at most 10, got [" + maxAttempts + "]");
    }
    Long idle =
        optionalPositive(config, "idleTimeoutInSeconds", "triggerConfig.idleTimeoutInSeconds");
    if (idle != null && idle > 3600) {
      throw HttpError.of(
          422,
          "invalid_input",
          "triggerConfig.idleTimeoutInSeconds must be at most 3600, got [" + idle + "]");
    }
    List<String> tags = strings(config, "tags", "triggerConfig.tags");
    if (tags.isEmpty()) {
      tags = strings(body, "tags", "tags");
    }
    if (tags.size() > 10 || tags.stream().anyMatch(t -> t.length() > 128)) {
      throw HttpError.of(
          422, "invalid_input", "tags must be at most 10 strings of at most 128 characters");
    }
    JsonValue base = config.get("basePayload");
    try {
      return new TriggerConfig(
          machine,
          maxAttempts == null ? null : (int) Math.min(maxAttempts, Integer.MAX_VALUE),
          tags,
          queue,
          idle == null ? null : Duration.ofSeconds(idle),
          base instanceof JsonObject o ? o : JsonObject.empty());
    } catch (DurableChatException e) {
      throw HttpError.of(422, "invalid_input", "triggerConfig: " + e.getMessage());
    }
  }

  private static @Nullable String optionalString(JsonObject o, String name, int max) {
    return optionalString(o, name, max, name);
  }

  private static @Nullable String optionalString(JsonObject o, String name, int max, String field) {
    JsonValue v = o.get(name);
    if (v == null || v instanceof JsonNull) {
      return null;
    }
    if (!(v instanceof JsonString s)) {
      throw HttpError.of(422, "invalid_input", field + " must be a string");
    }
    if (s.value().length() > max) {
      throw HttpError.of(
          422,
          "invalid_input",
          field + " must be at most " + max + " characters, got [" + s.value().length() + "]");
    }
    return s.value();
  }

  private static @Nullable JsonObject optionalObject(JsonObject o, String name, String field) {
    JsonValue v = o.get(name);
    if (v == null || v instanceof JsonNull) {
      return null;
    }
    if (!(v instanceof JsonObject obj)) {
      throw HttpError.of(422, "invalid_input", field + " must be an object");
    }
    return obj;
  }

  private static @Nullable Long optionalPositive(JsonObject o, String name, String field) {
    JsonValue v = o.get(name);
    if (v == null || v instanceof JsonNull) {
      return null;
    }
    long n;
    try {
      if (!(v instanceof JsonNumber num)) {
        throw new InvalidPayloadException("not a number");
      }
      n = num.toBigDecimal().longValueExact();
    } catch (ArithmeticException | DurableChatException e) {
      throw HttpError.of(422, "invalid_input", field + " must be a positive integer");
    }
    if (n < 1) {
      throw HttpError.of(
          422, "invalid_input", field + " must be a positive integer, got [" + n + "]");
    }
    return n;
  }

  private static List<String> strings(JsonObject o, String name, String field) {
    JsonValue v = o.get(name);
    if (v == null || v instanceof JsonNull) {
      return List.of();
    }
    if (!(v instanceof JsonArray array)) {
      throw HttpError.of(422, "invalid_input", field + " must be an array of strings");
    }
    var out = new ArrayList<String>();
    for (JsonValue e : array.elements()) {
      if (!(e instanceof JsonString s)) {
        throw HttpError.of(422, "invalid_input", field + " must be an array of strings");
      }
      out.add(s.value());
    }
    return out;
  }
}
