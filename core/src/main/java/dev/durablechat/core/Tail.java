package dev.durablechat.core;

import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.SessionDeletedException;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoredRecord;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One live tail of one stream for one subscriber. Every signal to the subscriber happens inside
 * {@link #drain()}, which at most one executor task runs at a time (the usual work-in-progress
 * counter), so signals are serialized without a lock. Records are read from the store in pages only
 * while there is demand; the store's {@link SessionStore#watch} only wakes the drain.
 *
 * <p>An append of this engine hands its records over ({@link #handOver}, from {@link LiveTails}):
 * the drain delivers a handed record, as it is, when it is the one right after the bookmark, and
 * reads the store only when it may hold something the tail was not handed (a watch woke it, a
 * handed record does not follow the bookmark, demand ran out before the store did). So the bookmark
 * alone decides what is next, whichever way a record came: none is lost or repeated across the
 * catch-up-to-live handover (W7).
 */
final class Tail<E> implements Flow.Subscription {
  private static final Logger LOG = LoggerFactory.getLogger(Tail.class);
  static final int PAGE = 256;

  private final SessionStore store;
  private final String sessionId;
  private final StreamKind kind;
  private final Function<StoredRecord, StreamRecord<E>> decode;
  private final Executor executor;
  private final Flow.Subscriber<? super TailItem<E>> subscriber;
  private final Consumer<Tail<?>> onTerminate;
  private final LiveTails live;
  private final LiveTails.Key key;

  /** Records an append on this node handed over, oldest first; bounded by {@link #PAGE}. */
  private final ConcurrentLinkedQueue<StreamRecord<E>> handed = new ConcurrentLinkedQueue<>();

  private final AtomicInteger handedCount = new AtomicInteger();

  /**
   * Whether the store may hold records after the bookmark that were not handed over: set at the
   * start, by a watch, by a dropped hand-over, and when demand ran out before the store did.
   * Cleared just before a store read, so a watch that fires during the read makes another.
   */
  private volatile boolean storeAhead = true;

  private final AtomicLong demand = new AtomicLong();
  private final AtomicInteger wip = new AtomicInteger();
  private volatile boolean cancelled;
  private volatile @Nullable Throwable failure;

  // Touched only inside drain(), which is serialized.
  private final ArrayDeque<StoredRecord> buffer = new ArrayDeque<>();
  private long bookmark;
  private boolean subscribed;
  private volatile boolean terminated; // read by handOver, on the appending thread
  private @Nullable AutoCloseable watch;

  Tail(
      SessionStore store,
      String sessionId,
      StreamKind kind,
      long afterEventId,
      Function<StoredRecord, StreamRecord<E>> decode,
      Executor executor,
      Flow.Subscriber<? super TailItem<E>> subscriber,
      Consumer<Tail<?>> onTerminate,
      LiveTails live) {
    this.store = store;
    this.sessionId = sessionId;
    this.kind = kind;
    this.bookmark = afterEventId;
    this.decode = decode;
    this.executor = executor;
    this.subscriber = subscriber;
    this.onTerminate = onTerminate;
    this.live = live;
    this.key = new LiveTails.Key(sessionId, kind);
  }

  /** The stream this tail follows. */
  LiveTails.Key key() {
    return key;
  }

  /**
   * Records an append of this engine just stored, gapless and in order: delivered from here when
   * they follow the bookmark. More than a page waiting and they are dropped (the store has them).
   */
  void handOver(List<StreamRecord<E>> records) {
    if (terminated) {
      return;
    }
    if (handedCount.addAndGet(records.size()) > PAGE) {
      handedCount.addAndGet(-records.size());
      storeChanged();
      return;
    }
    handed.addAll(records);
    signal();
  }

  /** The store may have records after the bookmark this tail was not handed: look. */
  void storeChanged() {
    storeAhead = true;
    signal();
  }

  /** The store's watch: an append landed (here, on another node, or a delete). */
  private void onStoreAppend() {
    if (live.handsOver(key)) {
      // This engine's own append, on this thread: its records are handed over right after.
      return;
    }
    storeChanged();
  }

  /** Starts the tail: {@code onSubscribe} is signalled from the first drain. */
  void start() {
    signal();
  }

  @Override
  public void request(long n) {
    if (n <= 0) {
      // Reactive Streams rule 3.9.
      failure =
          new IllegalArgumentException("request(n) needs a positive n, got [" + n + "] (rule 3.9)");
    } else {
      long current;
      long next;
      do {
        current = demand.get();
        if (current == Long.MAX_VALUE) {
          break;
        }
        next = current + n;
        if (next < 0) {
          next = Long.MAX_VALUE;
        }
      } while (!demand.compareAndSet(current, next));
    }
    signal();
  }

  @Override
  public void cancel() {
    cancelled = true;
    signal();
  }

  /** Ends the tail with an error, e.g. because the engine closed. */
  void fail(Throwable error) {
    failure = error;
    signal();
  }

  /** Wakes the drain: called on request, cancel and by the store's watch. */
  void signal() {
    if (wip.getAndIncrement() == 0) {
      try {
        executor.execute(this::drain);
      } catch (RejectedExecutionException e) {
        // No drain runs (we own wip), so signalling from here keeps the serial order.
        failure = e;
        drain();
      }
    }
  }

  private void drain() {
    int missed = 1;
    while (true) {
      if (!terminated) {
        drainOnce();
      }
      missed = wip.addAndGet(-missed);
      if (missed == 0) {
        return;
      }
    }
  }

  private void drainOnce() {
    if (!subscribed) {
      subscribed = true;
      try {
        subscriber.onSubscribe(this);
      } catch (RuntimeException e) {
        LOG.warn("tail subscriber threw from onSubscribe; cancelling", e);
        terminate(null);
        return;
      }
    }
    if (cancelled) {
      terminate(null);
      return;
    }
    Throwable error = failure;
    if (error != null) {
      terminate(error);
      return;
    }
    try {
      if (watch == null) {
        // Registered before the first read, so an append that lands in between still wakes us.
        watch = store.watch(sessionId, kind, this::onStoreAppend);
      }
      emitWhileDemand();
    } catch (NoSuchSessionException e) {
      // The session existed when the tail began (the engine resolved it): it was deleted (S11).
      terminate(
          e instanceof SessionDeletedException
              ? e
              : new SessionDeletedException(
                  sessionId,
                  "session ["
                      + sessionId
                      + "] was deleted; its "
                      + kind.wireName()
                      + " stream has ended (S11)",
                  e));
    } catch (RuntimeException e) {
      terminate(e);
    }
  }

  private void emitWhileDemand() {
    long requested = demand.get();
    long emitted = 0;
    while (emitted < requested && !cancelled && failure == null) {
      TailItem<E> item;
      if (buffer.isEmpty()) {
        StreamRecord<E> h = nextHanded();
        if (h != null) {
          item = new TailItem.Event<>(h);
          bookmark = h.eventId();
          emitted++;
          emit(item);
          continue;
        }
        if (!storeAhead && handed.isEmpty()) {
          break; // nothing new is known of: no store read
        }
        storeAhead = false;
        int limit = (int) Math.min(requested - emitted, PAGE);
        List<StoredRecord> page = store.read(sessionId, kind, bookmark, limit);
        if (page.isEmpty()) {
          // A handed record that does not follow the bookmark stays queued (it is dropped once
          // the bookmark passes it): dropping it here could drop one handed during the read.
          break;
        }
        if (page.size() == limit) {
          storeAhead = true; // a full page: there may be more
        }
        buffer.addAll(page);
      }
      StoredRecord next = buffer.peekFirst();
      if (next.seq() > bookmark + 1) {
        // H5: the records after the bookmark were trimmed; say so before moving on.
        item = new TailItem.Moved<>(bookmark, next.seq());
        bookmark = next.seq() - 1;
      } else {
        buffer.pollFirst();
        item = new TailItem.Event<>(decode.apply(next));
        bookmark = next.seq();
      }
      emitted++;
      emit(item);
    }
    if (emitted > 0 && requested != Long.MAX_VALUE) {
      demand.addAndGet(-emitted);
    }
    if (cancelled) {
      terminate(null);
    } else if (failure != null) {
      terminate(failure);
    }
  }

  private void emit(TailItem<E> item) {
    try {
      subscriber.onNext(item);
    } catch (RuntimeException e) {
      // Rule 2.13: a throwing subscriber is treated as cancelled.
      LOG.warn("tail subscriber threw from onNext; cancelling", e);
      cancelled = true;
    }
  }

  /**
   * The handed record right after the bookmark, taken off the queue; handed records at or before
   * the bookmark (delivered already, from the store) are dropped on the way. Null if the next one
   * does not follow the bookmark or none is there.
   */
  private @Nullable StreamRecord<E> nextHanded() {
    StreamRecord<E> h;
    while ((h = handed.peek()) != null) {
      if (h.eventId() > bookmark + 1) {
        return null;
      }
      handed.poll();
      handedCount.decrementAndGet();
      if (h.eventId() == bookmark + 1) {
        return h;
      }
    }
    return null;
  }

  private void clearHanded() {
    while (handed.poll() != null) {
      handedCount.decrementAndGet();
    }
  }

  private void terminate(@Nullable Throwable error) {
    if (terminated) {
      return;
    }
    terminated = true;
    cancelled = true;
    buffer.clear();
    clearHanded();
    AutoCloseable w = watch;
    watch = null;
    if (w != null) {
      try {
        w.close();
      } catch (Exception e) {
        LOG.debug("closing the store watch of session [{}] {} failed", sessionId, kind, e);
      }
    }
    onTerminate.accept(this);
    if (error != null) {
      try {
        subscriber.onError(error);
      } catch (RuntimeException e) {
        LOG.warn("tail subscriber threw from onError", e);
      }
    }
  }
}
