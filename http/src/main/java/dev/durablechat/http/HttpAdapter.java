package dev.durablechat.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import dev.durablechat.agent.AgentRuntime;
import dev.durablechat.api.DurableChatException;
import dev.durablechat.api.Environment;
import dev.durablechat.api.Session;
import dev.durablechat.core.DurableChat;
import dev.durablechat.http.Tokens.Principal;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.RejectedExecutionHandler;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves an {@link AgentRuntime}'s sessions over HTTP, speaking the Sessions wire protocol (v2) of
 * the published chat clients (http.md): the {@code out} stream as SSE, {@code in/append}, session
 * create and close, and token claims, with CORS on every response.
 *
 * <pre>{@code
 * try (HttpAdapter http = HttpAdapter.builder(runtime).port(8787).secretKeys(secret).start()) {
 *   String token = http.mintSessionToken("chat-1");
 * }
 * }</pre>
 *
 * <p>Threads: the JDK server's handlers block, and an open SSE stream holds its handler thread for
 * its whole life. Requests therefore run on a cached pool of named daemon threads ({@code
 * durablechat-http-N}): idle threads are reused, new ones made on demand up to {@link
 * Builder#maxThreads} (default 512), idle ones end after 30 s. When every thread is busy, the
 * server stops accepting until one comes free. Size the cap above the number of readers you expect
 * at once. {@link #close()} ends the open streams and stops the pool; the runtime and the engine
 * stay open.
 */
public final class HttpAdapter implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(HttpAdapter.class);

  private static final String SESSIONS = "/realtime/v1/sessions/";
  private static final String API_SESSIONS = "/api/v1/sessions";

  private final HttpServer server;
  private final ThreadPoolExecutor executor;
  private final DurableChat chat;
  private final Tokens tokens;
  private final Routes routes;
  private final OutStreams streams;
  private volatile boolean closed;

  static {
    // The JDK server writes a response's headers and body as two segments; with Nagle's algorithm
    // on
    // and the client's delayed ACK, every small answer waits ~40 ms for the second one. The server
    // reads this property once, when its first instance is made; an application's own setting wins.
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
  }

  private HttpAdapter(Builder b) throws IOException {
    this.chat = b.runtime.chat();
    Environment env = chat.environment();
    String envId =
        b.environmentId != null ? b.environmentId : "env_" + env.projectRef() + "_" + env.envSlug();
    this.tokens = new Tokens(b.secretKeys, envId, b.tokenTtl, b.clock);
    this.streams = new OutStreams(chat, null, tokens, b.pingInterval, b.statusInterval, b.clock);
    this.routes = new Routes(b.runtime, tokens, b.runtime.chat().maxAppendBytes(), streams);
    this.streams.routes(routes);
    this.executor = newExecutor(b.maxThreads);
    this.server = HttpServer.create(new InetSocketAddress(b.host, b.port), b.backlog);
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    b.routes.forEach((prefix, handler) -> server.createContext(prefix, withCors(handler)));
    server.start();
    LOG.info("durablechat http listening on {}", baseUri());
  }

  /** A builder over the runtime; its engine ({@link AgentRuntime#chat()}) is served. */
  public static Builder builder(AgentRuntime runtime) {
    return new Builder(runtime);
  }

  /** The bound port (an ephemeral one when the builder asked for port 0). */
  public int port() {
    return server.getAddress().getPort();
  }

  /** The base URI, e.g. {@code http://127.0.0.1:8787}. */
  public URI baseUri() {
    String host = server.getAddress().getHostString();
    if (host.contains(":")) {
      host = "[" + host + "]";
    }
    return URI.create("http://" + host + ":" + port());
  }

  /**
   * A session token (T1: read and write scopes, the builder's time to live) for the session at the
   * address (its external id or friendly id, S3).
   *
   * @throws dev.durablechat.api.NoSuchSessionException if there is no session there
   */
  public String mintSessionToken(String sessionAddress) {
    Session session = chat.session(sessionAddress);
    return tokens.mint(Routes.tokenKey(session));
  }

  /** Ends the open SSE streams, stops the server and its threads. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    streams.closeAll();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
    while (streams.openCount() > 0 && System.nanoTime() < deadline) {
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    server.stop(0);
    executor.shutdownNow();
    try {
      executor.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ------------------------------------------------------------------ routing

  private void handle(HttpExchange exchange) {
    try {
      try {
        route(exchange);
      } catch (HttpError e) {
        Exchanges.error(exchange, e);
      } catch (DurableChatException e) {
        HttpError mapped = Errors.map(e, null);
        if (mapped.status() >= 500) {
          LOG.warn("{} {} failed", exchange.getRequestMethod(), exchange.getRequestURI(), e);
        }
        Exchanges.error(exchange, mapped);
      } catch (RuntimeException e) {
        LOG.error("{} {} failed", exchange.getRequestMethod(), exchange.getRequestURI(), e);
        Exchanges.error(exchange, HttpError.of(500, "internal", "internal error"));
      }
    } catch (IOException | RuntimeException e) {
      // Headers were sent already, or the client went away: nothing more can be said.
      LOG.debug("{} {}: {}", exchange.getRequestMethod(), exchange.getRequestURI(), e.toString());
    } finally {
      exchange.close();
    }
  }

  private void route(HttpExchange exchange) throws IOException {
    String method = exchange.getRequestMethod();
    if ("OPTIONS".equals(method)) {
      Exchanges.preflight(exchange);
      return;
    }
    String path = exchange.getRequestURI().getRawPath();
    if (path.startsWith(SESSIONS)) {
      String rest = path.substring(SESSIONS.length());
      int slash = rest.indexOf('/');
      if (slash > 0) {
        String address = Exchanges.decodeSegment(rest.substring(0, slash));
        String tail = rest.substring(slash);
        if (tail.equals("/out")) {
          requireMethod(method, "GET", path);
          streams.serve(exchange, principal(exchange), address);
          return;
        }
        if (tail.equals("/in/append")) {
          requireMethod(method, "POST", path);
          routes.append(exchange, principal(exchange), address);
          return;
        }
      }
    } else if (path.equals(API_SESSIONS) || path.equals(API_SESSIONS + "/")) {
      requireMethod(method, "POST", path);
      routes.create(exchange, principal(exchange));
      return;
    } else if (path.startsWith(API_SESSIONS + "/") && path.endsWith("/close")) {
      String segment = path.substring(API_SESSIONS.length() + 1, path.length() - "/close".length());
      if (!segment.isEmpty() && segment.indexOf('/') < 0) {
        requireMethod(method, "POST", path);
        routes.close(exchange, principal(exchange), Exchanges.decodeSegment(segment));
        return;
      }
    } else if (path.equals("/api/v1/auth/jwt/claims")) {
      requireMethod(method, "POST", path);
      routes.claims(exchange, principal(exchange));
      return;
    }
    throw HttpError.of(404, "not_found", "no route for [" + method + " " + path + "]");
  }

  private Principal principal(HttpExchange exchange) {
    return tokens.authenticate(exchange.getRequestHeaders().getFirst("Authorization"));
  }

  private static void requireMethod(String method, String expected, String path) {
    if (!expected.equals(method)) {
      throw HttpError.of(
              405,
              "method_not_allowed",
              "route [" + path + "] takes [" + expected + "], got [" + method + "]")
          .header("Allow", expected + ", OPTIONS");
    }
  }

  /** Extra routes get CORS too, and a JSON 500 instead of a dropped connection. */
  private static HttpHandler withCors(HttpHandler handler) {
    return exchange -> {
      try {
        if ("OPTIONS".equals(exchange.getRequestMethod())) {
          Exchanges.preflight(exchange);
          return;
        }
        Exchanges.cors(exchange);
        handler.handle(exchange);
      } catch (IOException | RuntimeException e) {
        LOG.warn("{} {} failed", exchange.getRequestMethod(), exchange.getRequestURI(), e);
        try {
          Exchanges.error(exchange, HttpError.of(500, "internal", "internal error"));
        } catch (IOException | RuntimeException ignored) {
          // headers were sent already
        }
      } finally {
        exchange.close();
      }
    };
  }

  /**
   * A cached pool of named daemon threads with a cap: an idle thread is reused, a new one is made
   * when none is idle, up to {@code maxThreads}; idle ones end after 30 s. When all are busy (every
   * one an open SSE stream, say), the server's accepting thread waits for one to come free rather
   * than dropping the request: back-pressure instead of an unbounded queue or a lost connection.
   */
  private static ThreadPoolExecutor newExecutor(int maxThreads) {
    AtomicInteger count = new AtomicInteger();
    ThreadFactory factory =
        r -> {
          Thread t = new Thread(r, "durablechat-http-" + count.incrementAndGet());
          t.setDaemon(true);
          return t;
        };
    RejectedExecutionHandler waitForThread =
        (task, pool) -> {
          try {
            while (!pool.isShutdown()) {
              if (pool.getQueue().offer(task, 100, TimeUnit.MILLISECONDS)) {
                return;
              }
            }
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          throw new RejectedExecutionException("durablechat http pool is shut down");
        };
    return new ThreadPoolExecutor(
        0, maxThreads, 30, TimeUnit.SECONDS, new SynchronousQueue<>(), factory, waitForThread);
  }

  /** Builds and starts an {@link HttpAdapter}. {@link #secretKeys} is required. */
  public static final class Builder {
    private final AgentRuntime runtime;
    private String host = "127.0.0.1";
    private int port = 8787;
    private final List<String> secretKeys = new ArrayList<>();
    private Duration tokenTtl = Duration.ofHours(1);
    private Clock clock = Clock.systemUTC();
    private final Map<String, HttpHandler> routes = new LinkedHashMap<>();
    private int maxThreads = 512;
    private int backlog = 1024;
    private @Nullable String environmentId;
    private Duration pingInterval = Duration.ofSeconds(15);
    private Duration statusInterval = Duration.ofSeconds(1);

    private Builder(AgentRuntime runtime) {
      this.runtime = Objects.requireNonNull(runtime, "runtime must not be null");
    }

    /** The address to bind; default {@code 127.0.0.1}. */
    public Builder host(String host) {
      this.host = Objects.requireNonNull(host, "host must not be null");
      return this;
    }

    /** The port; default 8787; 0 picks a free one ({@link HttpAdapter#port()}). */
    public Builder port(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be 0-65535, got [" + port + "]");
      }
      this.port = port;
      return this;
    }

    /**
     * The environment's secret keys (required): the first signs new tokens; every one verifies
     * tokens and is accepted as a bearer (key rotation).
     */
    public Builder secretKeys(String... keys) {
      for (String key : keys) {
        if (key == null || key.isBlank()) {
          throw new IllegalArgumentException("a secret key must not be blank");
        }
        secretKeys.add(key);
      }
      return this;
    }

    /** How long a minted session token lives (T1); default one hour. */
    public Builder tokenTtl(Duration ttl) {
      if (ttl.isNegative() || ttl.isZero()) {
        throw new IllegalArgumentException("token ttl [" + ttl + "] must be positive");
      }
      this.tokenTtl = ttl;
      return this;
    }

    /** The clock for token times and session status; default UTC system clock. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock must not be null");
      return this;
    }

    /**
     * An extra route under the path prefix (e.g. a chat page), served by the JDK server next to the
     * wire routes, with CORS headers added.
     */
    public Builder route(String pathPrefix, HttpHandler handler) {
      if (pathPrefix == null || !pathPrefix.startsWith("/")) {
        throw new IllegalArgumentException("route prefix [" + pathPrefix + "] must start with [/]");
      }
      if (pathPrefix.equals("/")) {
        throw new IllegalArgumentException(
            "route prefix [/] is the adapter's own; pick a longer one");
      }
      routes.put(pathPrefix, Objects.requireNonNull(handler, "handler must not be null"));
      return this;
    }

    /**
     * The most request threads at once; each open SSE stream holds one (default 512). Past it,
     * requests queue.
     */
    public Builder maxThreads(int maxThreads) {
      if (maxThreads < 2) {
        throw new IllegalArgumentException(
            "max threads must be at least 2, got [" + maxThreads + "]");
      }
      this.maxThreads = maxThreads;
      return this;
    }

    /**
     * The environment id: the {@code sub} of tokens and of {@code /api/v1/auth/jwt/claims}; default
     * {@code env_<projectRef>_<envSlug>}.
     */
    public Builder environmentId(String environmentId) {
      this.environmentId = Objects.requireNonNull(environmentId, "environment id must not be null");
      return this;
    }

    /** How often an idle SSE stream sends {@code event: ping}; default 15 s. */
    public Builder pingInterval(Duration pingInterval) {
      if (pingInterval.isNegative() || pingInterval.isZero()) {
        throw new IllegalArgumentException("ping interval [" + pingInterval + "] must be positive");
      }
      this.pingInterval = pingInterval;
      return this;
    }

    /** Starts the server. */
    public HttpAdapter start() {
      if (secretKeys.isEmpty()) {
        throw new IllegalStateException("http adapter needs secretKeys(String...)");
      }
      try {
        return new HttpAdapter(this);
      } catch (IOException e) {
        throw new UncheckedIOException(
            "could not bind the http adapter to [" + host + ":" + port + "]", e);
      }
    }
  }
}
