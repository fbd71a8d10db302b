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
}
