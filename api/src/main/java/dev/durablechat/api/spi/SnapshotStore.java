package dev.durablechat.api.spi;

import dev.durablechat.api.SnapshotKey;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Storage of history snapshots (PROTOCOL H1): one JSON document per session, overwritten after each
 * turn. This javadoc is the contract; {@code durablechat-storage-tck} tests it.
 *
 * <ul>
 *   <li>Writes are conditional, so a snapshot's watermark never moves backwards (invariant 8): a
 *       writer names the version it read, or null for "there was none", and a write whose
 *       expectation no longer holds fails with {@link
 *       dev.durablechat.api.SnapshotConflictException} and changes nothing.
 *   <li>A write is all or nothing: a reader sees the old content or the new, never a mix.
 *   <li>Content is opaque bytes, returned exactly as written. Deciding that content is corrupt or
 *       of an unknown version is the engine's job (it treats such a snapshot as absent).
 *   <li>Unreachable or timed out: {@link dev.durablechat.api.StoreUnavailableException}; if unsure
 *       whether a write landed, fail with it. The engine never lets a snapshot failure fail a turn:
 *       the snapshot is only a cache of the {@code out} stream.
 * </ul>
 *
 * <p>Implementations are thread-safe.
 */
public interface SnapshotStore extends AutoCloseable {

  /** The snapshot at the key, with its version, or empty if there is none. */
  Optional<StoredSnapshot> read(SnapshotKey key);

  /**
   * Writes the snapshot if the current version is {@code expectedVersion} (null: only if there is
   * no snapshot).
   *
   * @return the new version
   * @throws dev.durablechat.api.SnapshotConflictException if the expectation does not hold
   */
  String write(SnapshotKey key, byte[] content, @Nullable String expectedVersion);

  /**
   * Deletes the snapshot, whatever its version.
   *
   * @return whether there was one
   */
  boolean delete(SnapshotKey key);

  /** Releases the store's resources. */
  @Override
  void close();
}
