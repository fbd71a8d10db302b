package dev.durablechat.storage.jdbc;

import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoreConfig;
import dev.durablechat.storage.tck.SnapshotStoreContract;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;

@DisplayName("the jdbc SnapshotStore on H2 (file) keeps the SnapshotStore contract")
class H2SnapshotStoreTest extends SnapshotStoreContract {
  private final Path dir = H2SessionStoreTest.H2Files.newDir();

  @Override
  protected SnapshotStore openStore() {
    return JdbcStores.openSnapshotStore(serviceLoaderConfig());
  }

  @Override
  protected StoreConfig serviceLoaderConfig() {
    return StoreConfig.of(H2SessionStoreTest.H2Files.url(dir));
  }

  @Override
  protected void closeStore(SnapshotStore store) {
    store.close();
    H2SessionStoreTest.H2Files.delete(dir);
  }
}
