package dev.durablechat.agent;

import dev.durablechat.api.InEvent;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.Trigger;
import dev.durablechat.core.DurableChat;
import dev.durablechat.core.TailItem;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A run's live tail on its session's {@code in} stream: follows it from the last dispatched event
 * id and queues its records for the run's thread, in order. A {@code stop} record is not queued: it
 * acts at once (L7), through the callback. The run's thread takes records with {@link #next}; the
 * tail's end, or the run losing its session, arrive as {@link Item#END} and {@link Item#LOST}.
 */
final class InTail {
  private static final Logger LOG = LoggerFactory.getLogger(RunLoop.class);

  /** What {@link #next} returns besides a record. */
  enum Item {
    /** The tail ended (completed, failed or was ended from outside). */
    END,
    /** The run lost its session. */
    LOST,
    /** Something changed outside (the session was closed): the run looks at its state. */
    WAKE
  }

  private final DurableChat chat;
  private final String sessionId;
  private final String runId;
  private final Runnable onStop;
  private final BooleanSupplier quiet;
  private final BlockingQueue<Object> queue = new LinkedBlockingQueue<>();
  private volatile long lastReceived;
  private volatile long stopAt;
  private volatile Flow.@Nullable Subscription subscription;

  /**
   * @param onStop called on the tail's thread when a {@code stop} record arrives
   * @param quiet whether a failing tail is expected (the run retired, the runtime closes)
   */
  InTail(DurableChat chat, String sessionId, String runId, Runnable onStop, BooleanSupplier quiet) {
    this.chat = chat;
    this.sessionId = sessionId;
    this.runId = runId;
    this.onStop = onStop;
    this.quiet = quiet;
  }

  /** Starts following {@code in} after the event id. */
  void subscribe(long after) {
    lastReceived = Math.max(lastReceived, after);
    chat.subscribeIn(sessionId, after)
        .subscribe(
            new Flow.Subscriber<TailItem<InEvent>>() {
              @Override
              public void onSubscribe(Flow.Subscription s) {
                subscription = s;
                s.request(Long.MAX_VALUE);
              }

              @Override
              public void onNext(TailItem<InEvent> item) {
                if (item instanceof TailItem.Event<InEvent> e) {
                  StreamRecord<InEvent> r = e.record();
                  if (r.event() instanceof InEvent.Stop) {
                    // Stops act at once, on the turn that is running and the ones queued before.
                    stopAt = Math.max(stopAt, r.eventId());
                    onStop.run();
                  } else {
                    queue.add(r);
                  }
                  // Counted only once queued: an idle end that sees it counted finds it queued.
                  lastReceived = Math.max(lastReceived, r.eventId());
                }
              }

              @Override
              public void onError(Throwable t) {
                if (quiet.getAsBoolean()) {
                  // closing on purpose: nothing to say
                } else if (t instanceof dev.durablechat.api.SessionDeletedException) {
                  // The session was deleted (S11): expected, one line.
                  LOG.info("run [{}]: its in tail ended, the session was deleted", runId);
                } else if (chat.isClosed()) {
                  // The engine closed under the run (a shutdown): expected, one line.
                  LOG.info(
                      "run [{}]: its in tail ended, the engine closed ({})", runId, t.toString());
                } else {
                  LOG.warn("run [{}] lost its in tail", runId, t);
                }
                queue.add(Item.END);
              }

              @Override
              public void onComplete() {
                queue.add(Item.END);
              }
            });
  }

  /**
   * The next record or {@link Item}, waiting up to the timeout; null if nothing arrived.
   *
   * @throws InterruptedException if the wait is interrupted
   */
  @Nullable Object next(Duration timeout) throws InterruptedException {
    return queue.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** Ends the tail from outside (runtime close): the run's thread gets {@link Item#END}. */
  void end() {
    queue.add(Item.END);
  }

  /** Wakes the run's thread (a close): it gets {@link Item#WAKE}. */
  void wake() {
    queue.add(Item.WAKE);
  }

  /** The run lost its session: its thread gets {@link Item#LOST}. */
  void lost() {
    queue.add(Item.LOST);
  }

  /** Stops following {@code in}. */
  void cancel() {
    Flow.Subscription s = subscription;
    if (s != null) {
      s.cancel();
    }
  }

  /** The highest {@code in} event id received (or dispatched before the tail began). */
  long lastReceived() {
    return lastReceived;
  }

  /** The highest event id of a {@code stop} received; 0 if none. */
  long stopAt() {
    return stopAt;
  }

  boolean hasQueued() {
    return !queue.isEmpty();
  }

  /**
   * L5: the plain user messages at the head of the queue, taken out of it for the running turn to
   * answer; none once {@code cancelled} holds, and none from a stop's reach (they are to be
   * stopped).
   */
  synchronized List<StreamRecord<InEvent.Message>> takeInjectable(BooleanSupplier cancelled) {
    var taken = new ArrayList<StreamRecord<InEvent.Message>>();
    while (!cancelled.getAsBoolean()) {
      Object head = queue.peek();
      if (!(head instanceof StreamRecord<?> r)
          || !(r.event() instanceof InEvent.Message m)
          || m.payload().trigger() != Trigger.SUBMIT_MESSAGE
          || m.payload().message() == null
          || r.eventId() <= stopAt) {
        break;
      }
      queue.poll();
      taken.add(new StreamRecord<>(r.eventId(), r.createdAt(), m));
    }
    return taken;
  }
}
