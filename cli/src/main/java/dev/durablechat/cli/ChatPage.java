package dev.durablechat.cli;

import dev.durablechat.agent.AgentRuntime;
import dev.durablechat.agent.StartedSession;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.InvalidInputException;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.SessionClosedException;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.Trigger;
import dev.durablechat.api.TriggerConfig;
import dev.durablechat.api.UIMessage;
import dev.durablechat.core.DurableChat;
import dev.durablechat.http.SessionsServlet;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The demo chat page and the two endpoints of its own, served by {@code ./durablechat serve} under
 * {@link #PREFIX} beside the Sessions routes (the adapter keeps {@code /} for itself):
 *
 * <ul>
 *   <li>{@code GET /demo/}: the page ({@code serve/index.html}, plain HTML and JavaScript);
 *   <li>{@code POST /demo/start {"chatId"}}: plays the application server's part (the counterpart
 *       of {@code chat.createStartSessionAction}): creates or finds the chat's session for agent
 *       {@code demo} and returns a session token (T1) for the browser, which then talks to the real
 *       Sessions routes with it, as the SDK clients do;
 *   <li>{@code GET /demo/history?chatId=X&through=N}: what the page had shown after {@code out}
 *       record N, for a reload: the user messages from {@code in} and the {@code out} records 1..N,
 *       in display order. The page folds them with the same code as live records, then reads {@code
 *       out} from {@code Last-Event-ID: N}, so each record is shown once.
 * </ul>
 *
 * <p>Like an application server's own endpoints, these two do not check session tokens: the server
 * listens on 127.0.0.1 only. The adapter adds CORS headers to every route, so these two refuse
 * requests from another origin themselves (403): other sites open in the same browser cannot start
 * or read the local chats.
 */
final class ChatPage extends HttpServlet {
  private static final long serialVersionUID = 1L;

  /** The route prefix of the page and its endpoints. */
  static final String PREFIX = "/demo";

  private static final Logger LOG = LoggerFactory.getLogger(ChatPage.class);
  private static final String PAGE = "serve/index.html";
  private static final int MAX_BODY = 16 * 1024;
  private static final int PAGE_SIZE = 1000;

  private final transient AgentRuntime runtime;
  private final transient DurableChat chat;
  private final String agentId;
  private transient volatile @Nullable SessionsServlet sessions;

  ChatPage(AgentRuntime runtime, String agentId) {
    this.runtime = runtime;
    this.chat = runtime.chat();
    this.agentId = agentId;
  }

  /** The sessions servlet that mints the tokens; set once it has started. */
  void attach(SessionsServlet sessions) {
    this.sessions = sessions;
  }

  @Override
  protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    var exchange = new Exchange(req, resp);
    String path = req.getRequestURI();
    String method = req.getMethod();
    try {
      switch (path) {
        case PREFIX, PREFIX + "/", PREFIX + "/index.html" -> {
          requireMethod(method, "GET");
          page(exchange);
        }
        case PREFIX + "/start" -> {
          requireMethod(method, "POST");
          requireSameOrigin(exchange);
          start(exchange);
        }
        case PREFIX + "/history" -> {
          requireMethod(method, "GET");
          requireSameOrigin(exchange);
          history(exchange);
        }
        default -> throw new Status(404, "no route [" + method + " " + path + "]");
      }
    } catch (Status s) {
      error(exchange, s.code, s.getMessage());
    } catch (NoSuchSessionException e) {
      error(exchange, 404, e.getMessage());
    } catch (SessionClosedException e) {
      error(exchange, 409, e.getMessage());
    } catch (InvalidInputException e) {
      error(exchange, 400, e.getMessage());
    } catch (RuntimeException e) {
      LOG.warn("chat page: {} {} failed", method, path, e);
      error(exchange, 500, "internal error: " + e.getMessage());
    }
  }

  /** One request and its response. */
  private record Exchange(HttpServletRequest req, HttpServletResponse resp) {}

  private static void requireMethod(String actual, String expected) {
    if (!actual.equals(expected)) {
      throw new Status(405, "method [" + actual + "] is not allowed, expected [" + expected + "]");
    }
  }

  /** A browser names the page's origin on cross-origin requests and on same-origin POSTs. */
  private static void requireSameOrigin(Exchange exchange) {
    String origin = exchange.req().getHeader("Origin");
    String host = exchange.req().getHeader("Host");
    if (origin != null && !origin.equals("http://" + host)) {
      throw new Status(
          403, "origin [" + origin + "] is not this page's, expected [http://" + host + "]");
    }
  }

  private void page(Exchange exchange) throws IOException {
    byte[] html;
    try (InputStream in = ChatPage.class.getResourceAsStream(PAGE)) {
      if (in == null) {
        throw new Status(500, "the page resource [" + PAGE + "] is missing from the jar");
      }
      html = in.readAllBytes();
    }
    HttpServletResponse resp = exchange.resp();
    resp.setStatus(200);
    resp.setHeader("Content-Type", "text/html; charset=utf-8");
    resp.setHeader("Cache-Control", "no-store");
    resp.setHeader("X-Content-Type-Options", "nosniff");
    resp.setContentLength(html.length);
    resp.getOutputStream().write(html);
  }

  private void start(Exchange exchange) throws IOException {
    JsonObject body = readBody(exchange);
    if (!(body.get("chatId") instanceof dev.durablechat.api.JsonString chatId)) {
      throw new Status(400, "body.chatId must be a string");
    }
    SessionsServlet minter = sessions;
    if (minter == null) {
      throw new Status(503, "the server is still starting");
    }
    StartedSession started =
        runtime.startSession(chatId.value(), agentId, JsonObject.empty(), TriggerConfig.none());
    String token = minter.mintSessionToken(started.chatId());
    json(
        exchange,
        200,
        JsonObject.builder()
            .put("chatId", started.chatId())
            .put("sessionId", started.sessionId())
            .put("created", started.created())
            .put("publicAccessToken", token)
            .build());
  }

  /**
   * The records the page had shown after {@code out} record {@code through}, in display order.
   *
   * <p>A user message goes before the reply that answered it: each {@code turn-complete} names the
   * last {@code in} record its turn dispatched, so the user messages up to that id go before the
   * turn's {@code out} records. A trailing reply with no {@code turn-complete} yet answers the
   * first user message not yet dispatched; later ones (sent during it, or after record {@code
   * through}) come last, where the page had put them when they were sent.
   */
  private void history(Exchange exchange) throws IOException {
    Map<String, String> query = query(exchange.req().getQueryString());
    String chatId = query.get("chatId");
    if (chatId == null || chatId.isBlank()) {
      throw new Status(400, "query parameter [chatId] is required");
    }
    long through;
    try {
      through = Long.parseLong(query.getOrDefault("through", String.valueOf(Long.MAX_VALUE)));
    } catch (NumberFormatException e) {
      throw new Status(
          400, "query parameter through [" + query.get("through") + "] is not a number");
    }
    if (through < 0) {
      throw new Status(400, "query parameter through [" + through + "] must not be negative");
    }

    List<StreamRecord<UIMessage>> users = new ArrayList<>();
    for (long after = 0; ; ) {
      List<StreamRecord<InEvent>> page = chat.readIn(chatId, after, PAGE_SIZE);
      for (StreamRecord<InEvent> r : page) {
        if (r.event() instanceof InEvent.Message m
            && m.payload().trigger() == Trigger.SUBMIT_MESSAGE
            && m.payload().message() != null
            && m.payload().message().role().equals("user")) {
          users.add(new StreamRecord<>(r.eventId(), r.createdAt(), m.payload().message()));
        }
      }
      if (page.size() < PAGE_SIZE) {
        break;
      }
      after = page.get(page.size() - 1).eventId();
    }

    List<JsonValue> items = new ArrayList<>();
    List<StreamRecord<OutEvent>> turn = new ArrayList<>();
    int nextUser = 0;
    long last = 0;
    for (long after = 0; after < through; ) {
      List<StreamRecord<OutEvent>> page = chat.readOut(chatId, after, PAGE_SIZE);
      for (StreamRecord<OutEvent> r : page) {
        if (r.eventId() > through) {
          break;
        }
        last = r.eventId();
        turn.add(r);
        if (r.event() instanceof OutEvent.TurnComplete tc) {
          while (nextUser < users.size()
              && users.get(nextUser).eventId() <= tc.lastDispatchedInEventId()) {
            items.add(user(users.get(nextUser++)));
          }
          turn.forEach(o -> items.add(out(o)));
          turn.clear();
        }
      }
      if (page.size() < PAGE_SIZE || last >= through) {
        break;
      }
      after = page.get(page.size() - 1).eventId();
    }
    if (!turn.isEmpty() && nextUser < users.size()) {
      items.add(user(users.get(nextUser++)));
    }
    turn.forEach(o -> items.add(out(o)));
    while (nextUser < users.size()) {
      items.add(user(users.get(nextUser++)));
    }
    json(
        exchange,
        200,
        JsonObject.builder()
            .put("chatId", chatId)
            .put("lastEventId", last)
            .put("items", JsonArray.of(items))
            .build());
  }

  private static JsonObject user(StreamRecord<UIMessage> r) {
    return JsonObject.builder().put("inSeq", r.eventId()).put("user", r.event().json()).build();
  }

  private static JsonObject out(StreamRecord<OutEvent> r) {
    JsonObject.Builder b = JsonObject.builder().put("seq", r.eventId());
    OutEvent e = r.event();
    if (e instanceof OutEvent.Chunk c) {
      b.put("data", c.chunk().json());
    } else if (e instanceof OutEvent.TurnComplete tc) {
      b.put("control", "turn-complete").put("inEventId", tc.lastDispatchedInEventId());
    } else if (e instanceof OutEvent.UpgradeRequired) {
      b.put("control", "upgrade-required");
    }
    return b.build();
  }

  private static JsonObject readBody(Exchange exchange) throws IOException {
    byte[] bytes = exchange.req().getInputStream().readNBytes(MAX_BODY + 1);
    if (bytes.length > MAX_BODY) {
      throw new Status(413, "body is over [" + MAX_BODY + "] bytes");
    }
    try {
      return Json.parseObject(new String(bytes, StandardCharsets.UTF_8));
    } catch (InvalidInputException e) {
      throw new Status(400, "body must be a JSON object: " + e.getMessage());
    }
  }

  private static Map<String, String> query(@Nullable String raw) {
    Map<String, String> out = new LinkedHashMap<>();
    if (raw == null || raw.isEmpty()) {
      return out;
    }
    for (String pair : raw.split("&")) {
      int eq = pair.indexOf('=');
      String name = eq < 0 ? pair : pair.substring(0, eq);
      String value = eq < 0 ? "" : pair.substring(eq + 1);
      out.putIfAbsent(
          URLDecoder.decode(name, StandardCharsets.UTF_8),
          URLDecoder.decode(value, StandardCharsets.UTF_8));
    }
    return out;
  }

  private static void error(Exchange exchange, int status, @Nullable String message) {
    try {
      json(
          exchange,
          status,
          JsonObject.builder().put("error", message == null ? "error " + status : message).build());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void json(Exchange exchange, int status, JsonObject body) throws IOException {
    byte[] bytes = Json.write(body).getBytes(StandardCharsets.UTF_8);
    HttpServletResponse resp = exchange.resp();
    resp.setStatus(status);
    resp.setHeader("Content-Type", "application/json; charset=utf-8");
    resp.setHeader("Cache-Control", "no-store");
    resp.setContentLength(bytes.length);
    resp.getOutputStream().write(bytes);
  }

  /** An error answer with its status. */
  private static final class Status extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int code;

    Status(int code, String message) {
      super(message, null, false, false);
      this.code = code;
    }
  }
}
