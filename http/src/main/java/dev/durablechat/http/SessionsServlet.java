package dev.durablechat.http;

import dev.durablechat.agent.AgentRuntime;
import dev.durablechat.api.Session;
import dev.durablechat.core.DurableChat;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletMapping;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.MappingMatch;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Sessions routes of an {@link AgentRuntime} as a Jakarta Servlet 6.0 servlet, for the server
 * you already run (Jetty, Tomcat, Undertow, Spring MVC's embedded container): the {@code out}
 * stream as SSE, {@code in/append}, session create and close, and token claims, speaking the
 * Sessions wire protocol (v2) of the published chat clients, with CORS on every response.
 *
 * <p>Mount it with async support on, at the root of a path prefix, e.g. on Jetty 12:
 *
 * <pre>{@code
 * SessionsServlet sessions = SessionsServlet.builder(runtime).secretKeys(secret).build();
 * ServletHolder holder = new ServletHolder(sessions);
 * holder.setAsyncSupported(true);
 * context.addServlet(holder, "/chat/*"); // the clients' baseURL is then http://host:port/chat
 * }</pre>
 *
 * <p>or with {@code ServletContext.addServlet("sessions", sessions)} and {@code
 * setAsyncSupported(true)} on the registration. {@link HttpAdapter} runs it on an embedded Jetty of
 * its own.
 *
 * <p>Threads: an open {@code out} stream holds no thread. Its records are written with non-blocking
 * I/O ({@link WriteListener}) from a bounded per-reader buffer; a reader that stops reading is
 * dropped with a log line once its buffer stays full (see {@link Builder#readerBufferBytes}). The
 * request/response routes run on the container's request thread. {@link #destroy()} ends the open
 * streams; the runtime and the engine stay open.
 */
public final class SessionsServlet extends HttpServlet {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(SessionsServlet.class);

  private final transient DurableChat chat;
  private final transient SessionTokens tokens;
  private final transient Origins origins;
  private final transient OutStreams streams;
  private final transient Router router;

  private SessionsServlet(Builder b) {
    this.chat = b.runtime.chat();
    this.tokens = b.tokens != null ? b.tokens : b.tokenSettings(chat.environment()).build();
    this.origins = new Origins();
    b.allowedOrigins.forEach(origins::allow);
    Routes routes =
        new Routes(
            b.runtime,
            tokens,
            chat.maxAppendBytes(),
            b.maxBodyBytes > 0 ? b.maxBodyBytes : chat.maxAppendBytes(),
            new RateLimiter(b.appendPermits, b.appendWindow));
    this.streams =
        new OutStreams(
            chat,
            routes,
            tokens,
            b.pingInterval,
            b.statusInterval,
            b.stalledReaderTimeout,
            b.readerBufferBytes,
            b.maxReadersPerSession,
            b.clock);
    routes.streams(streams);
    this.router = new Router(tokens, routes, streams, b.maxHeaderBytes, origins, chat.telemetry());
  }

  /** A builder over the runtime; its engine ({@link AgentRuntime#chat()}) is served. */
  public static Builder builder(AgentRuntime runtime) {
    return new Builder(runtime);
  }

  /**
   * A session token (T1: read and write scopes, the builder's time to live) for the session at the
   * address (its external id or friendly id, S3).
   *
   * @throws dev.durablechat.api.NoSuchSessionException if there is no session there
   */
  public String mintSessionToken(String sessionAddress) {
    return mintSessionToken(sessionAddress, SessionTokens.Access.READ_WRITE, tokens.defaultTtl());
  }

  /**
   * A session token of the given access and lifetime for the session at the address (T1, T3).
   *
   * @throws dev.durablechat.api.NoSuchSessionException if there is no session there
   * @throws IllegalArgumentException for a lifetime over {@link SessionTokens#maxTtl()}
   */
  public String mintSessionToken(
      String sessionAddress, SessionTokens.Access access, java.time.Duration ttl) {
    Session session = chat.session(sessionAddress);
    return tokens.mint(Routes.tokenKey(session), access, ttl);
  }

  /**
   * The tokens this servlet verifies and mints: to mint elsewhere, or to {@link
   * SessionTokens#rotate}.
   */
  public SessionTokens tokens() {
    return tokens;
  }

  /** The browser origins allowed now, normalized ({@code scheme://host[:port]}). */
  public java.util.Set<String> allowedOrigins() {
    return origins.allowed();
  }

  /** Allows one more origin (the adapter adds its own once it knows its port). */
  void allowOrigin(String origin) {
    origins.allow(origin);
  }

  /** The origin policy, for answers the container makes itself. */
  Origins origins() {
    return origins;
  }

  /** How many {@code out} streams are open now. */
  public int openStreams() {
    return streams.openCount();
  }

  /** The out streams (tests look at a session's hub). */
  OutStreams outStreams() {
    return streams;
  }

  /**
   * Graceful shutdown, first step: from now on every request but a CORS preflight is answered 503
   * {@code shutting_down} with {@code Retry-After: 1} (the clients retry a 503; behind a load
   * balancer the retry reaches a node that stays). Open {@code out} streams keep streaming, so the
   * turns in flight reach their readers ({@link AgentRuntime#awaitTurns}). Cannot be undone.
   */
  public void stopAccepting() {
    router.stopAccepting();
  }

  /**
   * Graceful shutdown, last step: ends every open {@code out} stream after what it buffered and an
   * SSE {@code retry} field with the delay, without {@code [DONE]}, so its client reconnects (to
   * another node) and resumes from its last event id.
   */
  public void closeStreams(Duration retryHint) {
    Objects.requireNonNull(retryHint, "retry hint must not be null");
    streams.finishAll(Math.max(0, retryHint.toMillis()));
  }

  /** Ends the open streams (without {@code [DONE]}: the clients reconnect elsewhere). */
  @Override
  public void destroy() {
    streams.closeAll();
  }

  @Override
  protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    ServletExchange exchange = new ServletExchange(req);
    Router.Answer answer = router.handle(exchange);
    if (answer instanceof Router.Whole whole) {
      write(resp, whole.reply());
    } else if (answer instanceof Router.Streaming streaming) {
      stream(req, resp, streaming.stream());
    }
  }

  private static void write(HttpServletResponse resp, Reply reply) throws IOException {
    resp.setStatus(reply.status());
    reply.headers().forEach(resp::setHeader);
    if (reply.body().length == 0) {
      return;
    }
    resp.setContentLength(reply.body().length);
    try (OutputStream out = resp.getOutputStream()) {
      out.write(reply.body());
    }
  }

  private void stream(HttpServletRequest req, HttpServletResponse resp, OutStreams.Stream stream)
      throws IOException {
    if (!req.isAsyncSupported()) {
      stream.finish();
      LOG.error(
          "session out streams need async support: register the servlet with"
              + " setAsyncSupported(true)");
      write(
          resp,
          Reply.error(
              new ServletExchange(req),
              HttpError.of(500, "internal", "the servlet is mounted without async support")));
      return;
    }
    resp.setStatus(200);
    stream.headers().forEach(resp::setHeader);
    AsyncContext async = req.startAsync();
    async.setTimeout(0); // the stream ends itself (Timeout-Seconds), not the container
    ServletOutputStream out = resp.getOutputStream();
    var sink = new ServletSink(async, out);
    async.addListener(
        new AsyncListener() {
          @Override
          public void onComplete(AsyncEvent event) {
            stream.onConnectionError(new IOException("response completed"));
          }

          @Override
          public void onTimeout(AsyncEvent event) {
            stream.onConnectionError(new IOException("async timeout"));
            sink.end();
          }

          @Override
          public void onError(AsyncEvent event) {
            Throwable t = event.getThrowable();
            stream.onConnectionError(t != null ? t : new IOException("connection error"));
            // Completed here, inside the listener: otherwise the container makes an error
            // dispatch (Tomcat: to the application's error page, which cannot write a body into
            // an event stream).
            sink.end();
          }

          @Override
          public void onStartAsync(AsyncEvent event) {}
        });
    out.setWriteListener(
        new WriteListener() {
          @Override
          public void onWritePossible() {
            stream.onWritable();
          }

          @Override
          public void onError(Throwable t) {
            stream.onConnectionError(t);
            // Ended here too: a failed write does not end the request by itself, and the
            // container would hold the dead connection (and its socket) until it idles out.
            sink.end();
          }
        });
    stream.attach(sink);
  }

  /** The servlet's response as a stream's sink: non-blocking writes. */
  private static final class ServletSink implements OutStreams.Sink {
    private final AsyncContext async;
    private final ServletOutputStream out;
    private volatile boolean ended;

    ServletSink(AsyncContext async, ServletOutputStream out) {
      this.async = async;
      this.out = out;
    }

    @Override
    public boolean ready() {
      return !ended && out.isReady();
    }

    @Override
    public void write(byte[] bytes) throws IOException {
      out.write(bytes);
    }

    @Override
    public void flush() throws IOException {
      out.flush();
    }

    @Override
    public void complete() {
      end();
    }

    @Override
    public void abort() {
      // The servlet API has no portable abort: completing releases the request at once; the
      // container closes the connection when its unsent write times out.
      end();
    }

    void end() {
      if (!ended) {
        ended = true;
        try {
          async.complete();
        } catch (IllegalStateException e) {
          // completed already (the connection failed first)
        }
      }
    }
  }

  /** A servlet request as the router sees it. */
  private static final class ServletExchange implements Exchange {
    private final HttpServletRequest req;

    ServletExchange(HttpServletRequest req) {
      this.req = req;
    }

    @Override
    public String method() {
      return req.getMethod();
    }

    @Override
    public String rawPath() {
      String uri = req.getRequestURI();
      String context = req.getContextPath();
      String path =
          context != null && uri.startsWith(context) ? uri.substring(context.length()) : uri;
      HttpServletMapping mapping = req.getHttpServletMapping();
      if (mapping != null && mapping.getMappingMatch() == MappingMatch.PATH) {
        String pattern = mapping.getPattern(); // "/prefix/*"
        String prefix = pattern.substring(0, pattern.length() - 2);
        if (path.startsWith(prefix)) {
          path = path.substring(prefix.length());
        }
      }
      return path.isEmpty() ? "/" : path;
    }

    @Override
    public @Nullable String rawQuery() {
      return req.getQueryString();
    }

    @Override
    public @Nullable String header(String name) {
      return req.getHeader(name);
    }

    @Override
    public long headerBytes() {
      long total = 0;
      Enumeration<String> names = req.getHeaderNames();
      while (names.hasMoreElements()) {
        String name = names.nextElement();
        Enumeration<String> values = req.getHeaders(name);
        while (values.hasMoreElements()) {
          total += name.length() + values.nextElement().length() + 4; // ": " and CRLF
        }
      }
      return total;
    }

    @Override
    public InputStream body() throws IOException {
      return req.getInputStream();
    }
  }

  /**
   * The fewest bytes (UTF-8) a secret key may have: an HMAC key shorter than this is guessable
   * offline from one token. {@code openssl rand -base64 32} makes a good one.
   */
  public static final int MIN_SECRET_KEY_BYTES = SessionTokens.MIN_SECRET_KEY_BYTES;

  /**
   * Builds a {@link SessionsServlet}. {@link #secretKeys} (or {@link #tokens}) is required.
   *
   * <p>Limits and their defaults (T4, docs/http.md "Security"): headers 16 KiB ({@link
   * #maxHeaderBytes}, 431); bodies the engine's append cap, 512 KiB by default ({@link
   * #maxBodyBytes}, 413); 100 concurrent {@code out} readers per session ({@link
   * #maxReadersPerSession}, 429); 20 appends per 10 s per session token ({@link #appendRateLimit},
   * 429 with {@code Retry-After}); no browser origin ({@link #allowedOrigins}, 403).
   */
  public static final class Builder {
    final AgentRuntime runtime;
    final List<String> secretKeys = new ArrayList<>();
    @Nullable Duration tokenTtl;
    @Nullable Duration maxTokenTtl;
    @Nullable Duration clockSkew;
    String @Nullable [] algorithms;
    @Nullable SessionTokens tokens;
    Clock clock = Clock.systemUTC();
    @Nullable String environmentId;
    final List<String> allowedOrigins = new ArrayList<>();
    int maxBodyBytes;
    int maxReadersPerSession = 100;
    int appendPermits = 20;
    Duration appendWindow = Duration.ofSeconds(10);
    Duration pingInterval = Duration.ofSeconds(15);
    Duration statusInterval = Duration.ofSeconds(1);
    Duration stalledReaderTimeout = Duration.ofSeconds(30);
    int readerBufferBytes = 1024 * 1024;
    long maxHeaderBytes = 16 * 1024;

    private Builder(AgentRuntime runtime) {
      this.runtime = Objects.requireNonNull(runtime, "runtime must not be null");
    }

    /**
     * The environment's secret keys (required): the first signs new tokens; every one verifies
     * tokens and is accepted as a bearer (key rotation). Each must have at least {@link
     * SessionsServlet#MIN_SECRET_KEY_BYTES} bytes.
     *
     * @throws IllegalArgumentException for a blank key or one too short to sign safely; the message
     *     never holds the key
     */
    public Builder secretKeys(String... keys) {
      for (String key : keys) {
        SessionTokens.checkKey(key);
      }
      // All or nothing: a refused key leaves the builder as it was.
      secretKeys.addAll(List.of(keys));
      return this;
    }

    /**
     * Tokens built elsewhere (shared with the application server that mints them, or rotated
     * there), instead of {@link #secretKeys} and the other token options.
     */
    public Builder tokens(SessionTokens tokens) {
      this.tokens = Objects.requireNonNull(tokens, "tokens must not be null");
      return this;
    }

    /** How long a minted session token lives (T1); default one hour. */
    public Builder tokenTtl(Duration ttl) {
      this.tokenTtl = positive(ttl, "token ttl");
      return this;
    }

    /** See {@link SessionTokens.Builder#maxTokenTtl}; default 24 hours. */
    public Builder maxTokenTtl(Duration max) {
      this.maxTokenTtl = positive(max, "max token ttl");
      return this;
    }

    /** See {@link SessionTokens.Builder#clockSkew}; default 30 s. */
    public Builder clockSkew(Duration skew) {
      if (skew.isNegative()) {
        throw new IllegalArgumentException("clock skew [" + skew + "] must not be negative");
      }
      this.clockSkew = skew;
      return this;
    }

    /** See {@link SessionTokens.Builder#algorithms}; default {@code HS256} only. */
    public Builder tokenAlgorithms(String... names) {
      SessionTokens.builder().algorithms(names); // checks them now
      this.algorithms = names.clone();
      return this;
    }

    /**
     * The browser origins ({@code scheme://host[:port]}) whose pages may call the routes (T4);
     * default none. A request naming another origin is refused with 403 and no CORS grant, its
     * preflight too; requests without an {@code Origin} header (servers, Node) are not affected.
     *
     * @throws IllegalArgumentException for a value that is not an origin (a path, a wildcard)
     */
    public Builder allowedOrigins(String... origins) {
      var checked = new ArrayList<String>();
      for (String o : origins) {
        checked.add(Origins.normalize(o));
      }
      allowedOrigins.addAll(checked);
      return this;
    }

    /**
     * The largest request body of the session routes other than {@code in/append} (whose cap is the
     * engine's, W4); default the engine's append cap (512 KiB unless set there). 413 past it.
     */
    public Builder maxBodyBytes(int bytes) {
      if (bytes < 1024) {
        throw new IllegalArgumentException(
            "max body bytes must be at least 1024, got [" + bytes + "]");
      }
      this.maxBodyBytes = bytes;
      return this;
    }

    /**
     * The most {@code out} readers one session may have open at once (T4); default 100. One more is
     * answered 429 with {@code Retry-After}.
     */
    public Builder maxReadersPerSession(int readers) {
      if (readers < 1) {
        throw new IllegalArgumentException(
            "max readers per session must be positive, got [" + readers + "]");
      }
      this.maxReadersPerSession = readers;
      return this;
    }

    /**
     * The appends one session token may make (T4): {@code permits} at once, refilled at {@code
     * permits} per {@code window}; default 20 per 10 s. One more is answered 429 with {@code
     * Retry-After} and stores nothing. The secret key is not limited.
     */
    public Builder appendRateLimit(int permits, Duration window) {
      if (permits < 1) {
        throw new IllegalArgumentException(
            "append rate limit permits must be positive, got [" + permits + "]");
      }
      this.appendWindow = positive(window, "append rate limit window");
      this.appendPermits = permits;
      return this;
    }

    /** The token options of this builder as tokens for the engine's environment. */
    SessionTokens.Builder tokenSettings(dev.durablechat.api.Environment environment) {
      var t =
          SessionTokens.builder()
              .secretKeys(secretKeys.toArray(String[]::new))
              .environmentId(
                  environmentId != null ? environmentId : SessionTokens.environmentId(environment))
              .clock(clock);
      if (tokenTtl != null) {
        t.tokenTtl(tokenTtl);
      }
      if (maxTokenTtl != null) {
        t.maxTokenTtl(maxTokenTtl);
      }
      if (clockSkew != null) {
        t.clockSkew(clockSkew);
      }
      if (algorithms != null) {
        t.algorithms(algorithms);
      }
      return t;
    }

    /** The clock for token times and session status; default UTC system clock. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock must not be null");
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
      this.pingInterval = positive(pingInterval, "ping interval");
      return this;
    }

    /**
     * How often the status of a session with open readers is read (one read per session, however
     * many readers), so that a session closed or expired elsewhere ends its readers; default 1 s.
     */
    public Builder statusInterval(Duration statusInterval) {
      this.statusInterval = positive(statusInterval, "status interval");
      return this;
    }

    /**
     * The most bytes buffered for one SSE reader; default 1 MiB. Past half of it, no more records
     * are read for that reader until it catches up; a reader whose buffer overflows, or stays over
     * half full with nothing written for {@link #stalledReaderTimeout}, is dropped with a log line.
     */
    public Builder readerBufferBytes(int bytes) {
      if (bytes < 4096) {
        throw new IllegalArgumentException(
            "reader buffer must be at least 4096 bytes, got [" + bytes + "]");
      }
      this.readerBufferBytes = bytes;
      return this;
    }

    /** How long a reader's full buffer may see no write before it is dropped; default 30 s. */
    public Builder stalledReaderTimeout(Duration timeout) {
      this.stalledReaderTimeout = positive(timeout, "stalled reader timeout");
      return this;
    }

    /**
     * The largest request header block answered (431 with a JSON body past it); default 16 KiB. The
     * container's own limit applies first (Jetty's default is 8 KiB; {@link HttpAdapter} sets it
     * above this one).
     */
    public Builder maxHeaderBytes(long bytes) {
      if (bytes < 1024) {
        throw new IllegalArgumentException(
            "max header bytes must be at least 1024, got [" + bytes + "]");
      }
      this.maxHeaderBytes = bytes;
      return this;
    }

    /** The servlet, ready to mount. */
    public SessionsServlet build() {
      if (tokens != null) {
        if (!secretKeys.isEmpty()
            || tokenTtl != null
            || maxTokenTtl != null
            || clockSkew != null
            || algorithms != null
            || environmentId != null) {
          throw new IllegalStateException(
              "sessions servlet takes either tokens(SessionTokens) or the token options"
                  + " (secretKeys, tokenTtl, maxTokenTtl, clockSkew, tokenAlgorithms,"
                  + " environmentId), not both");
        }
      } else if (secretKeys.isEmpty()) {
        throw new IllegalStateException("sessions servlet needs secretKeys(String...)");
      } else {
        // The token options fit together (a ttl over the max is refused here, not at start).
        tokenSettings(runtime.chat().environment()).build();
      }
      return new SessionsServlet(this);
    }

    private static Duration positive(Duration d, String what) {
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(what + " [" + d + "] must be positive");
      }
      return d;
    }
  }
}
