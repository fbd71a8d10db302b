package dev.durablechat.storage.jdbc;

import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.SessionStoreProvider;
import dev.durablechat.api.spi.StoreConfig;

/**
 * The {@code jdbc} scheme: opens a {@link SessionStore} at a JDBC URL, e.g. {@code
 * jdbc:h2:file:./data/chat} or {@code jdbc:postgresql://db/chat}. See {@link JdbcStores} for the
 * options.
 */
public final class JdbcSessionStoreProvider implements SessionStoreProvider {

  /** Called by {@link java.util.ServiceLoader}. */
  public JdbcSessionStoreProvider() {}

  @Override
  public String scheme() {
    return "jdbc";
  }

  @Override
  public SessionStore open(StoreConfig config) {
    return JdbcStores.openSessionStore(config);
  }
}
