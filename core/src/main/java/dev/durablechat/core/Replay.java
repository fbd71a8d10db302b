package dev.durablechat.core;

import dev.durablechat.api.InEvent;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonNumber;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonString;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.Snapshot;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.Trigger;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoredRecord;
import dev.durablechat.core.fold.ChunkFold;
import dev.durablechat.core.fold.ChunkFoldException;
import dev.durablechat.core.internal.JsonCodec;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Optional;
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
        if (r.payload().contains("\"control\"")) {
          JsonObject json = parse(r);
          if (json != null
              && json.string("control").orElse("").equals("turn-complete")
              && json.get("sessionInEventId") instanceof JsonNumber n) {
            found = r.seq();
            lastDispatched = Math.max(lastDispatched, n.longValue());
          }
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
    JsonObject json = parse(r);
    if (json == null) {
      return;
    }
    if (json.get("data") instanceof JsonObject data) {
      if (data.get("type") instanceof JsonString) {
        turnChunks.add(new UIMessageChunk(data));
        turnSeqs.add(r.seq());
      }
      return;
    }
    // Control records: turn-complete closes a turn; upgrade-required and unknown ones are dropped.
    if (json.string("control").orElse("").equals("turn-complete")
        && json.get("sessionInEventId") instanceof JsonNumber n) {
      long dispatched = n.longValue();
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

  private void merge(UIMessage incoming) {
    int at = indexOf(incoming.id());
    if (at < 0) {
      add(incoming);
      return;
    }
    UIMessage existing = messages.get(at);
    if (incoming.role().equals("assistant") && existing.role().equals("assistant")) {
      messages.set(at, overlayTools(existing, incoming));
    } else {
      messages.set(at, incoming);
    }
  }

  /**
   * H6: an incoming assistant message advances tool parts: only {@code state}, {@code output},
   * {@code errorText} and {@code approval} are taken, and a part already at an output state stays.
   */
  static UIMessage overlayTools(UIMessage existing, UIMessage incoming) {
    var advanced = new HashMap<String, JsonObject>();
    for (JsonObject part : incoming.parts()) {
      if (isTool(part) && part.get("toolCallId") instanceof JsonString id) {
        advanced.put(id.value(), part);
      }
    }
    if (advanced.isEmpty()) {
      return existing;
    }
    boolean changed = false;
    var parts = new ArrayList<JsonValue>();
    for (JsonObject part : existing.parts()) {
      JsonObject next = part;
      if (isTool(part)
          && part.get("toolCallId") instanceof JsonString id
          && advanced.containsKey(id.value())
          && !settled(part)) {
        JsonObject in = advanced.get(id.value());
        for (String field : List.of("state", "output", "errorText", "approval")) {
          JsonValue value = in.get(field);
          if (value != null) {
            next = next.with(field, value);
          }
        }
        changed |= !next.equals(part);
      }
      parts.add(next);
    }
    return changed
        ? new UIMessage(existing.json().with("parts", JsonArray.adopt(parts)))
        : existing;
  }

  private static boolean settled(JsonObject toolPart) {
    String state = toolPart.string("state").orElse("");
    return state.startsWith("output-") || state.equals("output-denied");
  }

  private static boolean isTool(JsonObject part) {
    String type = part.string("type").orElse("");
    return type.startsWith("tool-") || type.equals("dynamic-tool");
  }

  // ------------------------------------------------------------------------ out chunks (H2, H4)

  /**
   * Folds the chunks of one turn, cut into segments at each {@code start} (a segment also ends at
   * {@code finish}). A segment whose {@code start} names a message in the history continues it in
   * place (H3); otherwise it continues the last message if that is an assistant message (F2), else
   * starts a new one. A segment without {@code finish} is cleaned up as a partial (H4, L7).
   */
  private void fold() {
    int n = turnChunks.size();
    int i = 0;
    while (i < n) {
      UIMessageChunk first = turnChunks.get(i);
      UIMessage base = null;
      if (first.type().equals("start") && first.json().get("messageId") instanceof JsonString id) {
        int at = indexOf(id.value());
        base = at >= 0 ? messages.get(at) : null;
      } else if (!messages.isEmpty()) {
        base = messages.get(messages.size() - 1);
      }
      ChunkFold fold =
          base != null && base.role().equals("assistant")
              ? ChunkFold.continuing(base)
              : ChunkFold.create();
      int j = i;
      while (j < n) {
        UIMessageChunk chunk = turnChunks.get(j);
        if (j > i && chunk.type().equals("start")) {
          break;
        }
        try {
          fold.accept(chunk);
        } catch (ChunkFoldException e) {
          foldErrors++;
          LOG.debug(
              "session [{}] out [{}] not folded: {}", sessionId, turnSeqs.get(j), e.getMessage());
        }
        j++;
        if (chunk.type().equals("finish")) {
          break;
        }
      }
      Optional<UIMessage> folded = fold.finished() ? fold.message() : fold.partial();
      if (folded.isPresent()) {
        UIMessage message = folded.get();
        if (message.id().isEmpty()) {
          // No start named it: an id derived from the out record keeps every rebuild identical.
          message =
              new UIMessage(
                  message
                      .json()
                      .with("id", JsonValue.of("out-" + sessionId + "-" + turnSeqs.get(i))));
        }
        int at = indexOf(message.id());
        if (at >= 0) {
          messages.set(at, message);
        } else {
          add(message);
        }
      }
      i = j;
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
