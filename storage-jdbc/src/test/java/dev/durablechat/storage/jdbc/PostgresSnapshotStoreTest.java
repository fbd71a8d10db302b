package dev.durablechat.storage.jdbc;

import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoreConfig;
import dev.durablechat.storage.tck.SnapshotStoreContract;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;

@DisplayName("the jdbc SnapshotStore on PostgreSQL keeps the SnapshotStore contract")
class PostgresSnapshotStoreTest extends SnapshotStoreContract {

  @Override
  protected SnapshotStore openStore() {
    return JdbcStores.openSnapshotStore(serviceLoaderConfig());
  }

  @Override
  protected StoreConfig serviceLoaderConfig() {
    return TestPostgres.config(Map.of());
  }
}
