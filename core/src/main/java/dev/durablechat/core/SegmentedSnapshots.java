package dev.durablechat.core;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.Snapshot;
import dev.durablechat.api.SnapshotConflictException;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoredSnapshot;
import dev.durablechat.core.internal.RetainedBytes;
import dev.durablechat.core.internal.SnapshotCodec;
import dev.durablechat.core.internal.SnapshotManifest;
import dev.durablechat.core.internal.SnapshotManifest.Segment;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Segmented snapshots (PROTOCOL H1, docs/history.md "Segmented snapshots"): {@code snapshot.json}
 * holds a small manifest, the only object written conditionally, and names immutable segment
 * objects beside it, each written once under a fresh name before the manifest that references it. A
 * turn writes only the messages from the first one that differs from what the last manifest covers
 * (a delta), so the bytes written per turn follow the turn, not the history.
 *
 * <p>The write policy, and why it bounds both costs:
 *
 * <ul>
 *   <li>A delta that the new truncation point or a later delta covers entirely is dropped: its
 *       messages are no longer in the history.
 *   <li>Tier 0, one turn's delta, is merged with the trailing tier 0 deltas into one tier 1 delta
 *       once there are {@code k = sqrt(base bytes / turn bytes)} of them (between {@value
 *       #MIN_FAN_IN} and {@value #MAX_FAN_IN}): a turn's bytes are written twice as deltas and the
 *       manifest names at most about {@code 2k} deltas.
 *   <li>A fresh base (the whole history, one segment) replaces everything when the deltas' bytes
 *       pass {@value #DELTA_FRACTION} times the base's: the history has then grown 2.5 times since
 *       the last base, so bases cost about 1.7 turn-bytes per turn, amortized. Together about 3.7
 *       times the turn's message bytes per turn, at any history length, plus the manifest. (A
 *       fraction of 0.5 would cost 3 turn-bytes per turn in bases; the rebuild bound does not need
 *       it, the next rule keeps that.)
 *   <li>A fresh base is also written when the segments' bytes pass {@value #PARSE_BOUND} times the
 *       bytes of the messages still live in them (edits and regenerations (H6) truncate; a merge
 *       that changes an old message makes a delta start early): a rebuild parses at most 1.5 times
 *       what one full snapshot of the same history would hold.
 * </ul>
 *
 * <p>Segments that a written manifest no longer names are deleted after its write (best effort; a
 * writer whose manifest write lost deletes the segment it wrote). A rebuild that finds a segment
 * missing (deleted by a newer writer meanwhile) reads the manifest again once; a segment still
 * missing makes the snapshot unreadable, which counts as none (H1).
 */
final class SegmentedSnapshots {
  private static final Logger LOG = LoggerFactory.getLogger(SegmentedSnapshots.class);

  /**
   * A fresh base is written when the deltas' bytes pass this multiple of the base's. It bounds the
   * number of merged deltas (about this times k) and the base rewrites' cost ((1 + f) / f turn
   * bytes per turn); the rebuild's parse bound comes from {@link #PARSE_BOUND} instead.
   */
  static final double DELTA_FRACTION = 1.5;

  /** A fresh base is written when all segments' bytes pass this multiple of the live bytes. */
  static final double PARSE_BOUND = 1.5;

  static final int MIN_FAN_IN = 4;
  static final int MAX_FAN_IN = 64;
  static final int TIER_TURN = 0;
  static final int TIER_MERGED = 1;
  static final int TIER_BASE = 2;

  private final SnapshotStore store;
  // What the manifest at a version holds, per session: its messages' prints let the next turn write
  // only what changed. Losing an entry costs one full base. Weighed in messages (20 bytes each).
  private final Cache<SnapshotKey, Written> written;

  SegmentedSnapshots(SnapshotStore store) {
    this.store = Objects.requireNonNull(store);
    this.written =
        Caffeine.newBuilder()
            .maximumWeight(2_000_000)
            .weigher((SnapshotKey k, Written w) -> w.weight())
            .expireAfterAccess(Duration.ofHours(6))
            .executor(Runnable::run)
            .build();
  }

  /**
   * A snapshot as read: its version, and either the history or why it counts as none.
   *
   * @param version the version of {@code snapshot.json}
   * @param snapshot the history, or null if unreadable
   * @param problem why it is unreadable, or null
   */
  record Read(String version, @Nullable Snapshot snapshot, @Nullable String problem) {}

  /** What a write did. */
  enum Kind {
    WRITTEN,
    STALE,
    FAILED
  }

  /**
   * A write's outcome.
   *
   * @param kind written, not written because the stored one is as new (stale), or failed
   * @param version the version now stored (written or stale), or null
   * @param watermark the stored watermark (written or stale)
   * @param segmentBytes the bytes of the segment objects written (0 if none)
   * @param manifestBytes the bytes of the manifest written (0 if none)
   */
  record Outcome(
      Kind kind, @Nullable String version, long watermark, long segmentBytes, long manifestBytes) {
    static Outcome failed() {
      return new Outcome(Kind.FAILED, null, -1, 0, 0);
    }
  }

  /**
   * What the manifest at {@code version} holds: after a write, the prints of its messages; after a
   * read, the messages themselves (the run that rebuilt holds them anyway) until the next write
   * prints them.
   */
  private record Written(
      String version,
      @Nullable SnapshotManifest manifest,
      @Nullable List<UIMessage> messages,
      @Nullable MessagePrints prints) {
    MessagePrints printed() {
      return prints != null ? prints : MessagePrints.of(Objects.requireNonNull(messages));
    }

    int weight() {
      return 1 + (prints != null ? prints.size() : messages == null ? 0 : messages.size());
    }
  }

  /** A planned write: the segment to create (if any) and the manifest that names it. */
  record Plan(@Nullable Segment segment, byte @Nullable [] bytes, SnapshotManifest manifest) {}

  // ---- reading

  /**
   * Reads the session's snapshot, full (version 1) or segmented (a manifest and its segments).
   *
   * @return empty if there is none
   * @throws RuntimeException if the store fails
   */
  Optional<Read> read(SnapshotKey key) {
    for (int attempt = 1; ; attempt++) {
      Optional<StoredSnapshot> stored = store.read(key);
      if (stored.isEmpty()) {
        written.invalidate(key);
        return Optional.empty();
      }
      String version = stored.get().version();
      byte[] content = stored.get().content();
      try {
        if (!SnapshotManifest.isManifest(content)) {
          Snapshot snapshot = SnapshotCodec.decode(content);
          written.put(key, new Written(version, null, snapshot.messages(), null));
          return Optional.of(new Read(version, snapshot, null));
        }
        SnapshotManifest manifest = SnapshotManifest.decode(content);
        List<UIMessage> messages = assemble(key, manifest);
        if (messages == null) {
          if (attempt == 1) {
            continue; // a newer writer replaced the manifest and deleted a segment: read again
          }
          throw new InvalidPayloadException(
              "snapshot [" + key.path() + "] names a segment that is missing");
        }
        Snapshot snapshot =
            new Snapshot(
                Snapshot.CURRENT_VERSION,
                manifest.savedAt(),
                messages,
                manifest.lastOutEventId(),
                manifest.lastInEventId());
        written.put(key, new Written(version, manifest, snapshot.messages(), null));
        return Optional.of(new Read(version, snapshot, null));
      } catch (InvalidPayloadException e) {
        written.invalidate(key);
        return Optional.of(new Read(version, null, e.getMessage()));
      }
    }
  }

  /** The manifest's history, or null if one of its segments is missing. */
  private @Nullable List<UIMessage> assemble(SnapshotKey key, SnapshotManifest manifest) {
    var messages = new ArrayList<UIMessage>(manifest.messages());
    for (Segment segment : manifest.segments()) {
      Optional<StoredSnapshot> part = store.read(key.withSegment(segment.name()));
      if (part.isEmpty()) {
        LOG.debug("snapshot [{}]: segment [{}] is missing", key.path(), segment.name());
        return null;
      }
      List<UIMessage> appended;
      try {
        // A segment's messages keep their ranges of its bytes (no copy) unless that holds much
        // more heap than they need (bytes later segments truncated away, a large array's
        // rounding): then each live message copies its own.
        byte[] content = part.get().content();
        boolean share = RetainedBytes.keep(content.length, content.length - segment.dead());
        appended = SnapshotCodec.decode(content, share).messages();
      } catch (InvalidPayloadException e) {
        throw new InvalidPayloadException(
            "segment [" + segment.name() + "] is not readable: " + e.getMessage(), e);
      }
      if (appended.size() != segment.count()) {
        throw new InvalidPayloadException(
            "segment ["
                + segment.name()
                + "] holds ["
                + appended.size()
                + "] messages, the manifest says ["
                + segment.count()
                + "]");
      }
      messages.subList(segment.from(), messages.size()).clear();
      messages.addAll(appended);
    }
    return messages;
  }

  /** The watermark of stored content, -1 if it is unreadable (then it is no snapshot). */
  private static long watermarkOf(byte[] content) {
    try {
      return SnapshotManifest.isManifest(content)
          ? SnapshotManifest.decode(content).lastOutEventId()
          : SnapshotCodec.decode(content).lastOutEventId();
    } catch (InvalidPayloadException e) {
      return -1;
    }
  }

  private static List<String> segmentsOf(byte[] content) {
    if (!SnapshotManifest.isManifest(content)) {
      return List.of();
    }
    try {
      return SnapshotManifest.decode(content).segments().stream().map(Segment::name).toList();
    } catch (InvalidPayloadException e) {
      return List.of(); // unreadable: nothing to follow; deleting the session sweeps the folder
    }
  }

  // ---- writing

  /**
   * Writes the history at watermark {@code lastOut}: the segment this turn needs, then the
   * manifest, conditionally on {@code expected}. On a conflict, re-reads: a stored snapshot at the
   * same or a newer watermark wins (stale); an older one is replaced once by a fresh base.
   */
  Outcome write(
      SnapshotKey key,
      List<UIMessage> history,
      Instant savedAt,
      long lastOut,
      long lastIn,
      @Nullable String expected) {
    Written prev = written.getIfPresent(key);
    Plan plan;
    List<String> replaced;
    MessagePrints prints;
    try {
      prints = MessagePrints.of(history);
      if (prev != null && prev.manifest() != null && Objects.equals(prev.version(), expected)) {
        plan = plan(prev.manifest(), prev.printed(), history, prints, savedAt, lastOut, lastIn);
        replaced = prev.manifest().segments().stream().map(Segment::name).toList();
      } else {
        plan = base(history, savedAt, lastOut, lastIn);
        // A manifest this writer does not hold: its segments are read to be deleted afterwards.
        replaced = expected == null ? List.of() : storedSegments(key, expected);
      }
    } catch (RuntimeException e) {
      LOG.warn("snapshot [{}] at [{}] could not be encoded: {}", key.path(), lastOut, e.toString());
      return Outcome.failed();
    }
    for (int attempt = 1; ; attempt++) {
      if (plan.segment() != null) {
        try {
          store.write(key.withSegment(plan.segment().name()), plan.bytes(), null);
        } catch (RuntimeException e) {
          LOG.warn(
              "snapshot [{}] at [{}]: segment [{}] not written, the next turn writes again: {}",
              key.path(),
              lastOut,
              plan.segment().name(),
              e.toString());
          return Outcome.failed();
        }
      }
      byte[] manifestBytes = plan.manifest().encode();
      try {
        String version = store.write(key, manifestBytes, expected);
        Set<String> kept = new HashSet<>();
        plan.manifest().segments().forEach(s -> kept.add(s.name()));
        for (String name : replaced) {
          if (!kept.contains(name)) {
            deleteQuietly(key.withSegment(name));
          }
        }
        written.put(key, new Written(version, plan.manifest(), null, prints));
        long segmentBytes = plan.bytes() == null ? 0 : plan.bytes().length;
        return new Outcome(Kind.WRITTEN, version, lastOut, segmentBytes, manifestBytes.length);
      } catch (SnapshotConflictException e) {
        if (plan.segment() != null) {
          deleteQuietly(key.withSegment(plan.segment().name()));
        }
        written.invalidate(key);
        if (attempt > 1) {
          LOG.info(
              "snapshot [{}] at [{}] lost a second conflicting write, left to the next turn: {}",
              key.path(),
              lastOut,
              e.getMessage());
          return Outcome.failed();
        }
        // Someone else wrote: re-read, and write over it only if it is older than ours.
        Optional<StoredSnapshot> current;
        try {
          current = store.read(key);
        } catch (RuntimeException readFailure) {
          LOG.warn(
              "snapshot [{}] conflict at [{}], and the re-read failed: {}",
              key.path(),
              lastOut,
              readFailure.toString());
          return Outcome.failed();
        }
        if (current.isEmpty()) {
          expected = null;
          replaced = List.of();
        } else {
          expected = current.get().version();
          long stored = watermarkOf(current.get().content());
          if (stored >= lastOut) {
            LOG.info(
                "snapshot [{}] at [{}] not written: the stored one is already at [{}]"
                    + " (invariant 8)",
                key.path(),
                lastOut,
                stored);
            return new Outcome(Kind.STALE, expected, stored, 0, 0);
          }
          replaced = segmentsOf(current.get().content());
        }
        try {
          plan = base(history, savedAt, lastOut, lastIn);
        } catch (RuntimeException encoding) {
          LOG.warn(
              "snapshot [{}] at [{}] could not be encoded: {}",
              key.path(),
              lastOut,
              encoding.toString());
          return Outcome.failed();
        }
      } catch (RuntimeException e) {
        // Whether the manifest landed is unknown: its segment stays (an orphan at worst, deleted
        // with the session).
        written.invalidate(key);
        LOG.warn(
            "snapshot [{}] at [{}] not written, the next turn writes again: {}",
            key.path(),
            lastOut,
            e.toString());
        return Outcome.failed();
      }
    }
  }

  private List<String> storedSegments(SnapshotKey key, String expected) {
    try {
      Optional<StoredSnapshot> current = store.read(key);
      if (current.isPresent() && current.get().version().equals(expected)) {
        return segmentsOf(current.get().content());
      }
    } catch (RuntimeException e) {
      LOG.debug("snapshot [{}]: segments to replace not read: {}", key.path(), e.toString());
    }
    return List.of();
  }

  private void deleteQuietly(SnapshotKey segment) {
    try {
      store.delete(segment);
    } catch (RuntimeException e) {
      LOG.debug("segment [{}] not deleted (best effort): {}", segment.path(), e.toString());
    }
  }

  /** A fresh base: the whole history in one segment. */
  private static Plan base(List<UIMessage> history, Instant savedAt, long lastOut, long lastIn) {
    byte[] bytes = encode(history, savedAt, lastOut, lastIn);
    Segment base = new Segment(name(lastOut), 0, history.size(), bytes.length, TIER_BASE);
    return new Plan(
        base, bytes, new SnapshotManifest(savedAt, lastOut, lastIn, history.size(), List.of(base)));
  }

  /**
   * The cheapest write that turns {@code previous} (whose messages print as {@code before}) into
   * the history (which prints as {@code after}).
   */
  static Plan plan(
      SnapshotManifest previous,
      MessagePrints before,
      List<UIMessage> history,
      MessagePrints after,
      Instant savedAt,
      long lastOut,
      long lastIn) {
    int n = history.size();
    int d = MessagePrints.firstDifference(before, after);
    if (d == n && n == before.size()) {
      // No message changed (e.g. an errored turn that added nothing): only the watermarks move.
      return new Plan(
          null, null, new SnapshotManifest(savedAt, lastOut, lastIn, n, previous.segments()));
    }
    if (d == 0) {
      return base(history, savedAt, lastOut, lastIn);
    }
    List<Segment> kept = dropDead(previous.segments(), d);
    int from = d;
    int tier = TIER_TURN;
    // Sizes come from the messages' lengths; only the segment finally chosen is encoded.
    long bytes = SnapshotCodec.encodedLength(history.subList(from, n), savedAt, lastOut, lastIn);
    long baseBytes = Math.max(1, kept.get(0).bytes());
    int trailing = 0;
    while (trailing < kept.size() - 1 && kept.get(kept.size() - 1 - trailing).tier() == TIER_TURN) {
      trailing++;
    }
    int fanIn =
        (int)
            Math.max(
                MIN_FAN_IN,
                Math.min(
                    MAX_FAN_IN, Math.ceil(Math.sqrt((double) baseBytes / Math.max(1, bytes)))));
    if (trailing + 1 >= fanIn) {
      int start = kept.size() - trailing;
      for (int i = start; i < kept.size(); i++) {
        from = Math.min(from, kept.get(i).from());
      }
      kept = dropDead(kept.subList(0, start), from);
      tier = TIER_MERGED;
      bytes = SnapshotCodec.encodedLength(history.subList(from, n), savedAt, lastOut, lastIn);
    }
    kept = truncated(kept, liveEnds(previous.segments()), before, from);
    Segment fresh = new Segment(name(lastOut), from, n - from, bytes, tier);
    var next = new ArrayList<>(kept);
    next.add(fresh);
    long deltaBytes = 0;
    for (int i = 1; i < next.size(); i++) {
      deltaBytes += next.get(i).bytes();
    }
    double all = baseBytes + deltaBytes;
    if (deltaBytes > DELTA_FRACTION * baseBytes || all > PARSE_BOUND * liveBytes(next)) {
      return base(history, savedAt, lastOut, lastIn);
    }
    byte[] encoded = encode(history.subList(from, n), savedAt, lastOut, lastIn);
    return new Plan(fresh, encoded, new SnapshotManifest(savedAt, lastOut, lastIn, n, next));
  }

  /**
   * Where each segment's live messages end in the history the segments give (by name): a segment's
   * messages sit at {@code [from, from + count)} until a later segment truncates them.
   */
  static java.util.Map<String, Integer> liveEnds(List<Segment> segments) {
    var ends = new java.util.HashMap<String, Integer>();
    int laterMin = Integer.MAX_VALUE;
    for (int i = segments.size() - 1; i >= 0; i--) {
      Segment s = segments.get(i);
      ends.put(s.name(), Math.max(s.from(), Math.min(s.from() + s.count(), laterMin)));
      laterMin = Math.min(laterMin, s.from());
    }
    return ends;
  }

  /**
   * The segments with what a truncation of the history to {@code at} messages cuts away from them
   * counted as dead, exactly: the JSON sizes of the cut messages of {@code before}, the history the
   * segments gave, where each one's live messages end at {@code ends}.
   */
  static List<Segment> truncated(
      List<Segment> segments, java.util.Map<String, Integer> ends, MessagePrints before, int at) {
    var result = new ArrayList<Segment>(segments.size());
    for (Segment s : segments) {
      long cut = 0;
      for (int m = Math.max(s.from(), at); m < ends.get(s.name()); m++) {
        cut += before.bytes(m) + 1; // and its comma
      }
      result.add(cut == 0 ? s : s.plusDead(cut));
    }
    return result;
  }

  /** The bytes of the segments that are still live (not truncated away). */
  static double liveBytes(List<Segment> segments) {
    double live = 0;
    for (Segment s : segments) {
      live += s.bytes() - s.dead();
    }
    return live;
  }

  /**
   * The segments still needed once the history is truncated to {@code truncateAt}: a delta whose
   * first message sits at or after a later truncation point (or {@code truncateAt}) contributes
   * nothing, and the later truncation subsumes its own.
   */
  static List<Segment> dropDead(List<Segment> segments, int truncateAt) {
    var kept = new ArrayList<Segment>(segments.size());
    int laterMin = truncateAt;
    for (int i = segments.size() - 1; i >= 0; i--) {
      Segment s = segments.get(i);
      if (i == 0 || s.from() < laterMin) {
        kept.add(0, s);
      }
      laterMin = Math.min(laterMin, s.from());
    }
    return kept;
  }

  /** A segment's object: a version 1 snapshot document holding the segment's messages. */
  private static byte[] encode(
      List<UIMessage> messages, Instant savedAt, long lastOut, long lastIn) {
    return SnapshotCodec.encode(
        new Snapshot(Snapshot.CURRENT_VERSION, savedAt, messages, lastOut, lastIn));
  }

  private static String name(long lastOut) {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    var name = new StringBuilder(24).append(lastOut).append('-');
    for (int i = 0; i < 12; i++) {
      name.append(Character.forDigit(random.nextInt(36), 36));
    }
    return name.toString();
  }

  // ---- deleting and compacting

  /**
   * Deletes the session's snapshot (S11): the segments its manifest names, then {@code
   * snapshot.json} (whose delete also sweeps unreferenced segments on the bundled stores).
   * Idempotent: a retry after a partial delete finds fewer objects.
   */
  static void delete(SnapshotStore store, SnapshotKey key) {
    Optional<StoredSnapshot> stored = store.read(key);
    if (stored.isPresent()) {
      for (String name : segmentsOf(stored.get().content())) {
        store.delete(key.withSegment(name));
      }
    }
    store.delete(key);
  }

  /**
   * Rewrites a segmented snapshot as one full version 1 document in {@code snapshot.json}
   * (conditionally on the manifest's version), then deletes its segments: the way back to a version
   * that reads only full snapshots.
   *
   * @return whether a manifest was compacted (false: none, or already a full document)
   * @throws SnapshotConflictException if a writer replaced the manifest meanwhile (compact again)
   * @throws InvalidPayloadException if the manifest or a segment is unreadable
   */
  static boolean compact(SnapshotStore store, SnapshotKey key) {
    Optional<StoredSnapshot> stored = store.read(key);
    if (stored.isEmpty() || !SnapshotManifest.isManifest(stored.get().content())) {
      return false;
    }
    SnapshotManifest manifest = SnapshotManifest.decode(stored.get().content());
    List<UIMessage> messages = new SegmentedSnapshots(store).assemble(key, manifest);
    if (messages == null) {
      throw new InvalidPayloadException(
          "snapshot [" + key.path() + "] names a segment that is missing: nothing to compact");
    }
    byte[] full =
        SnapshotCodec.encode(
            new Snapshot(
                Snapshot.CURRENT_VERSION,
                manifest.savedAt(),
                messages,
                manifest.lastOutEventId(),
                manifest.lastInEventId()));
    store.write(key, full, stored.get().version());
    for (Segment s : manifest.segments()) {
      store.delete(key.withSegment(s.name()));
    }
    return true;
  }
}
