package dev.durablechat.core;

import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.SessionDeletedException;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoredRecord;
import java.util.ArrayDeque;
import java.util.List;
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

  private final AtomicLong demand = new AtomicLong();
  private final AtomicInteger wip = new AtomicInteger();
  private volatile boolean cancelled;
  private volatile @Nullable Throwable failure;

  // Touched only inside drain(), which is serialized.
  private final ArrayDeque<StoredRecord> buffer = new ArrayDeque<>();
  private long bookmark;
  private boolean subscribed;
  private boolean terminated;
  private @Nullable AutoCloseable watch;

  Tail(
      SessionStore store,
      String sessionId,
      StreamKind kind,
      long afterEventId,
      Function<StoredRecord, StreamRecord<E>> decode,
      Executor executor,
      Flow.Subscriber<? super TailItem<E>> subscriber,
      Consumer<Tail<?>> onTerminate) {
    this.store = store;
    this.sessionId = sessionId;
    this.kind = kind;
    this.bookmark = afterEventId;
    this.decode = decode;
    this.executor = executor;
    this.subscriber = subscriber;
    this.onTerminate = onTerminate;
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
        watch = store.watch(sessionId, kind, this::signal);
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
      if (buffer.isEmpty()) {
        int limit = (int) Math.min(requested - emitted, PAGE);
        List<StoredRecord> page = store.read(sessionId, kind, bookmark, limit);
        if (page.isEmpty()) {
          break;
        }
        buffer.addAll(page);
      }
      StoredRecord next = buffer.peekFirst();
      TailItem<E> item;
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
      try {
        subscriber.onNext(item);
      } catch (RuntimeException e) {
        // Rule 2.13: a throwing subscriber is treated as cancelled.
        LOG.warn("tail subscriber threw from onNext; cancelling", e);
        cancelled = true;
      }
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

  private void terminate(@Nullable Throwable error) {
    if (terminated) {
      return;
    }
    terminated = true;
    cancelled = true;
    buffer.clear();
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
