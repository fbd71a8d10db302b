package dev.durablechat.storage.memory;

import dev.durablechat.api.SnapshotConflictException;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StoreUnavailableException;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoredSnapshot;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * The reference {@link SnapshotStore}: snapshots in this process's memory.
 *
 * <p>A version is a decimal counter. The counter is shared by every key of the store rather than
 * kept per key, so a version is never handed out twice: a writer that read a snapshot which was
 * then deleted and written again cannot mistake the new one for the one it read.
 */
public final class MemorySnapshotStore implements SnapshotStore {
  private final String name;
  private final ConcurrentHashMap<SnapshotKey, Entry> entries = new ConcurrentHashMap<>();
  private final AtomicLong versions = new AtomicLong();
  private volatile boolean closed;

  /** An empty store. */
  public MemorySnapshotStore() {
    this("default");
  }

  /**
   * An empty store with a name, used only in messages.
   *
   * @param name the name, e.g. the part after {@code memory:} in a location
   */
  public MemorySnapshotStore(String name) {
    this.name = Objects.requireNonNull(name, "name");
  }

  @Override
  public Optional<StoredSnapshot> read(SnapshotKey key) {
    checkOpen();
    Entry e = entries.get(key);
    return e == null
        ? Optional.empty()
        : Optional.of(new StoredSnapshot(e.content.clone(), e.version));
  }

  @Override
  public String write(SnapshotKey key, byte[] content, @Nullable String expectedVersion) {
    checkOpen();
    byte[] copy = content.clone();
    // compute() holds the key's bin while the function runs: the check and the write are one step.
    Entry written =
        entries.compute(
            key,
            (k, current) -> {
              String actual = current == null ? null : current.version;
              if (!Objects.equals(actual, expectedVersion)) {
                throw new SnapshotConflictException(
                    "snapshot ["
                        + k.path()
                        + "]: expected version ["
                        + expectedVersion
                        + "], found ["
                        + actual
                        + "]");
              }
              return new Entry(copy, Long.toString(versions.incrementAndGet()));
            });
    return written.version;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Deleting a session's snapshot also deletes every segment of the session, referenced or not.
   */
  @Override
  public boolean delete(SnapshotKey key) {
    checkOpen();
    boolean deleted = entries.remove(key) != null;
    if (!key.isSegment()) {
      entries.keySet().removeIf(k -> k.isSegment() && k.withoutSegment().equals(key));
    }
    return deleted;
  }

  @Override
  public void close() {
    closed = true;
    entries.clear();
  }

  @Override
  public String toString() {
    return "MemorySnapshotStore[" + name + "]";
  }

  private void checkOpen() {
    if (closed) {
      throw new StoreUnavailableException("memory snapshot store [" + name + "] is closed");
    }
  }

  private record Entry(byte[] content, String version) {}
}
