package dev.durablechat.core;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.InvalidInputException;
import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.Snapshot;
import dev.durablechat.api.SnapshotConflictException;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.Trigger;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoreCapability;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A session's history (PROTOCOL H1–H7, design "History = snapshot + tail"): {@link #rebuild} reads
 * the snapshot and replays the {@code out} stream after it, and {@link #completeTurn} ends a turn
 * with {@code turn-complete} and writes the next snapshot.
 *
 * <p>The {@code out} stream is the truth and the snapshot only a cache of a prefix of it: a
 * missing, unreadable or stale snapshot only makes the replayed tail longer, and a failed snapshot
 * write fails nothing (the next turn writes again). Snapshot writes are conditional on the version
 * this object last read or wrote for the session, so a snapshot's watermark never moves backwards
 * (invariant 8).
 *
 * <p>Use the engine's own, {@link DurableChat#history()}: it remembers each session's snapshot
 * version, so there must be one per engine ({@link #builder(DurableChat)} builds another, e.g. with
 * a {@link HydrateMessages} hook, or to stand for another node in a test). It is thread-safe; one
 * run at a time completes a session's turns.
 *
 * <p>What the agent must do for the replay to match its own history: end every turn with {@link
 * #completeTurn} (an action (L6), which takes no snapshot, appends {@link OutEvent.TurnComplete}
 * with {@link DurableChat#appendOut} instead), and name each reply in its {@code start} chunk's
 * {@code messageId}, as the AI SDK does when given the original messages. A reply that names no
 * message gets the id {@code out-<sessionId>-<event id of its first chunk>} in a replay, so every
 * replay agrees, but a history that called it something else would differ from it.
 *
 * <pre>{@code
 * ChatHistory history = chat.history().withRetention(true);
 * ChatHistory.Rebuilt boot = history.rebuild("chat-1");
 * // answer boot.pending() in order, then for each turn:
 * history.completeTurn("chat-1", runId, messages, dispatchedInEventId);
 * }</pre>
 */
public final class ChatHistory {
  private static final Logger LOG = LoggerFactory.getLogger(ChatHistory.class);

  private final DurableChat chat;
  private final @Nullable SnapshotStore snapshots;
  // Reads and writes the snapshot as a manifest and segments (H1); null without a store.
  private final @Nullable SegmentedSnapshots segmented;
  private final @Nullable HydrateMessages hydrate;
  private final boolean retention;
  private final AtomicBoolean retentionUnsupportedLogged = new AtomicBoolean();
  // What this history last read or wrote per session; losing an entry only costs a re-read.
  // Shared with the views of withRetention, which are the same history.
  private final Cache<String, Known> known;
  // The in watermark of the last snapshot this history wrote per session (RetentionPolicy#trimIn).
  private final Cache<String, Long> coveredIn;

  private ChatHistory(Builder b) {
    this.chat = b.chat;
    this.hydrate = b.hydrate;
    this.retention = b.retention;
    this.snapshots = b.hydrate == null ? chat.snapshotStore().orElse(null) : null;
    this.segmented = snapshots == null ? null : new SegmentedSnapshots(snapshots);
    this.known = Caffeine.newBuilder().maximumSize(10_000).executor(Runnable::run).build();
    this.coveredIn = Caffeine.newBuilder().maximumSize(10_000).executor(Runnable::run).build();
    if (hydrate == null && snapshots == null) {
      LOG.warn(
          "durablechat history in [{}] has neither a snapshot store nor a hydrateMessages hook:"
              + " every rebuild replays the whole out stream (H7)",
          chat.environment());
    }
  }

  private ChatHistory(ChatHistory same, boolean retention) {
    this.chat = same.chat;
    this.hydrate = same.hydrate;
    this.snapshots = same.snapshots;
    this.segmented = same.segmented;
    this.known = same.known;
    this.coveredIn = same.coveredIn;
    this.retention = retention;
  }

  /**
   * This history with retention (H5) on or off: the same history (it shares what this one knows of
   * each session's snapshot), only trimming {@code out} after each snapshot, or not.
   */
  public ChatHistory withRetention(boolean retention) {
    return retention == this.retention ? this : new ChatHistory(this, retention);
  }

  /**
   * A new history with no hook and no retention, on the engine's snapshot store if it has one. An
   * engine's history is {@link DurableChat#history()}; this builds another.
   */
  public static ChatHistory of(DurableChat chat) {
    return builder(chat).build();
  }

  /** A builder for a history over {@code chat}'s streams and snapshot store. */
  public static Builder builder(DurableChat chat) {
    return new Builder(Objects.requireNonNull(chat, "chat must not be null"));
  }

  /**
   * Rebuilds the session's history for a run that boots (H2–H4): the snapshot (if any, and if it is
   * readable), then every turn on {@code out} after its watermark, each closed by a {@code
   * turn-complete} that names the last {@code in} record it dispatched: those {@code in} messages
   * are merged by id (H3, H6), then the turn's chunks are folded. Chunks after the last {@code
   * turn-complete} are a partial reply, cleaned up (H4) and placed after the message it answered.
   * With a {@link HydrateMessages} hook, the hook gives the history instead (H7).
   *
   * @throws dev.durablechat.api.NoSuchSessionException if there is no session at the address
   */
  public Rebuilt rebuild(String address) {
    String sessionId = chat.session(address).friendlyId();
    if (hydrate != null) {
      return hydrated(sessionId, hydrate);
    }
    Snapshot snapshot = null;
    String version = null;
    String problem = null;
    SnapshotKey key = new SnapshotKey(chat.environment(), sessionId);
    if (segmented != null) {
      try {
        Optional<SegmentedSnapshots.Read> stored = segmented.read(key);
        if (stored.isPresent()) {
          version = stored.get().version();
          snapshot = stored.get().snapshot();
          problem = stored.get().problem();
          if (problem != null) {
            LOG.warn(
                "snapshot [{}] is treated as absent (H1), replaying out from the start: {}",
                key.path(),
                problem);
          }
        }
      } catch (RuntimeException e) {
        problem = "snapshot read failed: " + e.getMessage();
        LOG.warn(
            "snapshot [{}] could not be read, replaying out from the start: {}",
            key.path(),
            e.toString());
      }
    }
    Rebuilt rebuilt = new Replay(chat.sessionStore(), sessionId).run(snapshot, problem);
    long watermark = snapshot == null ? 0 : snapshot.lastOutEventId();
    // After a failed read the version is unknown (null): the next write conflicts and re-reads.
    known.put(sessionId, new Known(version, watermark, rebuilt.lastOutEventId()));
    return rebuilt;
  }

  private Rebuilt hydrated(String sessionId, HydrateMessages hook) {
    Replay replay = new Replay(chat.sessionStore(), sessionId);
    long lastOut = replay.lastTurnComplete();
    long lastIn = replay.lastDispatched();
    List<StreamRecord<InEvent.Message>> pending = replay.pendingAfter(lastIn);
    List<UIMessage> incoming = List.of();
    for (StreamRecord<InEvent.Message> r : pending) {
      if (r.event().payload().message() != null) {
        incoming = List.of(r.event().payload().message());
        break;
      }
    }
    List<UIMessage> messages = hook.hydrate(incoming);
    if (messages == null) {
      throw new InvalidInputException(
          "hydrateMessages hook returned [null] for session [" + sessionId + "], expected a list");
    }
    known.put(sessionId, new Known(null, -1, lastOut));
    return new Rebuilt(
        List.copyOf(messages),
        lastOut,
        lastIn,
        pending,
        false,
        new Source(false, 0, 0, 0, 0, null, false, true));
  }

  /**
   * Ends a turn: appends {@code turn-complete} naming the last dispatched {@code in} record (W6),
   * fenced by the run id, then writes the snapshot {@code {history, lastOutEventId = the
   * turn-complete's event id, lastInEventId = dispatchedInEventId}} (H1), conditionally on the
   * version this object last read or wrote. The snapshot write never fails the turn: a conflict, an
   * unavailable store or any other failure is logged and the next turn writes again. With retention
   * on, a written snapshot at turn {@code Tn} lets {@code out} be trimmed through {@code T(n-1)}
   * (H5). With a {@link HydrateMessages} hook there is no snapshot (H7).
   *
   * @param history the session's whole history after the turn
   * @param dispatchedInEventId the highest {@code in} event id the turn dispatched
   * @throws dev.durablechat.api.FencedException if {@code runId} is not the current run; nothing is
   *     written
   */
  public TurnCompleted completeTurn(
      String address, String runId, List<UIMessage> history, long dispatchedInEventId) {
    Objects.requireNonNull(history, "history must not be null");
    Appended appended =
        chat.appendOut(address, runId, new OutEvent.TurnComplete(dispatchedInEventId));
    return snapshot(address, history, appended.lastEventId(), dispatchedInEventId);
  }

  /**
   * The second half of {@link #completeTurn}, for a caller that appended the {@code turn-complete}
   * itself and runs hooks between the record and the snapshot (PROTOCOL L2: {@code turn-complete} →
   * {@code onTurnComplete} → snapshot): writes the snapshot {@code {history, lastOutEventId =
   * turnCompleteEventId, lastInEventId = dispatchedInEventId}} (H1) with the same conditional
   * write, logging and retention as {@link #completeTurn}. Never fails: a snapshot that was not
   * written is logged and left to the next turn. With a {@link HydrateMessages} hook there is no
   * snapshot.
   *
   * @param history the session's whole history as of that {@code turn-complete}
   * @param turnCompleteEventId the {@code out} event id of the {@code turn-complete}
   * @param dispatchedInEventId the highest {@code in} event id it names
   */
  public TurnCompleted snapshot(
      String address, List<UIMessage> history, long turnCompleteEventId, long dispatchedInEventId) {
    Objects.requireNonNull(history, "history must not be null");
    String sessionId = chat.session(address).friendlyId();
    long turnComplete = turnCompleteEventId;
    if (snapshots == null || hydrate != null) {
      known.put(sessionId, new Known(null, -1, turnComplete));
      return new TurnCompleted(turnComplete, false, 0);
    }
    Known before = known.getIfPresent(sessionId);
    boolean written = writeSnapshot(sessionId, history, turnComplete, dispatchedInEventId);
    if (written && deletedMeanwhile(sessionId)) {
      return new TurnCompleted(turnComplete, false, 0);
    }
    long trimmed = 0;
    boolean trimOut = retention || chat.retention().trimOut();
    if (written && trimOut && before != null && before.lastTurnComplete() > 0) {
      trimmed = trim(sessionId, StreamKind.OUT, before.lastTurnComplete());
    }
    if (written && chat.retention().trimIn()) {
      // One snapshot behind, as for out: the in records the previous snapshot already covered.
      Long previousIn = coveredIn.getIfPresent(sessionId);
      if (previousIn != null && previousIn > 0) {
        trim(sessionId, StreamKind.IN, previousIn);
      }
      coveredIn.put(sessionId, dispatchedInEventId);
    }
    Known after = known.getIfPresent(sessionId);
    known.put(
        sessionId,
        after == null
            ? new Known(null, -1, turnComplete)
            : new Known(after.version(), after.watermark(), turnComplete));
    return new TurnCompleted(turnComplete, written, trimmed);
  }

  /**
   * Writes the snapshot at watermark {@code lastOut}; false (logged) if it was not written. Split
   * from {@link #completeTurn} so tests can interleave two writers.
   */
  boolean writeSnapshot(String sessionId, List<UIMessage> history, long lastOut, long lastIn) {
    SegmentedSnapshots store = Objects.requireNonNull(segmented);
    SnapshotKey key = new SnapshotKey(chat.environment(), sessionId);
    Known k = known.getIfPresent(sessionId);
    if (k != null && k.watermark() >= lastOut) {
      LOG.debug("snapshot [{}] already at [{}] >= [{}]", key.path(), k.watermark(), lastOut);
      return false;
    }
    long lastTurnComplete = k == null ? lastOut : k.lastTurnComplete();
    SegmentedSnapshots.Outcome outcome =
        store.write(
            key, history, chat.clock().instant(), lastOut, lastIn, k == null ? null : k.version());
    switch (outcome.kind()) {
      case WRITTEN:
        known.put(sessionId, new Known(outcome.version(), lastOut, lastTurnComplete));
        chat.telemetry().snapshotWrite(true);
        return true;
      case STALE:
        known.put(sessionId, new Known(outcome.version(), outcome.watermark(), lastTurnComplete));
        return false;
      default:
        chat.telemetry().snapshotWrite(false);
        return false;
    }
  }

  /**
   * Whether the session was deleted (S11) while its snapshot was being written: then the snapshot
   * just written is deleted again, so that a delete racing a turn leaves no snapshot behind. One
   * primary-key read per written snapshot.
   */
  private boolean deletedMeanwhile(String sessionId) {
    try {
      if (chat.sessionStore().findByFriendlyId(chat.environment(), sessionId).isPresent()) {
        return false;
      }
    } catch (RuntimeException e) {
      return false; // the store is away; the session most likely still exists
    }
    known.invalidate(sessionId);
    chat.deleteSnapshot(new SnapshotKey(chat.environment(), sessionId));
    return true;
  }

  private long trim(String sessionId, StreamKind stream, long through) {
    SessionStore store = chat.sessionStore();
    if (!store.capabilities().contains(StoreCapability.TRIM)) {
      if (retentionUnsupportedLogged.compareAndSet(false, true)) {
        LOG.info("retention is on but the session store [{}] cannot trim: out is kept (H5)", store);
      }
      return 0;
    }
    try {
      return store.trim(sessionId, stream, through);
    } catch (RuntimeException e) {
      LOG.warn(
          "session [{}] {}: trim through [{}] failed: {}",
          sessionId,
          stream.wireName(),
          through,
          e.toString());
      return 0;
    }
  }

  /**
   * Reads the session's snapshot as a rebuild does (H1): a full version 1 document, or a manifest
   * and its segments assembled into one {@link Snapshot}. For tools and tests; a rebuild does this
   * itself.
   *
   * @param store the snapshot store
   * @param key the session's {@code snapshot.json} key
   * @return the snapshot, or empty if there is none
   * @throws InvalidPayloadException if it is unreadable (a rebuild counts it as none)
   * @throws InvalidInputException if {@code key} is a segment's key
   */
  public static Optional<Snapshot> readSnapshot(SnapshotStore store, SnapshotKey key) {
    Objects.requireNonNull(store, "store must not be null");
    Objects.requireNonNull(key, "key must not be null");
    if (key.isSegment()) {
      throw new InvalidInputException(
          "readSnapshot needs a snapshot.json key, got segment [" + key.path() + "]");
    }
    Optional<SegmentedSnapshots.Read> read = new SegmentedSnapshots(store).read(key);
    if (read.isPresent() && read.get().problem() != null) {
      throw new InvalidPayloadException(read.get().problem());
    }
    return read.map(SegmentedSnapshots.Read::snapshot);
  }

  /**
   * Rewrites the session's segmented snapshot (H1: a manifest in {@code snapshot.json} naming
   * segment objects) as one full version 1 document, then deletes its segments: the way back to a
   * release that reads only full snapshots (docs/history.md "Migration"). The write is conditional
   * on the manifest's version, so a turn that writes meanwhile wins and this one fails with a
   * conflict; run it with the session's runs stopped. A full snapshot, or none, is left as it is.
   *
   * @param store the snapshot store
   * @param key the session's {@code snapshot.json} key
   * @return whether a manifest was rewritten
   * @throws SnapshotConflictException if the manifest changed meanwhile (compact again)
   * @throws InvalidPayloadException if the manifest or one of its segments is unreadable or missing
   * @throws InvalidInputException if {@code key} is a segment's key
   */
  public static boolean compactSnapshot(SnapshotStore store, SnapshotKey key) {
    Objects.requireNonNull(store, "store must not be null");
    Objects.requireNonNull(key, "key must not be null");
    if (key.isSegment()) {
      throw new InvalidInputException(
          "compactSnapshot needs a snapshot.json key, got segment [" + key.path() + "]");
    }
    return SegmentedSnapshots.compact(store, key);
  }

  /** Whether messages of this trigger can start a turn that an {@code out} reply answers. */
  static boolean answerable(Trigger trigger) {
    return trigger == Trigger.SUBMIT_MESSAGE || trigger == Trigger.REGENERATE_MESSAGE;
  }

  /** The snapshot version and watermark last seen, and the last {@code turn-complete} seen. */
  private record Known(@Nullable String version, long watermark, long lastTurnComplete) {}

  /**
   * The application as the source of truth (H7): given the turn's incoming messages (none or one),
   * returns the whole history. With a hook there is no snapshot read or write and no replay.
   */
  @FunctionalInterface
  public interface HydrateMessages {
    /** The history, given the incoming messages (0 or 1). */
    List<UIMessage> hydrate(List<UIMessage> incomingMessages);
  }

  /**
   * A rebuilt history.
   *
   * @param messages the history, in order, including the partial reply (if any) and the message it
   *     answered
   * @param lastOutEventId the last {@code turn-complete} covered, 0 if none
   * @param lastInEventId the last {@code in} event dispatched by a completed turn, 0 if none
   * @param pending the {@code message} records after {@code lastInEventId}, in order: the turns
   *     still to answer (the first stays pending even when a partial reply placed it in {@code
   *     messages}; merging by id keeps it single)
   * @param partialReply whether chunks after the last {@code turn-complete} were cleaned up (H4)
   * @param source where the history came from, for diagnostics
   */
  public record Rebuilt(
      List<UIMessage> messages,
      long lastOutEventId,
      long lastInEventId,
      List<StreamRecord<InEvent.Message>> pending,
      boolean partialReply,
      Source source) {
    /** Copies the lists. */
    public Rebuilt {
      messages = List.copyOf(messages);
      pending = List.copyOf(pending);
    }
  }

  /**
   * Where a rebuilt history came from.
   *
   * @param fromSnapshot whether a snapshot was used
   * @param snapshotOutEventId the snapshot's {@code lastOutEventId}, 0 without one
   * @param snapshotInEventId the snapshot's {@code lastInEventId}, 0 without one
   * @param outRecordsReplayed how many {@code out} records were replayed after the snapshot
   * @param inRecordsRead how many {@code in} records were read after the snapshot
   * @param snapshotProblem why a stored snapshot was ignored (unreadable, unknown version), or null
   * @param outTrimmed whether {@code out} records the replay needed were already trimmed (the
   *     history may then miss turns)
   * @param hydrated whether a {@link HydrateMessages} hook gave the history
   */
  public record Source(
      boolean fromSnapshot,
      long snapshotOutEventId,
      long snapshotInEventId,
      long outRecordsReplayed,
      long inRecordsRead,
      @Nullable String snapshotProblem,
      boolean outTrimmed,
      boolean hydrated) {}

  /**
   * A completed turn.
   *
   * @param turnCompleteEventId the {@code out} event id of the {@code turn-complete}
   * @param snapshotWritten whether the snapshot was written (false: logged, retried next turn)
   * @param trimmedOutRecords how many {@code out} records retention removed
   */
  public record TurnCompleted(
      long turnCompleteEventId, boolean snapshotWritten, long trimmedOutRecords) {}

  /** Builds a {@link ChatHistory}. */
  public static final class Builder {
    private final DurableChat chat;
    private @Nullable HydrateMessages hydrate;
    private boolean retention;

    private Builder(DurableChat chat) {
      this.chat = chat;
    }

    /**
     * Makes the application the source of truth (H7): no snapshot read or write, no replay. Off by
     * default.
     */
    public Builder hydrateMessages(HydrateMessages hook) {
      this.hydrate = Objects.requireNonNull(hook, "hydrateMessages hook must not be null");
      return this;
    }

    /**
     * Retention (H5): after a snapshot at turn {@code Tn} is written, trim {@code out} through
     * {@code T(n-1)}, if the session store can trim ({@link StoreCapability#TRIM}); {@code in} is
     * never trimmed. Off by default.
     */
    public Builder retention(boolean retention) {
      this.retention = retention;
      return this;
    }

    /** The history. Warns once if it has neither a snapshot store nor a hook (H7). */
    public ChatHistory build() {
      return new ChatHistory(this);
    }
  }
}
