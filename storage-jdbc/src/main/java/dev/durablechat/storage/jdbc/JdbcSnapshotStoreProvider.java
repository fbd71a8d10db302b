package dev.durablechat.storage.jdbc;

import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.SnapshotStoreProvider;
import dev.durablechat.api.spi.StoreConfig;

/**
 * The {@code jdbc} scheme for snapshots: opens a {@link SnapshotStore} in a table of the database
 * at a JDBC URL. See {@link JdbcStores} for the options.
 */
public final class JdbcSnapshotStoreProvider implements SnapshotStoreProvider {

  /** Called by {@link java.util.ServiceLoader}. */
  public JdbcSnapshotStoreProvider() {}

  @Override
  public String scheme() {
    return "jdbc";
  }

  @Override
  public SnapshotStore open(StoreConfig config) {
    return JdbcStores.openSnapshotStore(config);
  }
}
