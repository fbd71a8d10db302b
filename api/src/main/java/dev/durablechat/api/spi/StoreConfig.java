package dev.durablechat.api.spi;

import java.util.Map;
import java.util.Optional;

/**
 * What a provider opens a store from: a location whose scheme names the provider (e.g. {@code
 * memory:}, {@code jdbc:h2:file:./data/chat}, {@code file:./data/snapshots}, {@code
 * s3://bucket/prefix?region=eu-west-1}) and free-form options.
 *
 * @param location the location; its scheme is everything before the first {@code :}
 * @param options provider-specific options
 */
public record StoreConfig(String location, Map<String, String> options) {

  /** Requires a location with a scheme; copies the options. */
  public StoreConfig {
    if (location == null || location.indexOf(':') < 1) {
      throw new IllegalArgumentException(
          "store location [" + location + "] must start with a scheme, e.g. [memory:]");
    }
    options = Map.copyOf(options);
  }

  /** A config with no options. */
  public static StoreConfig of(String location) {
    return new StoreConfig(location, Map.of());
  }

  /** The scheme: the text before the first {@code :}, lowercase. */
  public String scheme() {
    return location.substring(0, location.indexOf(':')).toLowerCase(java.util.Locale.ROOT);
  }

  /** The location without its scheme and colon. */
  public String schemeSpecificPart() {
    return location.substring(location.indexOf(':') + 1);
  }

  /** An option, if set. */
  public Optional<String> option(String name) {
    return Optional.ofNullable(options.get(name));
  }
}
