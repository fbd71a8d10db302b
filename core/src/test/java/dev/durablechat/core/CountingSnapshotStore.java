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
  volatile boolean failWrites;
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
    Runnable hook = beforeWrite;
    if (hook != null) {
      beforeWrite = null;
      hook.run();
    }
    if (failWrites) {
      throw new StoreUnavailableException("snapshot store [test] write: unreachable (simulated)");
    }
    return delegate.write(key, content, expectedVersion);
  }

  @Override
  public boolean delete(SnapshotKey key) {
    if (failDeletes) {
      throw new StoreUnavailableException("snapshot store [test] delete: unreachable (simulated)");
    }
    return delegate.delete(key);
  }

  @Override
  public void close() {
    delegate.close();
  }
}
