package dev.durablechat.storage.jdbc;

import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoreConfig;
import dev.durablechat.storage.tck.SessionListingContract;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;

@DisplayName("the jdbc SessionStore on H2 (file) keeps the session listing contract")
class H2SessionListingTest extends SessionListingContract {
  private final Path dir = H2SessionStoreTest.H2Files.newDir();

  @Override
  protected SessionStore openStore() {
    return JdbcStores.openSessionStore(StoreConfig.of(H2SessionStoreTest.H2Files.url(dir)));
  }

  @Override
  protected void closeStore(SessionStore store) {
    store.close();
    H2SessionStoreTest.H2Files.delete(dir);
  }
}
