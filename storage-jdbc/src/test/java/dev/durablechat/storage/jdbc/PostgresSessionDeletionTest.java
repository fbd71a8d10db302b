package dev.durablechat.storage.jdbc;

import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.storage.tck.SessionDeletionContract;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;

@DisplayName("the jdbc SessionStore on PostgreSQL keeps the delete and retention contract (S11)")
class PostgresSessionDeletionTest extends SessionDeletionContract {

  @Override
  protected SessionStore openStore() {
    return JdbcStores.openSessionStore(TestPostgres.config(Map.of()));
  }
}
