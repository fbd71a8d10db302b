package dev.durablechat.api.spi;

/**
 * Opens {@link SessionStore}s for one location scheme. Registered for {@link
 * java.util.ServiceLoader} in {@code
 * META-INF/services/dev.durablechat.api.spi.SessionStoreProvider}.
 */
public interface SessionStoreProvider {

  /** The scheme this provider opens, lowercase, e.g. {@code memory} or {@code jdbc}. */
  String scheme();

  /**
   * Opens a store.
   *
   * @throws IllegalArgumentException if the location or an option is invalid, naming it
   * @throws dev.durablechat.api.StoreUnavailableException if the store cannot be reached
   */
  SessionStore open(StoreConfig config);
}
