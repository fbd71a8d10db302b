package dev.durablechat.core;

import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StoreUnavailableException;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoredSnapshot;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * A pass-through wrapper around a real snapshot store that counts calls and, while {@link
 * #failWrites} is set, refuses writes as an unreachable store would (no mock: every other call
 * reaches the real store).
 */
final class CountingSnapshotStore implements SnapshotStore {
  final SnapshotStore delegate;
  final AtomicInteger reads = new AtomicInteger();
  final AtomicInteger writes = new AtomicInteger();
  // The content bytes of the writes the store accepted.
  final java.util.concurrent.atomic.AtomicLong bytesWritten =
      new java.util.concurrent.atomic.AtomicLong();
  // Writes of snapshot.json only (the conditional ones), not of its segments.
  final AtomicInteger snapshotJsonWrites = new AtomicInteger();
  volatile boolean failWrites;
  // Fails only writes of snapshot.json: a crash between a segment and its manifest.
  volatile boolean failSnapshotJsonWrites;
  // Every key ever written, so a test can list what is still stored.
  final java.util.Set<SnapshotKey> written = java.util.concurrent.ConcurrentHashMap.newKeySet();
  volatile boolean failDeletes;

  /** Runs once before the next write reaches the store (to interleave another call). */
  volatile @Nullable Runnable beforeWrite;

  CountingSnapshotStore(SnapshotStore delegate) {
    this.delegate = delegate;
  }

  @Override
  public Optional<StoredSnapshot> read(SnapshotKey key) {
    reads.incrementAndGet();
    return delegate.read(key);
  }

  @Override
  public String write(SnapshotKey key, byte[] content, @Nullable String expectedVersion) {
    writes.incrementAndGet();
    if (!key.isSegment()) {
      snapshotJsonWrites.incrementAndGet();
    }
    Runnable hook = beforeWrite;
    if (hook != null) {
      beforeWrite = null;
      hook.run();
    }
    if (failWrites || (failSnapshotJsonWrites && !key.isSegment())) {
      throw new StoreUnavailableException("snapshot store [test] write: unreachable (simulated)");
    }
    written.add(key);
    String version = delegate.write(key, content, expectedVersion);
    bytesWritten.addAndGet(content.length);
    return version;
  }

  @Override
  public boolean delete(SnapshotKey key) {
    if (failDeletes) {
      throw new StoreUnavailableException("snapshot store [test] delete: unreachable (simulated)");
    }
    return delegate.delete(key);
  }

  /** The keys written through this wrapper that the store still holds. */
  java.util.List<SnapshotKey> stored() {
    return written.stream().filter(k -> delegate.read(k).isPresent()).toList();
  }

  @Override
  public void close() {
    delegate.close();
  }
}
