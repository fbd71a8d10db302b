package dev.durablechat.storage.memory;

import dev.durablechat.api.spi.StoredRecord;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * One stream of one session: records in a growable array, a part-id index, and the watchers.
 *
 * <p>Every field is guarded by {@link #lock}, except {@link #watchers}, which is copy-on-write so
 * that watchers are called after the lock is released without copying on every append. The record
 * at array index {@code head + i} has sequence number {@code firstSeq + i}.
 */
final class MemoryStream {
  final ReentrantLock lock = new ReentrantLock();
  final CopyOnWriteArrayList<Runnable> watchers = new CopyOnWriteArrayList<>();

  private StoredRecord[] records = new StoredRecord[16];
  private int head;
  private int size;
  private long lastSeq;
  private final Map<String, Long> partIds = new HashMap<>();

  /** The highest number ever assigned; the caller holds the lock. */
  long lastSeq() {
    return lastSeq;
  }

  /**
   * The sequence number of a retained record with this part id, or null; the caller holds the lock.
   */
  @Nullable Long seqOfPart(String partId) {
    return partIds.get(partId);
  }

  /** Appends one record with the next number; the caller holds the lock. */
  long add(String payload, @Nullable String partId, Instant now) {
    long seq = lastSeq + 1;
    if (head + size == records.length) {
      grow();
    }
    records[head + size] = new StoredRecord(seq, payload, partId, now);
    size++;
    lastSeq = seq;
    if (partId != null) {
      partIds.put(partId, seq);
    }
    return seq;
  }

  /** Up to {@code limit} records after {@code afterSeq}; the caller holds the lock. */
  List<StoredRecord> read(long afterSeq, int limit) {
    if (size == 0 || afterSeq >= lastSeq) {
      return List.of();
    }
    long firstSeq = lastSeq - size + 1;
    long from = Math.max(afterSeq + 1, firstSeq);
    int start = head + (int) (from - firstSeq);
    int count = (int) Math.min(limit, lastSeq - from + 1);
    return List.copyOf(Arrays.asList(records).subList(start, start + count));
  }

  /** Removes the records through {@code throughSeq}; the caller holds the lock. */
  long trim(long throughSeq) {
    if (size == 0) {
      return 0;
    }
    long firstSeq = lastSeq - size + 1;
    long removed = Math.min(throughSeq, lastSeq) - firstSeq + 1;
    if (removed <= 0) {
      return 0;
    }
    for (int i = head; i < head + removed; i++) {
      String partId = records[i].partId();
      if (partId != null) {
        partIds.remove(partId);
      }
      records[i] = null;
    }
    head += (int) removed;
    size -= (int) removed;
    return removed;
  }

  /** Drops every record (the session was deleted); the caller holds the lock. */
  void clear() {
    records = new StoredRecord[1];
    head = 0;
    size = 0;
    partIds.clear();
  }

  /** Makes room at the end: compacts when at least half the array is trimmed, else doubles it. */
  private void grow() {
    StoredRecord[] target =
        head >= records.length / 2 ? records : new StoredRecord[records.length * 2];
    System.arraycopy(records, head, target, 0, size);
    if (target == records) {
      Arrays.fill(records, size, head + size, null);
    }
    records = target;
    head = 0;
  }
}
