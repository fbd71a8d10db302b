package dev.durablechat.storage.file;

import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.SnapshotStoreProvider;
import dev.durablechat.api.spi.StoreConfig;
import java.net.URI;
import java.nio.file.FileSystemNotFoundException;
import java.nio.file.Path;

/**
 * Opens a {@link FileSnapshotStore} for the location {@code file:PATH} (e.g. {@code
 * file:./data/snapshots}, relative to the working directory) or a {@code file:///absolute/path}
 * URI.
 *
 * <p>An invalid path ({@link java.nio.file.InvalidPathException} is an {@link
 * IllegalArgumentException}) is reported as an illegal location.
 */
public final class FileSnapshotStoreProvider implements SnapshotStoreProvider {

  /** The provider; ServiceLoader calls this. */
  public FileSnapshotStoreProvider() {}

  @Override
  public String scheme() {
    return "file";
  }

  @Override
  public SnapshotStore open(StoreConfig config) {
    if (!"file".equals(config.scheme())) {
      throw new IllegalArgumentException(
          "location [" + config.location() + "] is not a file location, expected [file:PATH]");
    }
    String path = config.schemeSpecificPart();
    if (path.isBlank()) {
      throw new IllegalArgumentException(
          "location [" + config.location() + "] names no folder, expected [file:PATH]");
    }
    try {
      Path root = path.startsWith("//") ? Path.of(URI.create(config.location())) : Path.of(path);
      return new FileSnapshotStore(root);
    } catch (IllegalArgumentException | FileSystemNotFoundException e) {
      throw new IllegalArgumentException(
          "location [" + config.location() + "] is not a valid folder path: " + e.getMessage(), e);
    }
  }
}
