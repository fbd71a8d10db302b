package dev.durablechat.core;

import dev.durablechat.api.InEvent;
import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.Snapshot;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.Trigger;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoredRecord;
import dev.durablechat.core.fold.TailFold;
import dev.durablechat.core.internal.JsonCodec;
import dev.durablechat.core.internal.OutRecords;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One rebuild of one session's history (H2–H4, H6): messages from the snapshot, then each turn on
 * {@code out} after its watermark. Single use, not thread-safe.
 */
final class Replay {
  private static final Logger LOG = LoggerFactory.getLogger(Replay.class);
  static final int PAGE = 512;

  private final SessionStore store;
  private final String sessionId;

  private final ArrayList<UIMessage> messages = new ArrayList<>();
  // id -> position, built on first use; regenerate only removes from the end, so it stays valid.
  private @Nullable HashMap<String, Integer> index;

  private final List<StreamRecord<InEvent.Message>> in = new ArrayList<>();
  private int inNext;
  private long inRead;
  private long inDone;
  private long lastOut;
  private long lastDispatched;

  private final ArrayList<UIMessageChunk> turnChunks = new ArrayList<>();
  private final ArrayList<Long> turnSeqs = new ArrayList<>();
  private long outReplayed;
  private boolean outTrimmed;
  private int foldErrors;

  Replay(SessionStore store, String sessionId) {
    this.store = store;
    this.sessionId = sessionId;
  }

  ChatHistory.Rebuilt run(@Nullable Snapshot snapshot, @Nullable String snapshotProblem) {
    long outFrom = 0;
    if (snapshot != null) {
      messages.addAll(snapshot.messages());
      inDone = snapshot.lastInEventId();
      lastOut = snapshot.lastOutEventId();
      outFrom = lastOut;
    }
    readIn(inDone);
    long after = outFrom;
    while (true) {
      List<StoredRecord> page = store.read(sessionId, StreamKind.OUT, after, PAGE);
      if (page.isEmpty()) {
        break;
      }
      if (page.get(0).seq() > after + 1 && outReplayed == 0) {
        outTrimmed = true;
        LOG.warn(
            "session [{}] out: records [{}..{}] needed by the rebuild were trimmed; the history may"
                + " miss turns",
            sessionId,
            after + 1,
            page.get(0).seq() - 1);
      }
      for (StoredRecord r : page) {
        outReplayed++;
        record(r);
      }
      after = page.get(page.size() - 1).seq();
      if (page.size() < PAGE) {
        break;
      }
    }
    boolean partial = !turnChunks.isEmpty();
    if (partial) {
      // A crash mid-turn (H4): the partial reply answers the first pending turn, so that one goes
      // into the history first; it stays pending, and merging by id keeps it single when answered.
      for (int i = inNext; i < in.size(); i++) {
        StreamRecord<InEvent.Message> r = in.get(i);
        if (r.eventId() > inDone && ChatHistory.answerable(r.event().payload().trigger())) {
          apply(r.event());
          break;
        }
      }
      fold();
    }
    if (foldErrors > 0) {
      LOG.warn(
          "session [{}] out: {} chunk(s) could not be folded and were skipped",
          sessionId,
          foldErrors);
    }
    return new ChatHistory.Rebuilt(
        messages,
        lastOut,
        inDone,
        pendingAfter(inDone),
        partial,
        new ChatHistory.Source(
            snapshot != null,
            snapshot == null ? 0 : snapshot.lastOutEventId(),
            snapshot == null ? 0 : snapshot.lastInEventId(),
            outReplayed,
            inRead,
            snapshotProblem,
            outTrimmed,
            false));
  }

  /** For the hydrate path: the last {@code turn-complete}'s event id, with no folding. */
  long lastTurnComplete() {
    long after = 0;
    long found = 0;
    while (true) {
      List<StoredRecord> page = store.read(sessionId, StreamKind.OUT, after, PAGE);
      for (StoredRecord r : page) {
        // Chunk records, nearly all of them, are skipped unparsed.
        if (OutRecords.mayBeControl(r.payload()) && decode(r) instanceof OutEvent.TurnComplete tc) {
          found = r.seq();
          lastDispatched = Math.max(lastDispatched, tc.lastDispatchedInEventId());
        }
      }
      if (page.size() < PAGE) {
        break;
      }
      after = page.get(page.size() - 1).seq();
    }
    readIn(lastDispatched);
    return found;
  }

  /** The last dispatched {@code in} id that {@link #lastTurnComplete} found. */
  long lastDispatched() {
    return lastDispatched;
  }

  List<StreamRecord<InEvent.Message>> pendingAfter(long eventId) {
    var pending = new ArrayList<StreamRecord<InEvent.Message>>();
    for (StreamRecord<InEvent.Message> r : in) {
      if (r.eventId() > eventId) {
        pending.add(r);
      }
    }
    return pending;
  }

  private void readIn(long after) {
    while (true) {
      List<StoredRecord> page = store.read(sessionId, StreamKind.IN, after, PAGE);
      for (StoredRecord r : page) {
        inRead++;
        JsonObject json = parse(r);
        if (json == null) {
          continue;
        }
        try {
          if (InEvent.fromJson(json) instanceof InEvent.Message m) {
            in.add(new StreamRecord<>(r.seq(), r.createdAt(), m));
          }
        } catch (RuntimeException e) {
          LOG.warn("session [{}] in [{}] skipped: {}", sessionId, r.seq(), e.getMessage());
        }
      }
      if (page.size() < PAGE) {
        return;
      }
      after = page.get(page.size() - 1).seq();
    }
  }

  private void record(StoredRecord r) {
    OutEvent event = decode(r);
    if (event instanceof OutEvent.Chunk chunk) {
      turnChunks.add(chunk.chunk());
      turnSeqs.add(r.seq());
    } else if (event instanceof OutEvent.TurnComplete tc) {
      // turn-complete closes a turn; upgrade-required (and records that do not decode) change
      // nothing here.
      long dispatched = tc.lastDispatchedInEventId();
      while (inNext < in.size() && in.get(inNext).eventId() <= dispatched) {
        if (in.get(inNext).eventId() > inDone) {
          apply(in.get(inNext).event());
        }
        inNext++;
      }
      fold();
      inDone = Math.max(inDone, dispatched);
      lastOut = r.seq();
    }
  }

  /** The record's event, or null (logged) if it does not decode. */
  private @Nullable OutEvent decode(StoredRecord r) {
    JsonObject json = parse(r);
    if (json == null) {
      return null;
    }
    try {
      return OutRecords.decode(json);
    } catch (InvalidPayloadException e) {
      LOG.debug("session [{}] out [{}] skipped: {}", sessionId, r.seq(), e.getMessage());
      return null;
    }
  }

  private @Nullable JsonObject parse(StoredRecord r) {
    try {
      return JsonCodec.parseObject(r.payload());
    } catch (RuntimeException e) {
      LOG.warn(
          "session [{}] record [{}] is not JSON, skipped: {}", sessionId, r.seq(), e.getMessage());
      return null;
    }
  }

  // ------------------------------------------------------------------------ in records (H3, H6)

  private void apply(InEvent.Message record) {
    Trigger trigger = record.payload().trigger();
    if (trigger == Trigger.SUBMIT_MESSAGE && record.payload().message() != null) {
      merge(record.payload().message());
    } else if (trigger == Trigger.REGENERATE_MESSAGE) {
      while (!messages.isEmpty() && !messages.get(messages.size() - 1).role().equals("user")) {
        UIMessage removed = messages.remove(messages.size() - 1);
        if (index != null) {
          index.remove(removed.id());
        }
      }
    }
    // preload, close, action, handover-prepare change nothing here
  }

  /** The one merge rule (H6, {@link MessageMerge}); a new user message keeps the index. */
  private void merge(UIMessage incoming) {
    if (incoming.role().equals("user") && indexOf(incoming.id()) < 0) {
      add(incoming);
      return;
    }
    int size = messages.size();
    MessageMerge.merge(messages, incoming);
    if (messages.size() != size) {
      index = null; // an edit dropped what followed it
    }
  }

  // ------------------------------------------------------------------------ out chunks (H2, H4)

  /**
   * Folds the chunks of one turn into messages with the one segmenter ({@link TailFold}, H2),
   * continuing the history's last message; a segment without {@code finish} is cleaned up as a
   * partial (H4, L7). Each message replaces the one of its id where it is, else is appended (H3). A
   * chunk that cannot be folded is skipped and counted.
   */
  private void fold() {
    UIMessage last = messages.isEmpty() ? null : messages.get(messages.size() - 1);
    List<TailFold.Folded> folded =
        TailFold.fold(
            last,
            turnChunks,
            TailFold.Unfinished.PARTIAL,
            e -> {
              foldErrors++;
              LOG.debug(
                  "session [{}] out [{}] not folded: {}",
                  sessionId,
                  turnSeqs.get((int) e.chunkIndex()),
                  e.getMessage());
            });
    for (TailFold.Folded f : folded) {
      UIMessage message = f.message();
      if (message.id().isEmpty()) {
        // No start named it: an id derived from the out record keeps every rebuild identical.
        message =
            new UIMessage(
                message
                    .json()
                    .with(
                        "id",
                        JsonValue.of("out-" + sessionId + "-" + turnSeqs.get(f.firstChunk()))));
      }
      int at = indexOf(message.id());
      if (at >= 0) {
        messages.set(at, message);
      } else {
        add(message);
      }
    }
    turnChunks.clear();
    turnSeqs.clear();
  }

  private void add(UIMessage message) {
    messages.add(message);
    if (index != null) {
      index.put(message.id(), messages.size() - 1);
    }
  }

  private int indexOf(String id) {
    if (index == null) {
      index = new HashMap<>(Math.max(16, messages.size() * 2));
      for (int i = 0; i < messages.size(); i++) {
        index.putIfAbsent(messages.get(i).id(), i);
      }
    }
    Integer at = index.get(id);
    return at == null ? -1 : at;
  }
}
