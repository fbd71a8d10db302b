package dev.durablechat.api.spi;

import dev.durablechat.api.DurableChatException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.function.Function;

/**
 * Finds store providers through {@link ServiceLoader} and opens stores by location scheme.
 *
 * <p>Passing stores to the engine's builder is the main path; this is for configuration by
 * location, e.g. {@code -Ddurablechat.sessionStore=jdbc:h2:file:./data/chat}. A provider that fails
 * to load is skipped and reported in the error that follows if nothing else fits; two providers
 * claiming one scheme is an error, because which one wins would depend on the class path order.
 */
public final class StoreLoader {
  /** The system property naming the default session store location. */
  public static final String SESSION_STORE_PROPERTY = "durablechat.sessionStore";

  /** The system property naming the default snapshot store location. */
  public static final String SNAPSHOT_STORE_PROPERTY = "durablechat.snapshotStore";

  private StoreLoader() {}

  /** The session store providers visible to the class loader, by scheme. */
  public static Map<String, SessionStoreProvider> sessionStoreProviders(ClassLoader loader) {
    return discover(SessionStoreProvider.class, SessionStoreProvider::scheme, loader).providers;
  }

  /** The snapshot store providers visible to the class loader, by scheme. */
  public static Map<String, SnapshotStoreProvider> snapshotStoreProviders(ClassLoader loader) {
    return discover(SnapshotStoreProvider.class, SnapshotStoreProvider::scheme, loader).providers;
  }

  /** Opens a session store at the location, with the provider for its scheme. */
  public static SessionStore openSessionStore(StoreConfig config) {
    var found = discover(SessionStoreProvider.class, SessionStoreProvider::scheme, loader());
    return found.require(config.scheme(), "session store").open(config);
  }

  /** Opens a session store at the location, with no options. */
  public static SessionStore openSessionStore(String location) {
    return openSessionStore(StoreConfig.of(location));
  }

  /** Opens a snapshot store at the location, with the provider for its scheme. */
  public static SnapshotStore openSnapshotStore(StoreConfig config) {
    var found = discover(SnapshotStoreProvider.class, SnapshotStoreProvider::scheme, loader());
    return found.require(config.scheme(), "snapshot store").open(config);
  }

  /** Opens a snapshot store at the location, with no options. */
  public static SnapshotStore openSnapshotStore(String location) {
    return openSnapshotStore(StoreConfig.of(location));
  }

  /** The session store location chosen by {@value #SESSION_STORE_PROPERTY}, if set. */
  public static Optional<String> configuredSessionStore() {
    return Optional.ofNullable(System.getProperty(SESSION_STORE_PROPERTY))
        .filter(s -> !s.isBlank());
  }

  /** The snapshot store location chosen by {@value #SNAPSHOT_STORE_PROPERTY}, if set. */
  public static Optional<String> configuredSnapshotStore() {
    return Optional.ofNullable(System.getProperty(SNAPSHOT_STORE_PROPERTY))
        .filter(s -> !s.isBlank());
  }

  private static ClassLoader loader() {
    ClassLoader context = Thread.currentThread().getContextClassLoader();
    return context != null ? context : StoreLoader.class.getClassLoader();
  }

  private static <P> Found<P> discover(
      Class<P> type, Function<P, String> scheme, ClassLoader loader) {
    var providers = new LinkedHashMap<String, P>();
    var failures = new StringBuilder();
    Iterator<P> it = ServiceLoader.load(type, loader).iterator();
    while (true) {
      P provider;
      try {
        if (!it.hasNext()) {
          break;
        }
        provider = it.next();
      } catch (ServiceConfigurationError e) {
        // One broken registration must not hide the others; it is reported if nothing fits.
        failures.append("\n  skipped: ").append(e.getMessage());
        continue;
      }
      String name = scheme.apply(provider);
      P previous = providers.putIfAbsent(name, provider);
      if (previous != null) {
        throw new DurableChatException(
            "two "
                + type.getSimpleName()
                + "s claim the scheme ["
                + name
                + "]: ["
                + previous.getClass().getName()
                + "] and ["
                + provider.getClass().getName()
                + "]; remove one from the class path");
      }
    }
    return new Found<>(type, Map.copyOf(providers), failures.toString());
  }

  private record Found<P>(Class<P> type, Map<String, P> providers, String failures) {
    P require(String scheme, String what) {
      P provider = providers.get(scheme);
      if (provider == null) {
        throw new DurableChatException(
            "no "
                + what
                + " provider for the scheme ["
                + scheme
                + "]; found "
                + new java.util.TreeSet<>(providers.keySet())
                + " through "
                + type.getName()
                + "; add the module that provides it (e.g. durablechat-storage-"
                + scheme
                + ") to the class path"
                + failures);
      }
      return provider;
    }
  }
}
