package dev.durablechat.http;

import com.sun.net.httpserver.HttpExchange;
import dev.durablechat.api.DurableChatException;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.Session;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.core.DurableChat;
import dev.durablechat.core.TailItem;
import dev.durablechat.http.Tokens.Principal;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /realtime/v1/sessions/{id}/out}: the session's {@code out} stream as SSE v2 batches
 * (http.md §1, W6, W7). Each open stream holds one server thread for its life (the JDK server's
 * handlers are blocking); it waits on a queue that the engine's live tail fills, and wakes for
 * pings, for the idle timeout ({@code Timeout-Seconds}) and to look at the session's status, so
 * that a closed session ends its readers with a {@code session-closed} record.
 */
final class OutStreams {
  private static final Logger LOG = LoggerFactory.getLogger(OutStreams.class);

  /** Most records in one {@code batch} frame. */
  private static final int MAX_BATCH = 256;

  /** Demand asked of the live tail at a time (the queue holds at most about this many). */
  private static final int DEMAND = 512;

  private static final int DEFAULT_TIMEOUT_SECONDS = 60;
  private static final int MAX_TIMEOUT_SECONDS = 600;

  private final DurableChat chat;
  private @Nullable Routes routes;
  private final Tokens tokens;
  private final Duration pingInterval;
  private final Duration statusInterval;
  private final Clock clock;
  private final Set<Stream> open = ConcurrentHashMap.newKeySet();
  private volatile boolean closing;

  OutStreams(
      DurableChat chat,
      @Nullable Routes routes,
      Tokens tokens,
      Duration pingInterval,
      Duration statusInterval,
      Clock clock) {
    this.clock = clock;
    this.chat = chat;
    this.routes = routes;
    this.tokens = tokens;
    this.pingInterval = pingInterval;
    this.statusInterval = statusInterval;
  }

  /** Set once at start (the routes and the streams know each other). */
  void routes(Routes routes) {
    this.routes = routes;
  }

  /** How many streams are open now. */
  int openCount() {
    return open.size();
  }

  /** Wakes the session's open streams to look at its status now (e.g. after a close). */
  void wake(String sessionId) {
    for (Stream s : open) {
      if (s.sessionId.equals(sessionId)) {
        s.queue.offer(WAKE);
      }
    }
  }

  /** Ends every open stream (adapter close). */
  void closeAll() {
    closing = true;
    for (Stream s : open) {
      s.queue.offer(STOP);
    }
  }

  /** Serves one SSE request on the calling (server) thread until the stream ends. */
  void serve(HttpExchange exchange, Principal principal, String address) throws IOException {
    Session session = Objects.requireNonNull(routes).authorize(principal, address, "read");
    String sessionId = session.friendlyId();
    long after = startAfter(exchange, sessionId);
    int timeoutSeconds = timeoutSeconds(Exchanges.header(exchange, "Timeout-Seconds"));
    boolean peek = isTrue(Exchanges.header(exchange, "X-Peek-Settled"));
    long last = chat.lastEventId(sessionId, StreamKind.OUT);
    boolean settled = !session.isActive(now()) || endsTurn(sessionId, last);

    Exchanges.cors(exchange);
    var h = exchange.getResponseHeaders();
    h.set("Content-Type", "text/event-stream; charset=utf-8");
    h.set("Cache-Control", "no-cache, no-transform");
    h.set("X-Accel-Buffering", "no");
    h.set("X-Stream-Version", "v2");
    h.set("X-Session-Settled", Boolean.toString(settled));
    exchange.sendResponseHeaders(200, 0);
    var stream = new Stream(sessionId, Routes.tokenKey(session), exchange.getResponseBody());
    open.add(stream);
    try {
      if (closing) {
        return;
      }
      if (peek && settled) {
        stream.drainStored(after, last);
        return;
      }
      stream.follow(after, timeoutSeconds);
    } catch (IOException e) {
      LOG.debug("session [{}] out: reader went away ({})", sessionId, e.toString());
    } finally {
      open.remove(stream);
      stream.cancel();
      try {
        exchange.close();
      } catch (RuntimeException e) {
        // the connection is gone already
      }
    }
  }

  private Instant now() {
    return clock.instant();
  }

  /**
   * Where reading starts (W7): after Last-Event-ID, or at the tail for {@code
   * X-Trigger-Stream-Start: latest}.
   */
  private long startAfter(HttpExchange exchange, String sessionId) {
    String lastEventId = Exchanges.header(exchange, "Last-Event-ID");
    if (lastEventId != null && !lastEventId.isEmpty()) {
      return DurableChat.parseLastEventId(lastEventId);
    }
    if ("latest".equalsIgnoreCase(Exchanges.header(exchange, "X-Trigger-Stream-Start"))) {
      return chat.lastEventId(sessionId, StreamKind.OUT);
    }
    return 0;
  }

  /** Timeout-Seconds: 1–600, default 60; out-of-range values are clamped, garbage means default. */
  static int timeoutSeconds(@Nullable String header) {
    if (header == null || header.isEmpty()) {
      return DEFAULT_TIMEOUT_SECONDS;
    }
    try {
      long n = Long.parseLong(header);
      return (int) Math.max(1, Math.min(MAX_TIMEOUT_SECONDS, n));
    } catch (NumberFormatException e) {
      return DEFAULT_TIMEOUT_SECONDS;
    }
  }

  private static boolean isTrue(@Nullable String header) {
    return header != null && (header.equals("1") || header.equalsIgnoreCase("true"));
  }

  /** Whether the newest record is a turn-complete: nothing is in flight (X-Peek-Settled). */
  private boolean endsTurn(String sessionId, long last) {
    if (last < 1) {
      return false;
    }
    List<StreamRecord<OutEvent>> newest = chat.readOut(sessionId, last - 1, 1);
    return !newest.isEmpty()
        && newest.get(0).eventId() == last
        && newest.get(0).event() instanceof OutEvent.TurnComplete;
  }

  private static final Object WAKE = new Object();
  private static final Object STOP = new Object();

  private record Failed(Throwable error) {}

  /** One open SSE response. */
  private final class Stream implements Flow.Subscriber<TailItem<OutEvent>> {
    final String sessionId;
    final String tokenKey;
    final OutputStream out;
    final BlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    volatile Flow.@Nullable Subscription subscription;
    long lastSent;
    int sinceRequest;

    /** The session was seen closed while records were still due: look again after each batch. */
    boolean closeSeen;

    Stream(String sessionId, String tokenKey, OutputStream out) {
      this.sessionId = sessionId;
      this.tokenKey = tokenKey;
      this.out = out;
    }

    /** X-Peek-Settled on a settled session: what is left, then the close notice if closed. */
    void drainStored(long after, long last) throws IOException {
      lastSent = after;
      writeStored(last);
      Session s = chat.session(sessionId);
      if (!s.isActive(now())) {
        writeClosed(s);
      }
    }

    /**
     * Sends the stored records after {@code lastSent} up to {@code upTo}, read from the store in
     * pages, so that what is stored already goes out in full batches.
     */
    private void writeStored(long upTo) throws IOException {
      while (lastSent < upTo) {
        List<StreamRecord<OutEvent>> records = chat.readOut(sessionId, lastSent, MAX_BATCH);
        long before = lastSent;
        var items = new ArrayList<Object>(records.size());
        records.forEach(r -> items.add(new TailItem.Event<>(r)));
        writeBatch(items);
        if (records.size() < MAX_BATCH || lastSent == before) {
          return;
        }
      }
    }

    void follow(long after, int timeoutSeconds) throws IOException {
      lastSent = after;
      // Catch up from the store first (full batches), then follow live from where that ended.
      writeStored(Long.MAX_VALUE);
      chat.subscribeOut(sessionId, lastSent).subscribe(this);
      long timeoutNanos = TimeUnit.SECONDS.toNanos(timeoutSeconds);
      long now = System.nanoTime();
      long idleDeadline = now + timeoutNanos;
      long nextPing = now + pingInterval.toNanos();
      // The first look at the status comes at once: a closed session's reader need not wait.
      long nextStatus = now;
      var batch = new ArrayList<Object>();
      while (true) {
        long wait = Math.min(idleDeadline, Math.min(nextPing, nextStatus)) - System.nanoTime();
        Object first;
        try {
          first = queue.poll(Math.max(0, wait), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
        boolean checkStatus = false;
        if (first != null) {
          batch.clear();
          batch.add(first);
          queue.drainTo(batch, MAX_BATCH - 1);
          var records = new ArrayList<Object>(batch.size());
          for (Object item : batch) {
            if (item == STOP) {
              return;
            } else if (item == WAKE) {
              checkStatus = true;
            } else if (item instanceof Failed f) {
              writeError(f.error());
              return;
            } else {
              records.add(item);
            }
          }
          if (!records.isEmpty() && writeBatch(records)) {
            idleDeadline = System.nanoTime() + timeoutNanos;
            checkStatus |= closeSeen;
          }
          requestMore(records.size());
        }
        now = System.nanoTime();
        if (now - nextPing >= 0) {
          writePing();
          nextPing = now + pingInterval.toNanos();
        }
        if (checkStatus || now - nextStatus >= 0) {
          nextStatus = now + statusInterval.toNanos();
          if (queue.isEmpty() && closedAndSeen()) {
            return;
          }
        }
        if (now - idleDeadline >= 0 && queue.isEmpty()) {
          write("data: [DONE]\n\n");
          return;
        }
      }
    }

    /** If the session is closed and this reader has every record, sends session-closed. */
    private boolean closedAndSeen() throws IOException {
      Session s = chat.session(sessionId);
      if (s.isActive(now())) {
        return false;
      }
      if (lastSent < chat.lastEventId(sessionId, StreamKind.OUT)) {
        closeSeen = true;
        return false;
      }
      writeClosed(s);
      return true;
    }

    private void requestMore(int consumed) {
      sinceRequest += consumed;
      Flow.Subscription sub = subscription;
      if (sub != null && sinceRequest >= DEMAND / 2) {
        sub.request(sinceRequest);
        sinceRequest = 0;
      }
    }

    /** Writes one batch frame; false if it held no record (only trim notices). */
    private boolean writeBatch(List<Object> items) throws IOException {
      var records = new ArrayList<JsonValue>(items.size());
      long lastTimestamp = 0;
      for (Object item : items) {
        if (item instanceof TailItem.Event<?> e) {
          @SuppressWarnings("unchecked")
          StreamRecord<OutEvent> r = (StreamRecord<OutEvent>) e.record();
          if (r.eventId() <= lastSent) {
            continue; // never repeat a record (invariant 4)
          }
          records.add(wireRecord(r));
          lastSent = r.eventId();
          lastTimestamp = r.createdAt().toEpochMilli();
        } else if (item instanceof TailItem.Moved<?> m) {
          // H5: the bookmark was trimmed; the client resumes at the first kept record.
          LOG.debug(
              "session [{}] out: reader moved from [{}] to [{}]",
              sessionId,
              m.fromEventId(),
              m.toEventId());
        }
      }
      if (records.isEmpty()) {
        return false;
      }
      writeFrame(records, lastTimestamp);
      return true;
    }

    private void writeFrame(List<JsonValue> records, long lastTimestamp) throws IOException {
      JsonObject data =
          JsonObject.builder()
              .put("records", JsonArray.of(records))
              .put(
                  "tail",
                  JsonObject.builder()
                      .put("seq_num", lastSent + 1)
                      .put("timestamp", Math.max(lastTimestamp, System.currentTimeMillis()))
                      .build())
              .build();
      write("event: batch\ndata: " + Json.write(data) + "\n\n");
    }

    /** The synthesized session-closed control record: our out stream stores none (http.md §1). */
    private void writeClosed(Session s) throws IOException {
      String reason =
          s.closedReason() != null ? s.closedReason() : s.closedAt() == null ? "expired" : "closed";
      // One past the last stored record, the same on every connection: no stored record can take
      // it, since a closed session takes no more appends.
      long seq = chat.lastEventId(sessionId, StreamKind.OUT) + 1;
      long now = System.currentTimeMillis();
      JsonObject record =
          JsonObject.builder()
              .put("seq_num", seq)
              .put("timestamp", now)
              .put(
                  "headers",
                  JsonArray.of(
                      header("trigger-control", "session-closed"),
                      header("session-closed-reason", reason)))
              .put("body", "")
              .build();
      lastSent = Math.max(lastSent, seq);
      writeFrame(List.of(record), now);
    }

    private JsonObject wireRecord(StreamRecord<OutEvent> r) {
      var b =
          JsonObject.builder()
              .put("seq_num", r.eventId())
              .put("timestamp", r.createdAt().toEpochMilli());
      OutEvent event = r.event();
      if (event instanceof OutEvent.Chunk c) {
        // The clients drop a record whose id they saw before: a chunk without a part id gets one
        // that is stable across reconnects (the session and the event id).
        String id = c.partId() != null ? c.partId() : sessionId + ":" + r.eventId();
        String body =
            Json.write(JsonObject.builder().put("data", c.chunk().json()).put("id", id).build());
        return b.put("headers", JsonArray.of()).put("body", body).build();
      }
      var headers = new ArrayList<JsonValue>();
      if (event instanceof OutEvent.TurnComplete tc) {
        headers.add(header("trigger-control", "turn-complete"));
        headers.add(header("session-in-event-id", Long.toString(tc.lastDispatchedInEventId())));
        headers.add(header("public-access-token", tokens.mint(tokenKey)));
      } else if (event instanceof OutEvent.UpgradeRequired) {
        headers.add(header("trigger-control", "upgrade-required"));
      }
      return b.put("headers", JsonArray.of(headers)).put("body", "").build();
    }

    private void writePing() throws IOException {
      write("event: ping\ndata: {\"timestamp\":" + System.currentTimeMillis() + "}\n\n");
    }

    private void writeError(Throwable error) throws IOException {
      String message =
          error instanceof DurableChatException && error.getMessage() != null
              ? error.getMessage()
              : "stream failed";
      write(
          "event: error\ndata: "
              + Json.write(JsonObject.builder().put("error", message).build())
              + "\n\n");
    }

    private void write(String text) throws IOException {
      out.write(text.getBytes(StandardCharsets.UTF_8));
      out.flush();
    }

    void cancel() {
      Flow.Subscription sub = subscription;
      if (sub != null) {
        sub.cancel();
      }
    }

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
      this.subscription = subscription;
      subscription.request(DEMAND);
    }

    @Override
    public void onNext(TailItem<OutEvent> item) {
      queue.offer(item);
    }

    @Override
    public void onError(Throwable throwable) {
      queue.offer(new Failed(throwable));
    }

    @Override
    public void onComplete() {
      queue.offer(STOP);
    }
  }

  private static JsonArray header(String name, String value) {
    return JsonArray.of(JsonValue.of(name), JsonValue.of(value));
  }
}
