package dev.durablechat.http;

import dev.durablechat.agent.AgentRuntime;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.net.BindException;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.http.UriCompliance;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A standalone HTTP server for an {@link AgentRuntime}'s sessions: the {@link SessionsServlet} on
 * an embedded Jetty 12 of its own (the application needs {@code
 * org.eclipse.jetty.ee10:jetty-ee10-servlet} on its class path). To serve the routes from a server
 * you run already, mount {@link SessionsServlet} instead.
 *
 * <pre>{@code
 * try (HttpAdapter http = HttpAdapter.builder(runtime).port(8787).secretKeys(secret).start()) {
 *   String token = http.mintSessionToken("chat-1");
 * }
 * }</pre>
 *
 * <p>Threads: Jetty's pool of named daemon threads ({@code durablechat-http-N}, at most {@link
 * Builder#maxThreads}) runs the request/response routes; an open SSE stream holds none. Errors that
 * Jetty answers itself (headers over {@link Builder#maxHeaderBytes}, a malformed request) get a
 * JSON body and CORS headers like every other answer. {@link #close()} ends the open streams and
 * stops the server; the runtime and the engine stay open.
 */
public final class HttpAdapter implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(HttpAdapter.class);

  private final Server server;
  private final ServerConnector connector;
  private final SessionsServlet servlet;
  private volatile boolean closed;

  private HttpAdapter(Builder b) throws Exception {
    this.servlet = b.servlet.build();
    var pool = new QueuedThreadPool(b.maxThreads, Math.min(4, b.maxThreads));
    pool.setName("durablechat-http");
    pool.setDaemon(true);
    this.server = new Server(pool);
    server.setErrorHandler(new JsonErrorHandler(servlet.origins()));
    // The streams are ended by the servlet first; no graceful wait for connections after that.
    server.setStopTimeout(0);
    var config = new HttpConfiguration();
    // Jetty's own limit sits above the servlet's, so that the servlet's JSON 431 answers first and
    // Jetty's (also JSON, through the error handler) only past twice the limit.
    config.setRequestHeaderSize((int) Math.min(Integer.MAX_VALUE, 2 * b.servlet.maxHeaderBytes));
    config.setSendServerVersion(false);
    // A chat id may hold any character, "/" and "%" included; the clients percent-encode it as one
    // path segment, and the router decodes that segment itself (S3). So the router, not Jetty,
    // judges a segment that is empty or whose escapes are not UTF-8: its JSON answer names the
    // segment, and the connection stays open (Jetty refuses such a path as a malformed request and
    // closes the connection with the request body unread, which can reset it before the client
    // has read the answer). A broken escape ("%zz") Jetty's parser still refuses itself.
    config.setUriCompliance(
        UriCompliance.DEFAULT.with(
            "durablechat-ids",
            UriCompliance.Violation.AMBIGUOUS_PATH_SEPARATOR,
            UriCompliance.Violation.AMBIGUOUS_PATH_ENCODING,
            UriCompliance.Violation.AMBIGUOUS_EMPTY_SEGMENT,
            UriCompliance.Violation.BAD_UTF8_ENCODING,
            UriCompliance.Violation.TRUNCATED_UTF8_ENCODING));
    config.setSendDateHeader(false);
    this.connector = new ServerConnector(server, 1, 1, new HttpConnectionFactory(config));
    connector.setHost(b.host);
    connector.setPort(b.port);
    connector.setAcceptQueueSize(b.backlog);
    // A stream writes at least a ping every ping interval; a write that makes no progress for
    // this long (a reader that stopped reading) ends its connection.
    connector.setIdleTimeout(Math.max(30_000, 2 * b.servlet.pingInterval.toMillis()));
    server.addConnector(connector);

    var context = new ServletContextHandler();
    context.setContextPath("/");
    context.getServletHandler().setDecodeAmbiguousURIs(true);
    var holder = new ServletHolder("durablechat-sessions", servlet);
    holder.setAsyncSupported(true);
    context.addServlet(holder, "/*");
    for (var route : b.routes.entrySet()) {
      var extra = new ServletHolder(route.getValue());
      extra.setAsyncSupported(true);
      context.addServlet(extra, route.getKey() + "/*");
      context.addFilter(
          new FilterHolder(corsFilter(servlet.origins())),
          route.getKey() + "/*",
          EnumSet.of(DispatcherType.REQUEST));
    }
    server.setHandler(context);
    try {
      server.start();
    } catch (Exception e) {
      try {
        server.stop();
      } catch (Exception ignored) {
        // it did not start
      }
      throw e;
    }
    // Its own origin: the pages of its extra routes (e.g. serve's chat page) call the routes.
    for (String origin : ownOrigins()) {
      servlet.allowOrigin(origin);
    }
    LOG.info("durablechat http listening on {}", baseUri());
  }

  /**
   * The origins of pages this server serves: the base URI's, and for a loopback or wildcard bind
   * also {@code localhost}'s.
   */
  private java.util.List<String> ownOrigins() {
    var origins = new java.util.ArrayList<String>();
    origins.add("http://" + baseUri().getRawAuthority());
    String host = connector.getHost();
    if (host == null
        || host.isEmpty()
        || host.equals("0.0.0.0")
        || host.equals("::")
        || host.startsWith("127.")
        || host.equals("localhost")) {
      origins.add("http://localhost:" + port());
      origins.add("http://127.0.0.1:" + port());
    }
    return origins;
  }

  /** A builder over the runtime; its engine ({@link AgentRuntime#chat()}) is served. */
  public static Builder builder(AgentRuntime runtime) {
    return new Builder(runtime);
  }

  /** The bound port (an ephemeral one when the builder asked for port 0). */
  public int port() {
    return connector.getLocalPort();
  }

  /** The base URI, e.g. {@code http://127.0.0.1:8787}. */
  public URI baseUri() {
    String host = connector.getHost();
    if (host == null || host.isEmpty()) {
      host = "127.0.0.1";
    } else if (host.equals("0.0.0.0") || host.equals("::")) {
      host = "127.0.0.1"; // bound everywhere: loopback is one of the places
    }
    if (host.contains(":")) {
      host = "[" + host + "]";
    }
    return URI.create("http://" + host + ":" + port());
  }

  /** The mounted servlet (e.g. to count its open streams). */
  public SessionsServlet servlet() {
    return servlet;
  }

  /**
   * A session token (T1: read and write scopes, the builder's time to live) for the session at the
   * address (its external id or friendly id, S3).
   *
   * @throws dev.durablechat.api.NoSuchSessionException if there is no session there
   */
  public String mintSessionToken(String sessionAddress) {
    return servlet.mintSessionToken(sessionAddress);
  }

  /** See {@link SessionsServlet#mintSessionToken(String, SessionTokens.Access, Duration)}. */
  public String mintSessionToken(String sessionAddress, SessionTokens.Access access, Duration ttl) {
    return servlet.mintSessionToken(sessionAddress, access, ttl);
  }

  /** The tokens the server verifies and mints (to mint elsewhere, or to rotate keys). */
  public SessionTokens tokens() {
    return servlet.tokens();
  }

  /** Ends the open SSE streams, stops the server and its threads. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    servlet.destroy();
    try {
      server.stop();
    } catch (Exception e) {
      LOG.warn("stopping the http server failed", e);
    }
  }

  /**
   * Extra routes get CORS too, for allowed origins only, and answer a preflight (403 without a
   * grant for a refused origin); the route itself decides what a refused origin may do.
   */
  private static Filter corsFilter(Origins origins) {
    return (request, response, chain) -> {
      var req = (HttpServletRequest) request;
      var resp = (HttpServletResponse) response;
      String origin = req.getHeader("Origin");
      boolean allowed = origins.allows(origin);
      resp.setHeader("Vary", "Origin");
      if (allowed) {
        var headers = new LinkedHashMap<String, String>();
        Exchanges.cors(origin, headers);
        headers.forEach(resp::setHeader);
      }
      if ("OPTIONS".equals(req.getMethod())) {
        if (!allowed) {
          resp.setStatus(403);
          return;
        }
        resp.setHeader("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        String requested = req.getHeader("Access-Control-Request-Headers");
        if (requested != null) {
          resp.setHeader("Access-Control-Allow-Headers", requested);
        }
        resp.setStatus(204);
        return;
      }
      chain.doFilter(request, response);
    };
  }

  /** Builds and starts an {@link HttpAdapter}. {@link #secretKeys} is required. */
  public static final class Builder {
    private final SessionsServlet.Builder servlet;
    private String host = "127.0.0.1";
    private int port = 8787;
    private final Map<String, HttpServlet> routes = new LinkedHashMap<>();
    private int maxThreads = 200;
    private int backlog = 1024;

    private Builder(AgentRuntime runtime) {
      this.servlet = SessionsServlet.builder(runtime);
    }

    /** The address to bind; default {@code 127.0.0.1}; {@code 0.0.0.0} binds every interface. */
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

    /** See {@link SessionsServlet.Builder#secretKeys}. */
    public Builder secretKeys(String... keys) {
      servlet.secretKeys(keys);
      return this;
    }

    /** See {@link SessionsServlet.Builder#tokenTtl}. */
    public Builder tokenTtl(Duration ttl) {
      servlet.tokenTtl(ttl);
      return this;
    }

    /** See {@link SessionsServlet.Builder#tokens}. */
    public Builder tokens(SessionTokens tokens) {
      servlet.tokens(tokens);
      return this;
    }

    /** See {@link SessionsServlet.Builder#maxTokenTtl}. */
    public Builder maxTokenTtl(Duration max) {
      servlet.maxTokenTtl(max);
      return this;
    }

    /** See {@link SessionsServlet.Builder#clockSkew}. */
    public Builder clockSkew(Duration skew) {
      servlet.clockSkew(skew);
      return this;
    }

    /** See {@link SessionsServlet.Builder#tokenAlgorithms}. */
    public Builder tokenAlgorithms(String... names) {
      servlet.tokenAlgorithms(names);
      return this;
    }

    /**
     * See {@link SessionsServlet.Builder#allowedOrigins}. The adapter also allows its own origin
     * (its base URI's, and {@code localhost}'s on a loopback bind), for the pages of its extra
     * {@link #route}s.
     */
    public Builder allowedOrigins(String... origins) {
      servlet.allowedOrigins(origins);
      return this;
    }

    /** See {@link SessionsServlet.Builder#maxBodyBytes}. */
    public Builder maxBodyBytes(int bytes) {
      servlet.maxBodyBytes(bytes);
      return this;
    }

    /** See {@link SessionsServlet.Builder#maxReadersPerSession}. */
    public Builder maxReadersPerSession(int readers) {
      servlet.maxReadersPerSession(readers);
      return this;
    }

    /** See {@link SessionsServlet.Builder#appendRateLimit}. */
    public Builder appendRateLimit(int permits, Duration window) {
      servlet.appendRateLimit(permits, window);
      return this;
    }

    /** See {@link SessionsServlet.Builder#clock}. */
    public Builder clock(Clock clock) {
      servlet.clock(clock);
      return this;
    }

    /** See {@link SessionsServlet.Builder#environmentId}. */
    public Builder environmentId(String environmentId) {
      servlet.environmentId(environmentId);
      return this;
    }

    /** See {@link SessionsServlet.Builder#pingInterval}. */
    public Builder pingInterval(Duration pingInterval) {
      servlet.pingInterval(pingInterval);
      return this;
    }

    /** See {@link SessionsServlet.Builder#readerBufferBytes}. */
    public Builder readerBufferBytes(int bytes) {
      servlet.readerBufferBytes(bytes);
      return this;
    }

    /** See {@link SessionsServlet.Builder#stalledReaderTimeout}. */
    public Builder stalledReaderTimeout(Duration timeout) {
      servlet.stalledReaderTimeout(timeout);
      return this;
    }

    /** See {@link SessionsServlet.Builder#maxHeaderBytes}. */
    public Builder maxHeaderBytes(long bytes) {
      servlet.maxHeaderBytes(bytes);
      return this;
    }

    /**
     * An extra servlet under the path prefix (e.g. a chat page), served next to the wire routes,
     * with CORS headers added.
     */
    public Builder route(String pathPrefix, HttpServlet handler) {
      if (pathPrefix == null || !pathPrefix.startsWith("/") || pathPrefix.endsWith("/")) {
        throw new IllegalArgumentException(
            "route prefix [" + pathPrefix + "] must start with [/] and not end with it");
      }
      routes.put(pathPrefix, Objects.requireNonNull(handler, "handler must not be null"));
      return this;
    }

    /**
     * The most request threads at once (default 200). Open SSE streams hold none; the threads run
     * request/response routes and the writes that a connection asks for.
     */
    public Builder maxThreads(int maxThreads) {
      if (maxThreads < 8) {
        throw new IllegalArgumentException(
            "max threads must be at least 8, got [" + maxThreads + "]");
      }
      this.maxThreads = maxThreads;
      return this;
    }

    /** How many connections may wait to be accepted (default 1024). */
    public Builder backlog(int backlog) {
      if (backlog < 1) {
        throw new IllegalArgumentException("backlog must be positive, got [" + backlog + "]");
      }
      this.backlog = backlog;
      return this;
    }

    /**
     * Starts the server.
     *
     * @throws java.io.UncheckedIOException when the address cannot be bound (cause: a {@link
     *     BindException})
     */
    public HttpAdapter start() {
      try {
        return new HttpAdapter(this);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(
            "could not bind the http adapter to [" + host + ":" + port + "]", e);
      } catch (RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new IllegalStateException("could not start the http adapter: " + e.getMessage(), e);
      }
    }
  }
}
