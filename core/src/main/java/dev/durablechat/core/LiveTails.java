package dev.durablechat.core;

import dev.durablechat.api.StreamKind;
import dev.durablechat.api.StreamRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The engine's live tails by stream, and the hand-over of an append's records to them: right after
 * a store append on this node succeeds, each local tail of the stream is handed the records as the
 * engine already holds them (event ids from the store's answer, the events the caller passed), so
 * it neither reads them back from the store nor decodes them. A tail still reads the store whenever
 * what it was handed does not follow its bookmark (another append came first, a hand-over was
 * dropped), so the store stays the one source of order and the hand-over only saves work.
 *
 * <p>While the engine appends, the appending thread is marked with the stream: a store that calls
 * its watchers on the appending thread (the memory store does) reaches a tail of this engine that
 * is then told nothing by that call, since the hand-over right after brings it the same records
 * (and a refused append brings every local tail of the stream a wake-up instead). Watchers called
 * on any other thread (another node's appends, a store's own notification thread) wake the tail as
 * usual.
 */
final class LiveTails {
  /** The stream this thread is appending to through {@link #append}, with the engine's tails. */
  private static final ThreadLocal<@Nullable Appending> APPENDING = new ThreadLocal<>();

  private record Appending(LiveTails owner, Key key) {}

  /** A stream of a session. */
  record Key(String sessionId, StreamKind kind) {}

  private final Map<Key, Set<Tail<?>>> byStream = new ConcurrentHashMap<>();

  /** Registers the tail; before its first drain, so before its store watch is registered. */
  void add(Key key, Tail<?> tail) {
    byStream.compute(
        key,
        (k, set) -> {
          Set<Tail<?>> tails = set != null ? set : ConcurrentHashMap.newKeySet();
          tails.add(tail);
          return tails;
        });
  }

  void remove(Key key, Tail<?> tail) {
    byStream.computeIfPresent(
        key,
        (k, set) -> {
          set.remove(tail);
          return set.isEmpty() ? null : set;
        });
  }

  /** Every tail registered now, of every stream (the engine's close ends them all). */
  List<Tail<?>> all() {
    var all = new ArrayList<Tail<?>>();
    byStream.values().forEach(all::addAll);
    return all;
  }

  /**
   * Whether a store watch of the stream called now is for an append of this engine on this thread,
   * whose records {@link #append} hands to the tail right after: the tail need not wake for it.
   */
  boolean handsOver(Key key) {
    Appending a = APPENDING.get();
    return a != null && a.owner == this && a.key.equals(key);
  }

  /**
   * Runs the store append with this thread marked, then hands its records to the stream's tails:
   * {@code records} makes them from the append's answer, once, only when a tail is there. A failed
   * append hands over nothing and wakes every tail of the stream (what a watch it kept quiet would
   * have done).
   */
  <R, E> R append(Key key, Supplier<R> storeAppend, Function<R, List<StreamRecord<E>>> records) {
    Appending previous = APPENDING.get();
    APPENDING.set(new Appending(this, key));
    R result;
    try {
      result = storeAppend.get();
    } catch (RuntimeException | Error e) {
      restore(previous);
      wake(key);
      throw e;
    }
    restore(previous);
    Set<Tail<?>> tails = byStream.get(key);
    if (tails != null && !tails.isEmpty()) {
      List<StreamRecord<E>> handed = records.apply(result);
      for (Tail<?> tail : tails) {
        @SuppressWarnings("unchecked")
        Tail<E> t = (Tail<E>) tail;
        if (handed.isEmpty()) {
          t.storeChanged();
        } else {
          t.handOver(handed);
        }
      }
    }
    return result;
  }

  private static void restore(@Nullable Appending previous) {
    if (previous == null) {
      APPENDING.remove();
    } else {
      APPENDING.set(previous);
    }
  }

  private void wake(Key key) {
    Set<Tail<?>> tails = byStream.get(key);
    if (tails != null) {
      tails.forEach(Tail::storeChanged);
    }
  }
}
