package dev.durablechat.api.spi;

/**
 * Opens {@link SnapshotStore}s for one location scheme. Registered for {@link
 * java.util.ServiceLoader} in {@code
 * META-INF/services/dev.durablechat.api.spi.SnapshotStoreProvider}.
 */
public interface SnapshotStoreProvider {

  /** The scheme this provider opens, lowercase, e.g. {@code memory}, {@code file} or {@code s3}. */
  String scheme();

  /**
   * Opens a store.
   *
   * @throws IllegalArgumentException if the location or an option is invalid, naming it
   * @throws dev.durablechat.api.StoreUnavailableException if the store cannot be reached
   */
  SnapshotStore open(StoreConfig config);
}
