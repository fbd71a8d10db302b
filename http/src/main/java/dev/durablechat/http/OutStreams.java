package dev.durablechat.http;

import dev.durablechat.api.DurableChatException;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonString;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.Session;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.core.DurableChat;
import dev.durablechat.core.TailItem;
import dev.durablechat.http.SessionTokens.Principal;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /realtime/v1/sessions/{id}/out}: the session's {@code out} stream as SSE v2 batches
 * (docs/http.md, W6, W7), independent of any server. No thread is held by an open stream: records
 * arrive from the engine's live tail, frames go into the stream's bounded buffer, and the server
 * binding writes them out whenever its connection can take more ({@link Sink}, non-blocking). One
 * timer thread for all streams sends pings, ends streams idle for their {@code Timeout-Seconds},
 * looks at each session's status (so that a closed session ends its readers with a {@code
 * session-closed} record) and drops readers that stopped reading.
 *
 * <p>Back-pressure: a stream asks the tail for more records only while its buffer is under half
 * full, so a slow reader is fed at its own pace (from the store) rather than buffered without
 * bound. A reader whose buffer stays over half full with nothing written for {@code stallTimeout},
 * or whose buffer overflows, is dropped with a log line; the session's other readers are not
 * affected.
 */
final class OutStreams {
  private static final Logger LOG = LoggerFactory.getLogger(OutStreams.class);

  /** Most records in one {@code batch} frame. */
  private static final int MAX_BATCH = 256;

  /** Demand asked of the live tail at a time. */
  private static final int DEMAND = 64;

  private static final int DEFAULT_TIMEOUT_SECONDS = 60;
  private static final int MAX_TIMEOUT_SECONDS = 600;

  /** What a reader over the per-session cap is told to wait: the clients retry a 429. */
  private static final int READERS_RETRY_AFTER_SECONDS = 5;

  private final DurableChat chat;
  private final Routes routes;
  private final SessionTokens tokens;
  private final long pingNanos;
  private final long statusNanos;
  private final long stallNanos;
  private final int bufferBytes;
  private final int maxReadersPerSession;
  private final Clock clock;
  private final Set<Stream> open = ConcurrentHashMap.newKeySet();

  /** The open streams by session, for the status checks. */
  private final Map<String, Set<Stream>> bySession = new ConcurrentHashMap<>();

  private final Set<String> waking = ConcurrentHashMap.newKeySet();
  private final Map<String, Long> nextStatus = new ConcurrentHashMap<>();
  private final ScheduledExecutorService timer;
  private final ExecutorService[] laneThreads;
  private final int laneCount;
  private final Map<String, Hub> hubs = new ConcurrentHashMap<>();

  /** The session's shared tail of read-write readers, if it has one now (for tests). */
  @Nullable Hub hub(String sessionId) {
    return hubs.get(sessionId);
  }

  private volatile boolean closing;

  OutStreams(
      DurableChat chat,
      Routes routes,
      SessionTokens tokens,
      Duration pingInterval,
      Duration statusInterval,
      Duration stallTimeout,
      int bufferBytes,
      int maxReadersPerSession,
      Clock clock) {
    this.chat = chat;
    this.routes = routes;
    this.tokens = tokens;
    this.pingNanos = pingInterval.toNanos();
    this.statusNanos = statusInterval.toNanos();
    this.stallNanos = stallTimeout.toNanos();
    this.bufferBytes = bufferBytes;
    this.maxReadersPerSession = maxReadersPerSession;
    this.clock = clock;
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "durablechat-sse-timer");
              t.setDaemon(true);
              return t;
            });
    long tick =
        Math.max(
            TimeUnit.MILLISECONDS.toNanos(10),
            Math.min(Math.min(pingNanos, statusNanos), TimeUnit.SECONDS.toNanos(1)) / 4);
    timer.scheduleWithFixedDelay(this::sweep, tick, tick, TimeUnit.NANOSECONDS);
    // One lane per core: a hub with many readers hands its frames to these.
    this.laneCount = Math.max(2, Runtime.getRuntime().availableProcessors());
    this.laneThreads = new ExecutorService[laneCount];
    for (int i = 0; i < laneThreads.length; i++) {
      String name = "durablechat-sse-lane-" + i;
      laneThreads[i] =
          Executors.newSingleThreadExecutor(
              r -> {
                Thread t = new Thread(r, name);
                t.setDaemon(true);
                return t;
              });
    }
  }

  /** How many streams are open now. */
  int openCount() {
    return open.size();
  }

  /** Looks at the session's status now (e.g. after a close), for its open streams. */
  void wake(String sessionId) {
    // Coalesced: a burst of wakes (thousands of readers connecting) is one status read.
    if (!waking.add(sessionId)) {
      return;
    }
    try {
      timer.execute(
          () -> {
            waking.remove(sessionId);
            checkStatus(sessionId, System.nanoTime());
          });
    } catch (RejectedExecutionException e) {
      waking.remove(sessionId); // closing
    }
  }

  /**
   * Ends every open stream after an SSE {@code retry} field (the reconnection delay a client should
   * wait, graceful shutdown), without {@code [DONE]}; the streams opened later are refused by the
   * router meanwhile.
   */
  void finishAll(long retryMillis) {
    for (Stream s : open) {
      s.finish(retryMillis);
    }
  }

  /** Ends every open stream and stops the timer (server close). */
  void closeAll() {
    closing = true;
    for (Stream s : open) {
      s.finish();
    }
    timer.shutdownNow();
    for (ExecutorService lane : laneThreads) {
      lane.shutdown();
    }
    hubs.values().forEach(Hub::cancel);
  }

  /**
   * Opens the session's out stream for the request: checks access and reads where to start, then
   * catches up from the store. The answer's headers are for the binding to send before it attaches
   * a {@link Sink}.
   *
   * @throws HttpError when the request is refused (nothing is open then)
   */
  Stream open(Exchange exchange, Principal principal, String address) {
    Session session = routes.authorize(principal, address, "read");
    String sessionId = session.friendlyId();
    // The token a turn-complete hands out is never more than the reader's own (T3): a read-only
    // reader is refreshed with a read-only token.
    SessionTokens.Access access =
        principal.may("write", Routes.keys(session))
            ? SessionTokens.Access.READ_WRITE
            : SessionTokens.Access.READ_ONLY;
    Set<Stream> current = bySession.get(sessionId);
    if (current != null && current.size() >= maxReadersPerSession) {
      throw tooManyReaders(sessionId); // early, before the stream is read; checked again below
    }
    long after = startAfter(exchange, sessionId);
    int timeoutSeconds = timeoutSeconds(Exchanges.header(exchange, "Timeout-Seconds"));
    boolean peek = isTrue(Exchanges.header(exchange, "X-Peek-Settled"));
    long last = chat.lastEventId(sessionId, StreamKind.OUT);
    boolean settled = !session.isActive(now()) || endsTurn(sessionId, last);

    var headers = new LinkedHashMap<String, String>();
    Exchanges.cors(exchange, headers);
    headers.put("Content-Type", "text/event-stream; charset=utf-8");
    headers.put("Cache-Control", "no-cache, no-transform");
    headers.put("X-Accel-Buffering", "no");
    headers.put("X-Stream-Version", "v2");
    headers.put("X-Session-Settled", Boolean.toString(settled));
    var stream =
        new Stream(
            sessionId,
            Routes.tokenKey(session),
            access,
            headers,
            after,
            peek && settled ? last : Long.MAX_VALUE,
            TimeUnit.SECONDS.toNanos(timeoutSeconds));
    boolean[] admitted = new boolean[1];
    bySession.compute(
        sessionId,
        (id, set) -> {
          Set<Stream> streams = set != null ? set : ConcurrentHashMap.newKeySet();
          // T4: a cap on concurrent readers per session, counted and taken in one step.
          if (streams.size() < maxReadersPerSession) {
            streams.add(stream);
            admitted[0] = true;
          }
          return streams.isEmpty() ? null : streams;
        });
    if (!admitted[0]) {
      throw tooManyReaders(sessionId);
    }
    open.add(stream);
    chat.telemetry().readerOpened();
    if (closing) {
      stream.finish();
      return stream;
    }
    stream.start();
    if (session.isActive(now())) {
      // S12: an agent runtime on this node looks whether the session's run died (asynchronously).
      chat.readerConnected(sessionId);
    }
    return stream;
  }

  private HttpError tooManyReaders(String sessionId) {
    return HttpError.of(
            429,
            "too_many_readers",
            "session ["
                + sessionId
                + "] has "
                + maxReadersPerSession
                + " open out readers, the most allowed (T4)")
        .with("limit", JsonValue.of(maxReadersPerSession))
        .header("Retry-After", Integer.toString(READERS_RETRY_AFTER_SECONDS));
  }

  private Instant now() {
    return clock.instant();
  }

  /**
   * Where reading starts (W7): after Last-Event-ID, or at the tail for {@code
   * X-Trigger-Stream-Start: latest}.
   */
  private long startAfter(Exchange exchange, String sessionId) {
    String lastEventId = Exchanges.header(exchange, "Last-Event-ID");
    if (lastEventId != null && !lastEventId.isEmpty()) {
      return parseLastEventId(lastEventId);
    }
    if ("latest".equalsIgnoreCase(Exchanges.header(exchange, "X-Trigger-Stream-Start"))) {
      return chat.lastEventId(sessionId, StreamKind.OUT);
    }
    return 0;
  }

  /**
   * Reads a client's {@code Last-Event-ID} (W7): {@code "123"} and {@code "123-4"} mean 123; null,
   * empty, negative or unparsable text means 0 (start over).
   */
  static long parseLastEventId(@Nullable String lastEventId) {
    if (lastEventId == null) {
      return 0;
    }
    String s = lastEventId.trim();
    int dash = s.indexOf('-');
    if (dash >= 0) {
      s = s.substring(0, dash);
    }
    if (s.isEmpty() || s.length() > 18) {
      return 0;
    }
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '9') {
        return 0;
      }
    }
    return Long.parseLong(s);
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

  // ------------------------------------------------------------------ the timer

  /** One pass over every open stream: stalls, pings, idle ends; each session's status when due. */
  private void sweep() {
    try {
      long now = System.nanoTime();
      for (Stream s : open) {
        s.tick(now);
      }
      for (String sessionId : bySession.keySet()) {
        Long due = nextStatus.get(sessionId);
        if (due == null || now - due >= 0) {
          checkStatus(sessionId, now);
        }
      }
      nextStatus.keySet().retainAll(bySession.keySet());
    } catch (RuntimeException e) {
      LOG.warn("out streams: sweep failed", e);
    }
  }

  /**
   * If the session is closed, its streams that have every record send session-closed and end; the
   * others end after their last record. One status read per session, however many readers.
   */
  private void checkStatus(String sessionId, long now) {
    nextStatus.put(sessionId, now + statusNanos);
    Set<Stream> streams = bySession.get(sessionId);
    if (streams == null || streams.isEmpty()) {
      return;
    }
    Session session;
    long last;
    try {
      session = chat.session(sessionId);
      if (session.isActive(now())) {
        return;
      }
      last = chat.lastEventId(sessionId, StreamKind.OUT);
    } catch (NoSuchSessionException e) {
      // Deleted (S11): every reader ends now, with session-closed, reason deleted.
      for (Stream s : streams) {
        s.sessionDeleted();
      }
      return;
    } catch (DurableChatException e) {
      // The store is away: the readers keep their connections and we look again next time.
      LOG.debug("session [{}] out: status check failed: {}", sessionId, e.getMessage());
      return;
    }
    for (Stream s : streams) {
      s.sessionClosed(session, last);
    }
  }

  // ------------------------------------------------------------------ the hubs

  /**
   * Runs the task for the hub's readers on one lane, unless the streams are closing. Each lane's
   * tasks run one at a time, in the order given, under the lane's lock. A hub with a few readers
   * runs them on the calling thread: the hub's tail runs on the thread that appended, so a record
   * reaches a lone reader's connection with no thread hop. Past {@link #INLINE_READERS} the hub
   * spreads for good: its tail only encodes each record once and hands the frame to one thread per
   * lane (per core), so the appending thread is not held by thousands of writes.
   */
  private void onLane(Hub hub, int lane, Runnable task) {
    Object lock = hub.lanes[lane].lock;
    if (!hub.spread) {
      synchronized (lock) {
        task.run();
      }
      return;
    }
    try {
      laneThreads[lane].execute(
          () -> {
            synchronized (lock) {
              task.run();
            }
          });
    } catch (RejectedExecutionException e) {
      // closing: the streams end anyway
    }
  }

  /** The hub whose tail's work runs on this thread now ({@link Hub#drainHere}). */
  private static final ThreadLocal<@Nullable Hub> DRAINING = new ThreadLocal<>();

  /**
   * Frames a lane may have waiting while its hub's tail still works before it is woken anyway: a
   * long run of appends handed over in one go does not hold the lanes back until its end.
   */
  static final int WAKE_AFTER_BYTES = 16 * 1024;

  /** A hub's readers in the order they joined it (unique within a hub). */
  private static final Comparator<Stream> JOIN_ORDER = Comparator.comparingLong(s -> s.joined);

  /** Readers a hub serves on the appending thread; more and it spreads over the lanes. */
  static final int INLINE_READERS = 8;

  /** Puts the caught-up reader on its session's hub, making the hub if it is the first one. */
  private void join(Stream stream) {
    long from;
    synchronized (stream) {
      from = stream.lastSent;
    }
    Hub[] made = new Hub[1];
    Hub hub =
        hubs.compute(
            stream.hubKey(),
            (key, h) -> {
              if (h == null) {
                h = new Hub(key, stream.sessionId, stream.tokenKey, stream.access, from);
                made[0] = h;
              }
              h.readers++;
              if (h.readers > INLINE_READERS) {
                h.spread = true;
              }
              // Round robin within the hub: a lone reader is on lane 0, many share every lane.
              stream.joined = h.assigned;
              stream.lane = (int) Math.floorMod(h.assigned++, (long) laneCount);
              return h;
            });
    synchronized (stream) {
      stream.hub = hub;
    }
    if (made[0] != null) {
      // The tail's work runs on the thread that wakes it (the appending one, on this node), and
      // a spread hub wakes its lanes once that work is done: see Hub#share.
      chat.subscribeOut(hub.sessionId, from, hub::drainHere).subscribe(hub);
    }
    onLane(
        hub,
        stream.lane,
        () -> {
          synchronized (stream) {
            if (stream.hub != hub) {
              return; // it left (or ended) before it joined
            }
          }
          Lane lane = hub.lanes[stream.lane];
          if (stream.catchUpTo(lane.position)) {
            lane.members.add(stream);
            return;
          }
          synchronized (stream) {
            if (stream.hub != hub) {
              return;
            }
            stream.hub = null;
          }
          hub.leave(stream, true);
        });
  }

  /**
   * One live tail per session, shared by every reader of it that keeps up: each record is read from
   * the store and encoded once, then its frame is handed to the readers on their lanes (a few
   * threads, each reader always on the same one, so each sees the frames in order). A reader that
   * falls behind leaves for a tail of its own (back-pressure); the hub ends with its last reader.
   */
  final class Hub implements Flow.Subscriber<TailItem<OutEvent>> {
    /** The session and the readers' access: its frames carry a refresh token of that access. */
    final String key;

    final String sessionId;
    final String tokenKey;
    final SessionTokens.Access access;

    /** Its lanes: a reader is on one, which writes it the hub's frames in order. */
    final Lane[] lanes;

    /** Readers joined or joining, and readers ever given a lane; guarded by the hubs map. */
    int readers;

    long assigned;

    /** Whether the hub hands its frames to the lane threads (set once, never cleared). */
    volatile boolean spread;

    private volatile Flow.@Nullable Subscription subscription;
    private volatile boolean cancelled;

    Hub(String key, String sessionId, String tokenKey, SessionTokens.Access access, long from) {
      this.key = key;
      this.sessionId = sessionId;
      this.tokenKey = tokenKey;
      this.access = access;
      this.lanes = new Lane[laneCount];
      for (int i = 0; i < laneCount; i++) {
        lanes[i] = new Lane(from);
      }
    }

    /**
     * Takes the reader off the hub; with {@code follow}, the reader then continues on a tail of its
     * own from its last record (frames the hub still hands it are ignored: it no longer names this
     * hub). Takes no hub lock, so it may be called under the reader's.
     */
    void leave(Stream stream, boolean follow) {
      lanes[stream.lane].members.remove(stream);
      if (follow) {
        stream.followAlone();
      }
      hubs.computeIfPresent(
          key,
          (id, h) -> {
            if (h != this) {
              return h;
            }
            if (--h.readers > 0) {
              return h;
            }
            h.cancel();
            return null;
          });
    }

    void cancel() {
      cancelled = true;
      Flow.Subscription sub = subscription;
      if (sub != null) {
        sub.cancel();
      }
    }

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
      this.subscription = subscription;
      if (cancelled) {
        subscription.cancel();
        return;
      }
      subscription.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(TailItem<OutEvent> item) {
      if (item instanceof TailItem.Moved<OutEvent> moved) {
        // H5: trimmed under the live readers; each is told before the next record.
        long id = moved.toEventId() - 1;
        byte[] notice =
            frame(
                    JsonObject.builder()
                        .put(
                            "records",
                            JsonArray.of(trimmedRecord(moved.fromEventId(), moved.toEventId())))
                        .put(
                            "tail",
                            JsonObject.builder()
                                .put("seq_num", id + 1)
                                .put("timestamp", System.currentTimeMillis())
                                .build())
                        .build())
                .getBytes(StandardCharsets.UTF_8);
        share(id, notice);
        return;
      }
      if (!(item instanceof TailItem.Event<OutEvent> event)) {
        return;
      }
      StreamRecord<OutEvent> r = event.record();
      long id = r.eventId();
      long tailTimestamp = Math.max(r.createdAt().toEpochMilli(), System.currentTimeMillis());
      byte[] frame =
          r.event() instanceof OutEvent.Chunk c
              ? chunkFrame(r, c, sessionId, tailTimestamp)
              : frame(
                      JsonObject.builder()
                          .put("records", JsonArray.of(wireRecord(r, sessionId, tokenKey, access)))
                          .put(
                              "tail",
                              JsonObject.builder()
                                  .put("seq_num", id + 1)
                                  .put("timestamp", tailTimestamp)
                                  .build())
                          .build())
                  .getBytes(StandardCharsets.UTF_8);
      share(id, frame);
    }

    /**
     * Runs the hub's tail's work (handing it the records of an append, on the appending thread),
     * then wakes the lanes that have frames waiting. So the records of one append (a turn opens
     * with {@code start}, {@code text-start} and its first delta in one) reach each reader as one
     * write: a lane woken by the first frame used to start its walk before the others were queued,
     * and the first delta waited a whole walk (fanout-7: 345 ms p99 for a turn's first chunk at
     * 10,000 readers, 144-190 ms for the others).
     */
    void drainHere(Runnable tailWork) {
      Hub outer = DRAINING.get();
      DRAINING.set(this);
      try {
        tailWork.run();
      } finally {
        DRAINING.set(outer);
        for (int lane = 0; lane < laneCount; lane++) {
          if (!lanes[lane].queued.isEmpty()) {
            wake(lane);
          }
        }
      }
    }

    /**
     * Hands a record's frame to every lane. A hub on the appending thread writes it at once. A
     * spread hub queues it for each lane and wakes the lane if it is not already due to run (from
     * within its tail's work, once that work is done, or after {@link #WAKE_AFTER_BYTES}): a lane
     * that finds several frames waiting (it fell behind, or an append held a few records) writes
     * them to each reader as one write, the frames back to back, byte for byte what they would have
     * been one by one. The further behind a lane is, the fewer writes per frame it makes, so a
     * burst drains instead of queueing chunk after chunk behind it.
     */
    private void share(long id, byte[] frame) {
      boolean deferred = DRAINING.get() == this;
      for (int i = 0; i < laneCount; i++) {
        int lane = i;
        if (!spread) {
          onLane(this, lane, () -> deliver(lane, List.of(new Frame(id, frame))));
          continue;
        }
        lanes[lane].queued.add(new Frame(id, frame));
        long waiting = lanes[lane].queuedBytes.addAndGet(frame.length);
        if (!deferred || waiting >= WAKE_AFTER_BYTES) {
          wake(lane);
        }
      }
    }

    /** Schedules the lane's delivery unless it is already due to run. */
    private void wake(int lane) {
      if (lanes[lane].due.compareAndSet(false, true)) {
        onLane(this, lane, () -> deliverQueued(lane));
      }
    }

    /** On the lane: every frame queued for it, up to a quarter of a reader's buffer at a time. */
    private void deliverQueued(int lane) {
      Lane l = lanes[lane];
      // Cleared before taking: a frame queued from here on wakes the lane again.
      l.due.set(false);
      if (l.queuedBytes.get() > bufferBytes / 2) {
        letLaneGo(l);
        return;
      }
      var frames = new ArrayList<Frame>();
      long bytes = 0;
      Frame next;
      while ((next = l.queued.peek()) != null
          && (frames.isEmpty() || bytes + next.bytes().length <= bufferBytes / 4)) {
        l.queued.poll();
        frames.add(next);
        bytes += next.bytes().length;
      }
      l.queuedBytes.addAndGet(-bytes);
      if (frames.isEmpty()) {
        return;
      }
      if (!l.queued.isEmpty()) {
        wake(lane); // the rest, after this batch
      }
      deliver(lane, frames);
    }

    /**
     * On the lane, when its queue passed half a reader's buffer: the frames are dropped and every
     * reader of the lane leaves the hub and follows on a tail of its own from its last record, at
     * its own pace, as a reader that falls behind alone does (and is dropped, like one, if it
     * cannot keep up at all). No record is lost: each reader reads what it lacks from the store,
     * and a reader joining the lane later catches up to where the dropped frames ended.
     */
    private void letLaneGo(Lane lane) {
      long dropped = 0;
      long last = -1;
      Frame next;
      while ((next = lane.queued.poll()) != null) {
        dropped += next.bytes().length;
        last = next.id();
      }
      lane.queuedBytes.addAndGet(-dropped);
      if (last >= 0) {
        lane.position = last;
      }
      var readers = List.copyOf(lane.members);
      LOG.warn(
          "session [{}] out: a writer lane fell {} bytes behind (half a reader's buffer is {});"
              + " its {} readers follow the stream on their own",
          sessionId,
          dropped,
          bufferBytes / 2,
          readers.size());
      for (Stream s : readers) {
        s.leaveHub(this);
      }
    }

    /** On the lane: the frames after its position to each of its readers. */
    private void deliver(int lane, List<Frame> frames) {
      Lane l = lanes[lane];
      long before = l.position;
      l.position = frames.get(frames.size() - 1).id();
      byte[] joined = frames.size() == 1 ? frames.get(0).bytes() : Frame.join(frames);
      for (Stream s : l.members) {
        s.offerShared(before, frames, joined, this);
      }
    }

    @Override
    public void onError(Throwable error) {
      for (int i = 0; i < laneCount; i++) {
        int lane = i;
        onLane(this, lane, () -> List.copyOf(lanes[lane].members).forEach(s -> s.onError(error)));
      }
    }

    @Override
    public void onComplete() {
      for (int i = 0; i < laneCount; i++) {
        int lane = i;
        onLane(this, lane, () -> List.copyOf(lanes[lane].members).forEach(Stream::finish));
      }
    }
  }

  /**
   * One lane of a hub: the readers it writes to and what it has yet to write. A lane's tasks run
   * one at a time under its lock, on its thread once the hub spread, else on the appending thread.
   */
  static final class Lane {
    final Object lock = new Object();

    /**
     * The readers (added only on the lane), in the order they joined, which is the order their
     * connections were accepted: the server's memory for them (socket buffers, the connection's
     * objects) then lies close together along the walk. A walk in hash order cost 1.1-1.4x the
     * server CPU per chunk at 10,000 readers (kernel time most of it), and its p99 several times
     * the ordered walk's.
     */
    final Set<Stream> members = new ConcurrentSkipListSet<>(JOIN_ORDER);

    /** The last record the lane delivered (or dropped); under {@link #lock}. */
    long position;

    /** Once spread: the frames not yet delivered, and whether a delivery is due. */
    final ConcurrentLinkedQueue<Frame> queued = new ConcurrentLinkedQueue<>();

    final AtomicBoolean due = new AtomicBoolean();

    /**
     * The bytes of the queued frames. A lane whose queue passes half a reader's buffer is as far
     * behind as a reader that leaves the hub: its readers leave too (Hub#letLaneGo) the next time
     * it runs, so a lane that cannot keep up does not grow its queue without end.
     */
    final AtomicLong queuedBytes = new AtomicLong();

    Lane(long position) {
      this.position = position;
    }
  }

  /** A record's frame as the hub shares it: the record's event id and the frame's bytes. */
  record Frame(long id, byte[] bytes) {
    /** The frames back to back, as one write. */
    static byte[] join(List<Frame> frames) {
      int length = 0;
      for (Frame f : frames) {
        length += f.bytes.length;
      }
      byte[] out = new byte[length];
      int at = 0;
      for (Frame f : frames) {
        System.arraycopy(f.bytes, 0, out, at, f.bytes.length);
        at += f.bytes.length;
      }
      return out;
    }
  }

  // ------------------------------------------------------------------ one stream

  /**
   * Where a stream's frames go: the server binding's connection. Called under the stream's lock,
   * never concurrently; none of the calls may block.
   */
  interface Sink {
    /**
     * Whether a write or a flush can be made now; if not, the binding calls {@link #onWritable}.
     */
    boolean ready();

    /** Hands bytes to the connection (only after {@link #ready()} said yes). */
    void write(byte[] bytes) throws IOException;

    /** Pushes what was written to the client (only after {@link #ready()} said yes). */
    void flush() throws IOException;

    /** Ends the response normally, once everything was written. */
    void complete();

    /** Ends the response now, unsent bytes dropped (the reader does not read). */
    void abort();
  }

  /** One open SSE response. */
  final class Stream implements Flow.Subscriber<TailItem<OutEvent>> {
    final String sessionId;
    private final String tokenKey;
    private final SessionTokens.Access access;
    private final Map<String, String> headers;
    private final long until;
    private final long timeoutNanos;

    // Guarded by this.
    private final ArrayDeque<byte[]> pending = new ArrayDeque<>();
    private long pendingBytes;
    private @Nullable Sink sink;
    private boolean needsFlush = true; // the first flush sends the headers
    private boolean finishing;
    private boolean done;
    private long lastSent;
    private long idleDeadline;
    private long lastProgress;
    private int owed;
    private Flow.@Nullable Subscription subscription;
    private boolean closeSeen;
    private @Nullable Hub hub; // the session's hub this reader follows, if any
    private boolean alone; // on a tail of its own

    /** The lane of its hub; set (under the hubs map) before the hub runs anything for it. */
    volatile int lane;

    /** Its place in its hub's join order; set with {@link #lane}. */
    volatile long joined;

    Stream(
        String sessionId,
        String tokenKey,
        SessionTokens.Access access,
        Map<String, String> headers,
        long after,
        long until,
        long timeoutNanos) {
      this.sessionId = sessionId;
      this.tokenKey = tokenKey;
      this.access = access;
      this.headers = headers;
      this.lastSent = after;
      this.until = until;
      this.timeoutNanos = timeoutNanos;
      long now = System.nanoTime();
      this.idleDeadline = now + timeoutNanos;
      this.lastProgress = now;
    }

    /** The hub this reader shares: one per session and access. */
    String hubKey() {
      return access == SessionTokens.Access.READ_WRITE ? sessionId : sessionId + " read-only";
    }

    /** The response headers, to send before the first frame. */
    Map<String, String> headers() {
      return headers;
    }

    /** Catches up from the store (full batches, while the buffer has room), then follows live. */
    void start() {
      synchronized (this) {
        while (!finishing && lastSent < until && pendingBytes < bufferBytes / 2) {
          List<StreamRecord<OutEvent>> records = chat.readOut(sessionId, lastSent, MAX_BATCH);
          long before = lastSent;
          writeRecords(records);
          if (records.size() < MAX_BATCH || lastSent == before) {
            break;
          }
        }
        if (lastSent >= until) {
          endSettled();
          return;
        }
      }
      // The first look at the status comes at once: a closed session's reader need not wait.
      wake(sessionId);
      boolean caughtUp;
      synchronized (this) {
        caughtUp = until == Long.MAX_VALUE && pendingBytes < bufferBytes / 2;
      }
      if (caughtUp) {
        join(this);
      } else {
        followAlone();
      }
    }

    /** Follows the session on a tail of its own, from the last record sent (back-pressure). */
    void followAlone() {
      long from;
      synchronized (this) {
        if (done || finishing) {
          return;
        }
        hub = null;
        alone = true;
        from = lastSent;
      }
      chat.subscribeOut(sessionId, from).subscribe(this);
    }

    /**
     * On the hub's lane: sends the stored records after the last one sent up to {@code position}
     * (the hub delivers what comes after); true if the reader can then follow the hub.
     */
    synchronized boolean catchUpTo(long position) {
      while (!finishing && lastSent < position && pendingBytes < bufferBytes / 2) {
        int limit = (int) Math.min(MAX_BATCH, position - lastSent);
        List<StreamRecord<OutEvent>> records = chat.readOut(sessionId, lastSent, limit);
        var upTo = new ArrayList<StreamRecord<OutEvent>>(records.size());
        for (StreamRecord<OutEvent> r : records) {
          if (r.eventId() <= position) {
            upTo.add(r);
          }
        }
        long before = lastSent;
        writeRecords(upTo);
        if (lastSent == before) {
          break;
        }
      }
      return !done && !finishing && pendingBytes < bufferBytes / 2;
    }

    /**
     * Records from the session's hub, their frames encoded once for every reader: the frames after
     * {@code before}, and the same bytes joined. A reader that had every record up to {@code
     * before} (as each of the lane's readers has) takes the joined bytes in one write; another
     * takes the frames it lacks one by one. Past half the buffer, the reader leaves the hub and
     * follows on a tail of its own at its own pace.
     */
    synchronized void offerShared(long before, List<Frame> frames, byte[] joined, Hub from) {
      long last = frames.get(frames.size() - 1).id();
      if (done || finishing || hub != from || last <= lastSent) {
        return;
      }
      idleDeadline = System.nanoTime() + timeoutNanos;
      if (lastSent == before) {
        lastSent = last;
        enqueue(joined);
      } else {
        for (Frame f : frames) {
          if (f.id() > lastSent && !done) {
            lastSent = f.id();
            enqueue(f.bytes());
          }
        }
      }
      if (closeSeen) {
        wake(sessionId);
      }
      if (pendingBytes >= bufferBytes / 2) {
        leaveHub(from);
      }
    }

    /** Leaves the hub {@code from} if it still follows it, to continue on a tail of its own. */
    synchronized void leaveHub(Hub from) {
      if (!done && !finishing && hub == from) {
        hub = null;
        from.leave(this, true);
      }
    }

    /** The binding's connection is ready: attach it and write what is due. */
    synchronized void attach(Sink sink) {
      this.sink = sink;
      drain();
    }

    /** The binding's connection can take more (its write listener fired). */
    synchronized void onWritable() {
      drain();
    }

    /** The connection failed (the client went away, a write timed out). */
    synchronized void onConnectionError(Throwable error) {
      if (!done) {
        LOG.debug("session [{}] out: reader went away ({})", sessionId, error.toString());
        release();
      }
    }

    /**
     * A write to the connection failed (the client went away): the stream is let go and the
     * response ended, so that the server closes the connection now rather than when it idles out
     * (10,000 readers leaving at once held 10,000 sockets until then).
     */
    private void writeFailed(Throwable error) {
      onConnectionError(error);
      Sink s = sink;
      if (s != null) {
        s.abort();
      }
    }

    /** Ends the stream after what is buffered and a {@code retry} hint (no {@code [DONE]}). */
    synchronized void finish(long retryMillis) {
      if (!done && !finishing) {
        enqueue("retry: " + retryMillis + "\n\n");
      }
      finish();
    }

    /** Ends the stream after what is buffered (no {@code [DONE]}). */
    synchronized void finish() {
      finishing = true;
      cancelTail();
      Hub h = hub;
      if (h != null) {
        hub = null;
        h.leave(this, false);
      }
      drain();
    }

    private void drain() {
      Sink s = sink;
      if (done || s == null) {
        return;
      }
      try {
        // ready() is asked only when there is something to do: a "no" obliges the container to
        // call onWritePossible later, which costs a thread dispatch per frame if asked idly.
        while (!pending.isEmpty() || needsFlush || finishing) {
          if (!s.ready()) {
            break; // the binding calls onWritable when the connection takes more
          }
          byte[] next = pending.poll();
          if (next != null) {
            pendingBytes -= next.length;
            s.write(next);
            needsFlush = true;
            lastProgress = System.nanoTime();
          } else if (needsFlush) {
            needsFlush = false;
            s.flush();
          } else {
            done = true;
            release();
            s.complete();
            break;
          }
        }
      } catch (IOException | RuntimeException e) {
        writeFailed(e);
        return;
      }
      requestMore();
    }

    private void enqueue(String text) {
      enqueue(text.getBytes(StandardCharsets.UTF_8));
    }

    private void enqueue(byte[] bytes) {
      if (done) {
        return;
      }
      Sink s = sink;
      if (pending.isEmpty() && s != null) {
        // The usual case of a reader that keeps up: straight to the connection, not through the
        // queue (which would keep a new frame referenced from a long-lived stream).
        try {
          if (s.ready()) {
            s.write(bytes);
            needsFlush = true;
            lastProgress = System.nanoTime();
            drain();
            return;
          }
        } catch (IOException | RuntimeException e) {
          writeFailed(e);
          return;
        }
      }
      pending.add(bytes);
      pendingBytes += bytes.length;
      if (pendingBytes > bufferBytes) {
        drop("its buffer of " + bufferBytes + " bytes overflowed");
        return;
      }
      drain();
    }

    private void drop(String why) {
      LOG.warn(
          "session [{}] out: dropped a reader that does not read: {} ({} bytes unsent)",
          sessionId,
          why,
          pendingBytes);
      done = true;
      pending.clear();
      pendingBytes = 0;
      release();
      Sink s = sink;
      if (s != null) {
        s.abort();
      }
    }

    private void release() {
      done = true;
      if (open.remove(this)) {
        chat.telemetry().readerClosed();
      }
      bySession.computeIfPresent(
          sessionId,
          (id, set) -> {
            set.remove(this);
            return set.isEmpty() ? null : set;
          });
      cancelTail();
      Hub h = hub;
      if (h != null) {
        hub = null;
        h.leave(this, false);
      }
    }

    private void cancelTail() {
      Flow.Subscription sub = subscription;
      if (sub != null) {
        sub.cancel();
      }
    }

    /** Asks the tail for more while the buffer is under half full (back-pressure). */
    private void requestMore() {
      Flow.Subscription sub = subscription;
      if (sub != null && owed >= DEMAND / 2 && pendingBytes < bufferBytes / 2 && !finishing) {
        int n = owed;
        owed = 0;
        sub.request(n);
      }
    }

    /** The timer's look at this stream. */
    synchronized void tick(long now) {
      if (done) {
        return;
      }
      if (pendingBytes >= bufferBytes / 2 && now - lastProgress >= stallNanos) {
        drop("nothing was written for " + Duration.ofNanos(stallNanos) + " with its buffer full");
        return;
      }
      if (finishing) {
        return;
      }
      // A keep-alive only for a connection that carried nothing for a ping interval: a stream
      // that is being written to needs none, and pinging every reader on the clock put 10,000
      // extra writes in the middle of a reply's fan-out.
      if (pending.isEmpty() && now - lastProgress >= pingNanos) {
        enqueue("event: ping\ndata: {\"timestamp\":" + System.currentTimeMillis() + "}\n\n");
      }
      if (now - idleDeadline >= 0 && pending.isEmpty()) {
        enqueue("data: [DONE]\n\n");
        finish();
      }
    }

    /** The session is closed: session-closed and the end, once this reader has every record. */
    synchronized void sessionClosed(Session s, long last) {
      if (done || finishing) {
        return;
      }
      if (lastSent < last) {
        closeSeen = true;
        return;
      }
      writeClosed(s, last);
      finish();
    }

    /**
     * The session was deleted (S11): a {@code session-closed} record with reason {@code deleted},
     * then the end. Its records are gone, so there is nothing left to send first.
     */
    synchronized void sessionDeleted() {
      if (done || finishing) {
        return;
      }
      writeControl("session-closed", "deleted", lastSent + 1);
      finish();
    }

    /** X-Peek-Settled on a settled session: what is left, then the close notice if closed. */
    private void endSettled() {
      try {
        Session s = chat.session(sessionId);
        if (!s.isActive(now())) {
          writeClosed(s, chat.lastEventId(sessionId, StreamKind.OUT));
        }
      } catch (DurableChatException e) {
        LOG.debug("session [{}] out: status check failed: {}", sessionId, e.getMessage());
      }
      finish();
    }

    // ---------------------------------------------------------------- the tail's signals

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
      synchronized (this) {
        this.subscription = subscription;
        if (finishing) {
          subscription.cancel();
          return;
        }
      }
      subscription.request(DEMAND);
    }

    @Override
    public void onNext(TailItem<OutEvent> item) {
      synchronized (this) {
        owed++;
        if (finishing) {
          return;
        }
        if (writeRecords(List.of(item))) {
          idleDeadline = System.nanoTime() + timeoutNanos;
          if (lastSent >= until) {
            endSettled();
            return;
          }
          if (closeSeen) {
            wake(sessionId);
          }
        }
        requestMore();
      }
    }

    @Override
    public void onError(Throwable error) {
      if (error instanceof NoSuchSessionException) {
        sessionDeleted();
        return;
      }
      synchronized (this) {
        if (finishing) {
          return;
        }
        String message =
            error instanceof DurableChatException && error.getMessage() != null
                ? error.getMessage()
                : "stream failed";
        enqueue(
            "event: error\ndata: "
                + Json.write(JsonObject.builder().put("error", message).build())
                + "\n\n");
        finish();
      }
    }

    @Override
    public void onComplete() {
      finish();
    }

    // ---------------------------------------------------------------- frames

    /** Writes the stored records and tail items as one batch frame; false if none was new. */
    private boolean writeRecords(List<?> items) {
      var records = new ArrayList<JsonValue>(items.size());
      long lastTimestamp = 0;
      for (Object item : items) {
        StreamRecord<?> r = null;
        if (item instanceof StreamRecord<?> stored) {
          r = stored;
        } else if (item instanceof TailItem.Event<?> e) {
          r = e.record();
        }
        // TailItem.Moved needs no case of its own: the gap before the next record says the same.
        if (r == null || r.eventId() <= lastSent || r.eventId() > until) {
          continue; // never repeat a record (invariant 4)
        }
        if (r.eventId() > lastSent + 1) {
          // H5: the records after the reader's bookmark were trimmed. Say so, numbered just
          // before the first kept record (a trimmed number, never used again), then go on.
          LOG.debug(
              "session [{}] out: reader moved from [{}] to [{}]", sessionId, lastSent, r.eventId());
          records.add(trimmedRecord(lastSent, r.eventId()));
          lastSent = r.eventId() - 1;
        }
        @SuppressWarnings("unchecked")
        StreamRecord<OutEvent> out = (StreamRecord<OutEvent>) r;
        records.add(wireRecord(out, sessionId, tokenKey, access));
        lastSent = r.eventId();
        lastTimestamp = r.createdAt().toEpochMilli();
      }
      if (records.isEmpty()) {
        return false;
      }
      writeFrame(records, lastTimestamp);
      return true;
    }

    private void writeFrame(List<JsonValue> records, long lastTimestamp) {
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
      enqueue(frame(data));
    }

    /** The synthesized session-closed control record: the out stream stores none. */
    private void writeClosed(Session s, long last) {
      String reason =
          s.closedReason() != null ? s.closedReason() : s.closedAt() == null ? "expired" : "closed";
      // One past the last stored record, the same on every connection: no stored record can take
      // it, since a closed session takes no more appends.
      writeControl("session-closed", reason, last + 1);
    }

    /** A synthesized control record with its reason header, numbered {@code seq}. */
    private void writeControl(String control, String reason, long seq) {
      long now = System.currentTimeMillis();
      JsonObject record =
          JsonObject.builder()
              .put("seq_num", seq)
              .put("timestamp", now)
              .put(
                  "headers",
                  JsonArray.of(
                      header("trigger-control", control), header(control + "-reason", reason)))
              .put("body", "")
              .build();
      lastSent = Math.max(lastSent, seq);
      writeFrame(List.of(record), now);
    }
  }

  /** One out record as the wire's record object. */
  JsonObject wireRecord(
      StreamRecord<OutEvent> r, String sessionId, String tokenKey, SessionTokens.Access access) {
    var b =
        JsonObject.builder()
            .put("seq_num", r.eventId())
            .put("timestamp", r.createdAt().toEpochMilli());
    OutEvent event = r.event();
    if (event instanceof OutEvent.Chunk c) {
      return chunkWireRecord(r, c, sessionId);
    }
    var headers = new ArrayList<JsonValue>();
    if (event instanceof OutEvent.TurnComplete tc) {
      headers.add(header("trigger-control", "turn-complete"));
      headers.add(header("session-in-event-id", Long.toString(tc.lastDispatchedInEventId())));
      headers.add(
          header("public-access-token", tokens.mint(tokenKey, access, tokens.defaultTtl())));
    } else if (event instanceof OutEvent.UpgradeRequired) {
      headers.add(header("trigger-control", "upgrade-required"));
    }
    return b.put("headers", JsonArray.of(headers)).put("body", "").build();
  }

  /**
   * The synthesized {@code stream-trimmed} control record (H5): the records after {@code from} up
   * to {@code to - 1} were trimmed before this reader saw them, and the next record is {@code to}.
   * Numbered {@code to - 1}, so a reconnect with it as {@code Last-Event-ID} resumes at {@code to}.
   * Clients that do not know the subtype skip it, as they skip every control record they do not
   * know.
   */
  private static JsonObject trimmedRecord(long from, long to) {
    return JsonObject.builder()
        .put("seq_num", to - 1)
        .put("timestamp", System.currentTimeMillis())
        .put(
            "headers",
            JsonArray.of(
                header("trigger-control", "stream-trimmed"),
                header("stream-trimmed-from", Long.toString(from)),
                header("stream-trimmed-to", Long.toString(to))))
        .put("body", "")
        .build();
  }

  /** A chunk record as the wire's record object (what {@link #chunkFrame} writes as text). */
  static JsonObject chunkWireRecord(StreamRecord<OutEvent> r, OutEvent.Chunk c, String sessionId) {
    String body =
        Json.write(
            JsonObject.builder()
                .put("data", c.chunk().json())
                .put("id", chunkRecordId(r, c, sessionId))
                .build());
    return JsonObject.builder()
        .put("seq_num", r.eventId())
        .put("timestamp", r.createdAt().toEpochMilli())
        .put("headers", JsonArray.of())
        .put("body", body)
        .build();
  }

  /**
   * The id of a chunk's wire record. The clients drop a record whose id they saw before: a chunk
   * without a part id gets one that is stable across reconnects (the session and the event id).
   */
  private static String chunkRecordId(
      StreamRecord<OutEvent> r, OutEvent.Chunk c, String sessionId) {
    return c.partId() != null ? c.partId() : sessionId + ":" + r.eventId();
  }

  /** Builders per thread for {@link #chunkFrame}: the frame, and the record body inside it. */
  private static final ThreadLocal<StringBuilder[]> FRAME_BUFFERS =
      ThreadLocal.withInitial(
          () -> new StringBuilder[] {new StringBuilder(512), new StringBuilder(256)});

  private static final int MAX_KEPT_BUFFER = 16 * 1024;

  /**
   * The batch frame of one chunk record, written straight as text: byte for byte what {@link
   * #frame} makes of {@link #wireRecord}'s object for it and a tail of {@code tailTimestamp}, with
   * no object tree built in between (the hub's tail encodes every chunk of a reply this way, on the
   * appending thread, before the first reader's write).
   */
  static byte[] chunkFrame(
      StreamRecord<OutEvent> r, OutEvent.Chunk c, String sessionId, long tailTimestamp) {
    StringBuilder[] buffers = FRAME_BUFFERS.get();
    StringBuilder body = buffers[1];
    body.setLength(0);
    body.append("{\"data\":");
    Json.write(c.chunk().json(), body);
    body.append(",\"id\":");
    Json.write(new JsonString(chunkRecordId(r, c, sessionId)), body);
    body.append('}');
    StringBuilder out = buffers[0];
    out.setLength(0);
    out.append("event: batch\ndata: {\"records\":[{\"seq_num\":")
        .append(r.eventId())
        .append(",\"timestamp\":")
        .append(r.createdAt().toEpochMilli())
        .append(",\"headers\":[],\"body\":");
    Json.write(new JsonString(body.toString()), out);
    out.append("}],\"tail\":{\"seq_num\":")
        .append(r.eventId() + 1)
        .append(",\"timestamp\":")
        .append(tailTimestamp)
        .append("}}\n\n");
    byte[] bytes = out.toString().getBytes(StandardCharsets.UTF_8);
    if (out.capacity() > MAX_KEPT_BUFFER || body.capacity() > MAX_KEPT_BUFFER) {
      FRAME_BUFFERS.remove(); // one huge chunk must not pin its buffers to the thread for good
    }
    return bytes;
  }

  /** A batch frame's text. */
  static String frame(JsonObject data) {
    return "event: batch\ndata: " + Json.write(data) + "\n\n";
  }

  private static JsonArray header(String name, String value) {
    return JsonArray.of(JsonValue.of(name), JsonValue.of(value));
  }
}
