package dev.durablechat.storage.jdbc;

import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoreConfig;
import dev.durablechat.storage.tck.SessionStoreContract;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;

@DisplayName("the jdbc SessionStore on PostgreSQL keeps the SessionStore contract")
class PostgresSessionStoreTest extends SessionStoreContract {

  @Override
  protected SessionStore openStore() {
    return JdbcStores.openSessionStore(serviceLoaderConfig());
  }

  @Override
  protected StoreConfig serviceLoaderConfig() {
    return TestPostgres.config(Map.of());
  }
}
