package dev.durablechat.http;

import dev.durablechat.api.DurableChatException;
import dev.durablechat.api.InvalidInputException;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonNull;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.Session;
import dev.durablechat.api.SessionPage;
import dev.durablechat.api.SessionQuery;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.SessionStatus;
import dev.durablechat.core.DurableChat;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * {@code GET /api/v1/sessions} (a keyset page of sessions) and {@code GET /api/v1/sessions/{id}} (a
 * session with its runs): the operator's read routes, secret key only.
 */
final class SessionListing {
  /** The query parameters the list route takes; any other one is refused, naming it. */
  private static final Set<String> PARAMETERS =
      Set.of("limit", "cursor", "agentId", "tag", "status");

  private SessionListing() {}

  /** {@code GET /api/v1/sessions?limit=&cursor=&agentId=&tag=&status=}. */
  static Reply list(Exchange exchange, DurableChat chat) {
    SessionQuery query = query(exchange.rawQuery());
    SessionPage page;
    try {
      page = chat.listSessions(query);
    } catch (DurableChatException e) {
      throw Errors.map(e, null);
    }
    var data = new ArrayList<JsonValue>(page.sessions().size());
    page.sessions().forEach(s -> data.add(Routes.sessionItem(s, "chat.agent")));
    JsonObject body =
        JsonObject.builder()
            .put("data", JsonArray.of(data))
            .put(
                "nextCursor",
                page.nextCursor() == null ? JsonNull.INSTANCE : JsonValue.of(page.nextCursor()))
            .build();
    return Reply.json(exchange, 200, body);
  }

  /** {@code GET /api/v1/sessions/{id}}: the session item plus {@code runs}, oldest first. */
  static Reply get(Exchange exchange, DurableChat chat, String address) {
    Session session;
    List<SessionRun> runs;
    try {
      session = chat.session(address);
      runs = chat.runs(session.friendlyId());
    } catch (DurableChatException e) {
      throw Errors.map(e, null);
    }
    var items = new ArrayList<JsonValue>(runs.size());
    runs.forEach(r -> items.add(runItem(r)));
    return Reply.json(
        exchange, 200, Routes.sessionItem(session, "chat.agent").with("runs", JsonArray.of(items)));
  }

  static JsonObject runItem(SessionRun r) {
    return JsonObject.builder()
        .put("id", r.runId())
        .put("reason", r.reason().wireName())
        .put("previousRunId", text(r.previousRunId()))
        .put("startedAt", time(r.startedAt()))
        .put("endedAt", time(r.endedAt()))
        .put("endReason", text(r.endReason()))
        .put("renewedAt", time(r.renewedAt()))
        .build();
  }

  /**
   * The query string as a {@link SessionQuery}; a parameter that is unknown, repeated, or has a bad
   * value is a 400 naming it.
   */
  static SessionQuery query(@Nullable String rawQuery) {
    Map<String, String> params = parameters(rawQuery);
    SessionQuery.Builder b = SessionQuery.builder();
    try {
      String limit = params.get("limit");
      if (limit != null) {
        int n;
        try {
          n = Integer.parseInt(limit);
        } catch (NumberFormatException e) {
          throw new InvalidInputException(
              "limit [" + limit + "] must be an integer between 1 and " + SessionQuery.MAX_LIMIT);
        }
        b.limit(n);
      }
      b.cursor(params.get("cursor"));
      b.agentId(params.get("agentId"));
      b.tag(params.get("tag"));
      String status = params.get("status");
      if (status != null) {
        b.status(status(status));
      }
      return b.build();
    } catch (InvalidInputException e) {
      throw HttpError.of(400, "invalid_query", e.getMessage());
    }
  }

  private static SessionStatus status(String value) {
    return switch (value.toLowerCase(Locale.ROOT)) {
      case "open" -> SessionStatus.ACTIVE;
      case "closed" -> SessionStatus.CLOSED;
      case "expired" -> SessionStatus.EXPIRED;
      default ->
          throw new InvalidInputException(
              "status [" + value + "] must be one of [open, closed, expired]");
    };
  }

  private static Map<String, String> parameters(@Nullable String rawQuery) {
    var params = new LinkedHashMap<String, String>();
    if (rawQuery == null || rawQuery.isEmpty()) {
      return params;
    }
    for (String pair : rawQuery.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String name = decode(eq < 0 ? pair : pair.substring(0, eq));
      String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
      if (!PARAMETERS.contains(name)) {
        throw HttpError.of(
            400,
            "invalid_query",
            "query parameter ["
                + shorten(name)
                + "] is unknown, expected one of [agentId, cursor, limit, status, tag]");
      }
      if (params.containsKey(name)) {
        throw HttpError.of(
            400, "invalid_query", "query parameter [" + name + "] is given more than once");
      }
      // An empty value means "no filter", as if the parameter were absent (forms send them).
      if (!value.isEmpty()) {
        params.put(name, value);
      }
    }
    return params;
  }

  private static String decode(String raw) {
    try {
      return URLDecoder.decode(raw, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw HttpError.of(
          400, "invalid_query", "query [" + shorten(raw) + "] has a broken % escape");
    }
  }

  private static String shorten(String s) {
    return s.length() > 64 ? s.substring(0, 64) + "..." : s;
  }

  private static JsonValue text(@Nullable String s) {
    return s == null ? JsonNull.INSTANCE : JsonValue.of(s);
  }

  private static JsonValue time(@Nullable Instant t) {
    return t == null ? JsonNull.INSTANCE : JsonValue.of(t.toString());
  }
}
