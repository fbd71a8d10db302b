package dev.durablechat.storage.memory;

import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.SessionStoreProvider;
import dev.durablechat.api.spi.StoreConfig;

/**
 * Opens a {@link MemorySessionStore} for the location {@code memory:} or {@code memory:name}. Each
 * open returns a new, empty store; the name only labels it in messages.
 */
public final class MemorySessionStoreProvider implements SessionStoreProvider {

  /** The provider; ServiceLoader calls this. */
  public MemorySessionStoreProvider() {}

  @Override
  public String scheme() {
    return "memory";
  }

  @Override
  public SessionStore open(StoreConfig config) {
    if (!"memory".equals(config.scheme())) {
      throw new IllegalArgumentException(
          "location [" + config.location() + "] is not a memory location, expected [memory:name]");
    }
    String name = config.schemeSpecificPart();
    return new MemorySessionStore(name.isEmpty() ? "default" : name);
  }
}
