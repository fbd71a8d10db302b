package dev.durablechat.storage.jdbc;

import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.storage.tck.SessionListingContract;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;

@DisplayName("the jdbc SessionStore on PostgreSQL keeps the session listing contract")
class PostgresSessionListingTest extends SessionListingContract {

  @Override
  protected SessionStore openStore() {
    return JdbcStores.openSessionStore(TestPostgres.config(Map.of()));
  }
}
