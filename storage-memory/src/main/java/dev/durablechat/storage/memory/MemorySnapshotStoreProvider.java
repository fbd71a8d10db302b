package dev.durablechat.storage.memory;

import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.SnapshotStoreProvider;
import dev.durablechat.api.spi.StoreConfig;

/**
 * Opens a {@link MemorySnapshotStore} for the location {@code memory:} or {@code memory:name}. Each
 * open returns a new, empty store; the name only labels it in messages.
 */
public final class MemorySnapshotStoreProvider implements SnapshotStoreProvider {

  /** The provider; ServiceLoader calls this. */
  public MemorySnapshotStoreProvider() {}

  @Override
  public String scheme() {
    return "memory";
  }

  @Override
  public SnapshotStore open(StoreConfig config) {
    if (!"memory".equals(config.scheme())) {
      throw new IllegalArgumentException(
          "location [" + config.location() + "] is not a memory location, expected [memory:name]");
    }
    String name = config.schemeSpecificPart();
    return new MemorySnapshotStore(name.isEmpty() ? "default" : name);
  }
}
