package dev.durablechat.http;

import dev.durablechat.api.DurableChatException;
import dev.durablechat.core.Telemetry;
import dev.durablechat.http.SessionTokens.Principal;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Sessions routes, independent of any server: a request in, either a whole {@link Reply} or an
 * open {@link OutStreams.Stream} out. Every refusal is a JSON answer with CORS headers; the server
 * binding only moves bytes.
 */
final class Router {
  private static final Logger LOG = LoggerFactory.getLogger(Router.class);

  private static final String SESSIONS = "/realtime/v1/sessions/";
  private static final String API_SESSIONS = "/api/v1/sessions";

  private final SessionTokens tokens;
  private final Routes routes;
  private final OutStreams streams;
  private final long maxHeaderBytes;
  private final Origins origins;
  private final Telemetry telemetry;
  // Graceful shutdown: every route but a preflight answers 503 with Retry-After.
  private volatile boolean refusing;

  Router(
      SessionTokens tokens,
      Routes routes,
      OutStreams streams,
      long maxHeaderBytes,
      Origins origins,
      Telemetry telemetry) {
    this.tokens = tokens;
    this.routes = routes;
    this.streams = streams;
    this.maxHeaderBytes = maxHeaderBytes;
    this.origins = origins;
    this.telemetry = telemetry;
  }

  /** From now on, every route but a preflight answers 503 {@code shutting_down}. */
  void stopAccepting() {
    refusing = true;
  }

  /** What the router answers: a whole reply, or an open SSE stream. */
  sealed interface Answer permits Whole, Streaming {}

  /** A whole reply. */
  record Whole(Reply reply) implements Answer {}

  /** An open out stream; its headers go first. */
  record Streaming(OutStreams.Stream stream) implements Answer {}

  /**
   * Routes one request; never throws. Before any answer goes out (a refusal, a preflight, a route
   * that did not read the body, an out stream, which never reads one) what is left of the request
   * body is read and dropped: else the server drops the connection after the answer, and a client
   * that sends its next request on it finds the connection closed instead of an answer. An out
   * stream can be a whole answer too: a peek at a settled session ends at once.
   */
  Answer handle(Exchange exchange) {
    Answer answer = answer(exchange);
    Exchanges.drain(exchange);
    return answer;
  }

  private Answer answer(Exchange exchange) {
    try {
      String origin = exchange.header("Origin");
      if (!origins.allows(origin)) {
        // T4: a page of another origin gets no CORS grant, its preflight included, and its request
        // is not served (a browser always names the origin of a cross-origin request).
        LOG.debug(
            "{} {} answered [403]: origin [{}] is not allowed",
            exchange.method(),
            exchange.rawPath(),
            origin);
        return new Whole(
            Reply.withoutCors(
                403,
                HttpError.of(
                        403,
                        "origin_not_allowed",
                        "origin [" + origin + "] is not allowed to call these routes (T4)")
                    .body()));
      }
      try {
        // The path and method only: headers (Authorization) and bodies never reach the log.
        LOG.trace("{} {}", exchange.method(), exchange.rawPath());
        return route(exchange);
      } catch (HttpError e) {
        // Expected answers (bad input, auth, limits): a debug line, not a warning. Their messages
        // name the problem and never echo a bearer.
        LOG.debug(
            "{} {} answered [{}]: {}",
            exchange.method(),
            exchange.rawPath(),
            e.status(),
            e.getMessage());
        refused(e.status());
        return new Whole(Reply.error(exchange, e));
      } catch (DurableChatException e) {
        HttpError mapped = Errors.map(e, null);
        if (mapped.status() >= 500) {
          LOG.warn("{} {} failed: {}", exchange.method(), exchange.rawPath(), e.getMessage());
        }
        refused(mapped.status());
        return new Whole(Reply.error(exchange, mapped));
      }
    } catch (IOException | RuntimeException e) {
      LOG.error("{} {} failed", exchange.method(), exchange.rawPath(), e);
      return new Whole(Reply.error(exchange, HttpError.of(500, "internal", "internal error")));
    }
  }

  private void refused(int status) {
    if (status >= 400 && status < 500) {
      telemetry.refused(status);
    }
  }

  private Answer route(Exchange exchange) throws IOException {
    String method = exchange.method();
    if (exchange.headerBytes() > maxHeaderBytes) {
      throw HttpError.of(
              431,
              "request_header_fields_too_large",
              "request headers are "
                  + exchange.headerBytes()
                  + " bytes, over the limit of "
                  + maxHeaderBytes
                  + " bytes")
          .with("limit", dev.durablechat.api.JsonValue.of(maxHeaderBytes));
    }
    if ("OPTIONS".equals(method)) {
      return new Whole(Exchanges.preflight(exchange));
    }
    if (refusing) {
      // The clients retry a 503 (http.md §1): behind a load balancer, on a node that stays.
      throw HttpError.of(503, "shutting_down", "the server is shutting down; retry")
          .header("Retry-After", "1");
    }
    String path = exchange.rawPath();
    if (path.startsWith(SESSIONS)) {
      String rest = path.substring(SESSIONS.length());
      int slash = rest.indexOf('/');
      if (slash > 0) {
        String address = Exchanges.decodeSegment(rest.substring(0, slash));
        String tail = rest.substring(slash);
        if (tail.equals("/out")) {
          requireMethod(method, "GET", path);
          return new Streaming(streams.open(exchange, principal(exchange), address));
        }
        if (tail.equals("/in/append")) {
          requireMethod(method, "POST", path);
          return new Whole(routes.append(exchange, principal(exchange), address));
        }
      }
    } else if (path.equals(API_SESSIONS) || path.equals(API_SESSIONS + "/")) {
      if ("GET".equals(method)) {
        return new Whole(routes.list(exchange, principal(exchange)));
      }
      requireMethod(method, "POST", path, "GET, POST, OPTIONS");
      return new Whole(routes.create(exchange, principal(exchange)));
    } else if (path.startsWith(API_SESSIONS + "/")
        && path.indexOf('/', API_SESSIONS.length() + 1) < 0) {
      // GET or DELETE /api/v1/sessions/{id}: one segment after the collection
      String address = Exchanges.decodeSegment(path.substring(API_SESSIONS.length() + 1));
      if ("DELETE".equals(method)) {
        return new Whole(routes.delete(exchange, principal(exchange), address));
      }
      requireMethod(method, "GET", path, "GET, DELETE, OPTIONS");
      return new Whole(routes.get(exchange, principal(exchange), address));
    } else if (path.startsWith(API_SESSIONS + "/") && path.endsWith("/close")) {
      String segment = path.substring(API_SESSIONS.length() + 1, path.length() - "/close".length());
      if (!segment.isEmpty() && segment.indexOf('/') < 0) {
        requireMethod(method, "POST", path);
        return new Whole(
            routes.close(exchange, principal(exchange), Exchanges.decodeSegment(segment)));
      }
    } else if (path.equals("/api/v1/auth/jwt/claims")) {
      requireMethod(method, "POST", path);
      return new Whole(routes.claims(exchange, principal(exchange)));
    }
    throw HttpError.of(404, "not_found", "no route for [" + method + " " + path + "]");
  }

  private Principal principal(Exchange exchange) {
    return tokens.authenticate(exchange.header("Authorization"));
  }

  private static void requireMethod(String method, String expected, String path) {
    requireMethod(method, expected, path, expected + ", OPTIONS");
  }

  private static void requireMethod(String method, String expected, String path, String allow) {
    if (!expected.equals(method)) {
      String takes = allow.replace(", OPTIONS", "");
      throw HttpError.of(
              405,
              "method_not_allowed",
              "route [" + path + "] takes [" + takes + "], got [" + method + "]")
          .header("Allow", allow);
    }
  }
}
