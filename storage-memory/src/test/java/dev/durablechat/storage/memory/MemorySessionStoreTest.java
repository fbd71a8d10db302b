package dev.durablechat.storage.memory;

import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoreConfig;
import dev.durablechat.storage.tck.SessionStoreContract;
import org.junit.jupiter.api.DisplayName;

@DisplayName("MemorySessionStore keeps the SessionStore contract")
class MemorySessionStoreTest extends SessionStoreContract {

  @Override
  protected SessionStore openStore() {
    return new MemorySessionStore("tck");
  }

  @Override
  protected StoreConfig serviceLoaderConfig() {
    return StoreConfig.of("memory:tck");
  }

  /**
   * Memory appends take nanoseconds, so a race inside one is rare on few cores: many more appends
   * than the default make a missing lock show (checked by removing the append lock: this fails).
   */
  @Override
  protected int appendsPerAppender() {
    return 10_000;
  }
}
