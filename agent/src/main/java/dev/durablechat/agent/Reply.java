package dev.durablechat.agent;

import dev.durablechat.api.DurableChatException;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.core.DurableChat;
import dev.durablechat.core.TailItem;
import dev.durablechat.core.fold.ChunkFold;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The reply stream of one send: the session's {@code out} records after a bookmark, followed live,
 * ending on the first {@code turn-complete} whose dispatched {@code in} id is at least the send's
 * own {@code in} event id (PROTOCOL W8), never on an earlier turn's marker.
 *
 * <p>Save {@link #lastEventId()} to {@link AgentChat#reconnect resume} later: the next record is
 * the one after it (W7), nothing lost or repeated. Not thread-safe: one reader.
 */
public final class Reply implements AutoCloseable {
  private final long inEventId;
  private final BlockingQueue<Object> queue = new LinkedBlockingQueue<>();
  private final List<StreamRecord<OutEvent>> delivered = new ArrayList<>();
  private volatile Flow.@Nullable Subscription subscription;
  private long lastEventId;
  private boolean complete;

  Reply(DurableChat chat, String sessionId, long afterOutEventId, long inEventId) {
    this.inEventId = inEventId;
    this.lastEventId = afterOutEventId;
    chat.subscribeOut(sessionId, afterOutEventId)
        .subscribe(
            new Flow.Subscriber<TailItem<OutEvent>>() {
              @Override
              public void onSubscribe(Flow.Subscription s) {
                subscription = s;
                s.request(Long.MAX_VALUE);
              }

              @Override
              public void onNext(TailItem<OutEvent> item) {
                if (item instanceof TailItem.Event<OutEvent> e) {
                  queue.add(e.record());
                }
              }

              @Override
              public void onError(Throwable t) {
                queue.add(t);
              }

              @Override
              public void onComplete() {
                queue.add(new DurableChatException("the out stream ended before the reply did"));
              }
            });
  }

  /** The {@code in} event id this reply answers: it ends on a turn-complete at or after it. */
  public long inEventId() {
    return inEventId;
  }

  /** The event id of the last record read (the bookmark to reconnect from). */
  public long lastEventId() {
    return lastEventId;
  }

  /** Whether the closing {@code turn-complete} was read. */
  public boolean isComplete() {
    return complete;
  }

  /**
   * The next record (chunks and control records, the closing {@code turn-complete} included), or
   * empty once the reply is complete.
   *
   * @throws DurableChatException if nothing arrives within the timeout, or the stream failed
   */
  public Optional<StreamRecord<OutEvent>> next(Duration timeout) {
    if (complete) {
      return Optional.empty();
    }
    Object item;
    try {
      item = queue.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DurableChatException("interrupted while waiting for the reply", e);
    }
    if (item == null) {
      throw new DurableChatException(
          "reply to in ["
              + inEventId
              + "]: no record within ["
              + timeout
              + "] after out ["
              + lastEventId
              + "]");
    }
    if (item instanceof Throwable t) {
      throw new DurableChatException(
          "reply to in [" + inEventId + "] failed: " + t.getMessage(), t);
    }
    @SuppressWarnings("unchecked")
    StreamRecord<OutEvent> record = (StreamRecord<OutEvent>) item;
    lastEventId = record.eventId();
    delivered.add(record);
    if (record.event() instanceof OutEvent.TurnComplete tc
        && tc.lastDispatchedInEventId() >= inEventId) {
      complete = true;
      close();
    }
    return Optional.of(record);
  }

  /**
   * Reads to the end; every record this reply delivered, in order.
   *
   * @param timeout the longest wait for any one record
   */
  public List<StreamRecord<OutEvent>> records(Duration timeout) {
    while (next(timeout).isPresent()) {
      // reading on
    }
    return List.copyOf(delivered);
  }

  /** Reads to the end; the chunks this reply delivered, in order. */
  public List<UIMessageChunk> chunks(Duration timeout) {
    var chunks = new ArrayList<UIMessageChunk>();
    for (StreamRecord<OutEvent> r : records(timeout)) {
      if (r.event() instanceof OutEvent.Chunk c) {
        chunks.add(c.chunk());
      }
    }
    return chunks;
  }

  /**
   * Reads to the end; the assistant messages the delivered chunks fold to (H2, H4). Chunks before
   * the first {@code start} belong to a reply that was already streaming when this one began (a
   * message sent mid-turn, or a reconnect in the middle of a message): they cannot be folded on
   * their own and are left out.
   */
  public List<UIMessage> messages(Duration timeout) {
    List<UIMessageChunk> chunks = chunks(timeout);
    int first = 0;
    while (first < chunks.size() && !chunks.get(first).type().equals("start")) {
      first++;
    }
    return ChunkFold.foldTail(chunks.subList(first, chunks.size()));
  }

  /** Reads to the end; the text of the reply's assistant messages. */
  public String text(Duration timeout) {
    var text = new StringBuilder();
    for (UIMessage m : messages(timeout)) {
      text.append(m.text());
    }
    return text.toString();
  }

  /** Stops following the stream. */
  @Override
  public void close() {
    Flow.Subscription s = subscription;
    if (s != null) {
      s.cancel();
    }
  }
}
