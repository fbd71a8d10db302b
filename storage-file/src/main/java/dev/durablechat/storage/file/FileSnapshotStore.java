package dev.durablechat.storage.file;

import dev.durablechat.api.SnapshotConflictException;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StoreUnavailableException;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoredSnapshot;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * A {@link SnapshotStore} in a local folder: the snapshot for a key is the file {@code
 * <root>/<key.path()>}, holding exactly the bytes written, so it can be read with any tool.
 *
 * <p><b>Versions</b> are the SHA-256 of the content, like an S3 ETag: the version always agrees
 * with the bytes on disk, with no second file to keep in step. A conditional write is therefore a
 * compare-and-replace on the content the writer read.
 *
 * <p><b>Writes</b> go to a temporary file in the same folder, are forced to disk, and replace the
 * snapshot by an atomic rename, after which the folder is forced too: a reader sees the old bytes
 * or the new, never a mix, and a crash leaves one of them. The check of the version and the rename
 * happen under two locks: a lock per key inside this JVM (shared by every store instance, since a
 * JVM may hold only one {@link FileLock} per file), and a {@link FileLock} on {@code
 * <snapshot>.lock} so that several processes may share one folder. Lock files are left in place:
 * deleting one while another process waits on it would break the mutual exclusion.
 *
 * <p>Folder or disk failures throw {@link StoreUnavailableException} naming the path.
 */
public final class FileSnapshotStore implements SnapshotStore {
  private static final int STRIPES = 64;
  private static final ReentrantLock[] LOCKS = new ReentrantLock[STRIPES];

  static {
    for (int i = 0; i < STRIPES; i++) {
      LOCKS[i] = new ReentrantLock();
    }
  }

  private final Path root;
  private volatile boolean closed;

  /**
   * A store in the folder, which is created if missing.
   *
   * @param root the folder
   * @throws StoreUnavailableException if the folder cannot be created, is not a folder, or cannot
   *     be read and written
   */
  public FileSnapshotStore(Path root) {
    this.root = Objects.requireNonNull(root, "root").toAbsolutePath().normalize();
    try {
      Files.createDirectories(this.root);
    } catch (IOException e) {
      throw new StoreUnavailableException(
          "snapshot folder [" + this.root + "] cannot be created: " + e, e);
    }
    if (!Files.isDirectory(this.root)
        || !Files.isReadable(this.root)
        || !Files.isWritable(this.root)) {
      throw new StoreUnavailableException(
          "snapshot folder [" + this.root + "] must be a readable and writable folder");
    }
  }

  /** The folder this store keeps its snapshots in. */
  public Path root() {
    return root;
  }

  @Override
  public Optional<StoredSnapshot> read(SnapshotKey key) {
    checkOpen();
    Path file = fileOf(key);
    try {
      byte[] content = Files.readAllBytes(file);
      return Optional.of(new StoredSnapshot(content, versionOf(content)));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw unavailable("read", file, e);
    }
  }

  @Override
  public String write(SnapshotKey key, byte[] content, @Nullable String expectedVersion) {
    checkOpen();
    byte[] copy = content.clone();
    String version = versionOf(copy);
    Path file = fileOf(key);
    Path dir = file.getParent();
    // Every object of a session, its snapshot and its segments, shares the snapshot's lock.
    Path snapshotFile = fileOf(key.withoutSegment());
    ReentrantLock local = lockOf(snapshotFile);
    local.lock();
    try {
      Files.createDirectories(dir);
      try (FileChannel lockChannel = openLockFile(snapshotFile)) {
        FileLock held = lockChannel.lock();
        try {
          String actual = currentVersion(file);
          if (!Objects.equals(actual, expectedVersion)) {
            throw new SnapshotConflictException(
                "snapshot ["
                    + key.path()
                    + "]: expected version ["
                    + expectedVersion
                    + "], found ["
                    + actual
                    + "]");
          }
          replace(file, copy);
          return version;
        } finally {
          held.release();
        }
      }
    } catch (IOException e) {
      throw unavailable("write", file, e);
    } finally {
      local.unlock();
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>Deleting a session's {@code snapshot.json} also deletes every segment file left in its
   * folder, referenced or not (a writer that crashed between a segment and the manifest leaves one
   * behind).
   */
  @Override
  public boolean delete(SnapshotKey key) {
    checkOpen();
    Path file = fileOf(key);
    Path snapshotFile = fileOf(key.withoutSegment());
    ReentrantLock local = lockOf(snapshotFile);
    local.lock();
    try {
      if (!Files.isDirectory(file.getParent())) {
        return false;
      }
      try (FileChannel lockChannel = openLockFile(snapshotFile)) {
        FileLock held = lockChannel.lock();
        try {
          boolean deleted = Files.deleteIfExists(file);
          if (!key.isSegment()) {
            deleteSegments(file.getParent());
          }
          if (deleted) {
            forceFolder(file.getParent());
          }
          return deleted;
        } finally {
          held.release();
        }
      }
    } catch (IOException e) {
      throw unavailable("delete", file, e);
    } finally {
      local.unlock();
    }
  }

  @Override
  public void close() {
    closed = true;
  }

  @Override
  public String toString() {
    return "FileSnapshotStore[" + root + "]";
  }

  private Path fileOf(SnapshotKey key) {
    Path file = root.resolve(key.path()).normalize();
    // SnapshotKey admits only path-safe parts; this guards against that ever changing.
    if (!file.startsWith(root)) {
      throw new IllegalArgumentException(
          "snapshot key [" + key.path() + "] resolves outside the folder [" + root + "]");
    }
    return file;
  }

  private static void deleteSegments(Path dir) throws IOException {
    try (DirectoryStream<Path> segments =
        Files.newDirectoryStream(dir, SnapshotKey.SEGMENT_PREFIX + "*.json")) {
      for (Path segment : segments) {
        Files.deleteIfExists(segment);
      }
    }
  }

  private static @Nullable String currentVersion(Path file) throws IOException {
    try {
      return versionOf(Files.readAllBytes(file));
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  private static FileChannel openLockFile(Path file) throws IOException {
    Path lockFile = file.resolveSibling(file.getFileName() + ".lock");
    return FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
  }

  /** Writes to a temporary file beside the target, forces it, and renames it over the target. */
  private static void replace(Path file, byte[] content) throws IOException {
    Path dir = file.getParent();
    Path tmp = Files.createTempFile(dir, file.getFileName() + ".", ".tmp");
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        ByteBuffer buffer = ByteBuffer.wrap(content);
        while (buffer.hasRemaining()) {
          ch.write(buffer);
        }
        ch.force(true);
      }
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        throw new IOException("the file system cannot rename atomically in [" + dir + "]", e);
      }
      forceFolder(dir);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** Makes a rename or delete in the folder durable; skipped where folders cannot be opened. */
  private static void forceFolder(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (AccessDeniedException | UnsupportedOperationException e) {
      // Windows cannot open a folder as a channel; its renames are durable without it.
    }
  }

  private static ReentrantLock lockOf(Path file) {
    return LOCKS[Math.floorMod(file.hashCode(), STRIPES)];
  }

  static String versionOf(byte[] content) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  private static StoreUnavailableException unavailable(String what, Path file, IOException e) {
    return new StoreUnavailableException(
        "snapshot file [" + file + "]: cannot " + what + ": " + e, e);
  }

  private void checkOpen() {
    if (closed) {
      throw new StoreUnavailableException("file snapshot store [" + root + "] is closed");
    }
  }
}
