package dev.durablechat.core;

import dev.durablechat.api.StreamRecord;

/**
 * What a live tail ({@link DurableChat#subscribeOut}, {@link DurableChat#subscribeIn}) delivers:
 * the stream's records in order, and a notice when the reader's bookmark was trimmed away (PROTOCOL
 * H5). Each item, notices included, uses one unit of the subscriber's demand.
 *
 * @param <E> the stream's event type
 */
public sealed interface TailItem<E> {

  /**
   * A stored record.
   *
   * @param record the record, with its event id
   * @param <E> the stream's event type
   */
  record Event<E>(StreamRecord<E> record) implements TailItem<E> {}

  /**
   * The records after {@code fromEventId} up to {@code toEventId - 1} were trimmed before this
   * reader saw them; it moved on, and the next item is the record {@code toEventId} (H5: "the
   * reader is told it moved"). A client should rebuild from history rather than trust its partial
   * view.
   *
   * @param fromEventId the bookmark the reader was at
   * @param toEventId the first retained record after it
   * @param <E> the stream's event type
   */
  record Moved<E>(long fromEventId, long toEventId) implements TailItem<E> {}
}
