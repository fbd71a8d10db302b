package dev.durablechat.api.spi;

import dev.durablechat.api.SnapshotKey;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Storage of history snapshots (PROTOCOL H1): per session, one {@code snapshot.json} document,
 * overwritten after each turn, and the segment objects beside it that it names ({@link
 * SnapshotKey#withSegment}). This javadoc is the contract; {@code durablechat-storage-tck} tests
 * it.
 *
 * <ul>
 *   <li>Every key is its own object, a segment key as much as {@code snapshot.json}, with the same
 *       operations: the engine creates a segment once under a fresh name (a write expecting no
 *       version), reads it, and deletes it when no manifest names it any more.
 *   <li>Deleting a session's {@code snapshot.json} key also deletes every segment object of that
 *       session, so that a segment left behind by a writer that crashed before its manifest goes
 *       with the session (S11). Deleting a segment key deletes only that segment.
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
   * Deletes the object at the key, whatever its version; for a session's {@code snapshot.json} key,
   * also every segment object of the session.
   *
   * @return whether there was an object at the key
   */
  boolean delete(SnapshotKey key);

  /** Releases the store's resources. */
  @Override
  void close();
}
