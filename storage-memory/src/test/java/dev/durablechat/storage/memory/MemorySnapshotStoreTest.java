package dev.durablechat.storage.memory;

import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoreConfig;
import dev.durablechat.storage.tck.SnapshotStoreContract;
import org.junit.jupiter.api.DisplayName;

@DisplayName("MemorySnapshotStore keeps the SnapshotStore contract")
class MemorySnapshotStoreTest extends SnapshotStoreContract {

  @Override
  protected SnapshotStore openStore() {
    return new MemorySnapshotStore("tck");
  }

  @Override
  protected StoreConfig serviceLoaderConfig() {
    return StoreConfig.of("memory:tck");
  }
}
