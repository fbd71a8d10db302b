package dev.durablechat.http;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * The browser origins allowed to call the routes (T4): an allowlist of {@code scheme://host[:port]}
 * values. A request that names an origin not on it is refused (403, no CORS grant), and so is its
 * preflight; a request without an {@code Origin} header does not come from a cross-origin page and
 * is not an origin's business.
 */
final class Origins {
  private final Set<String> allowed = ConcurrentHashMap.newKeySet();

  /** Adds an origin to the allowlist (the adapter adds its own once it listens). */
  void allow(String origin) {
    allowed.add(normalize(origin));
  }

  /** Whether a request with this {@code Origin} header may be answered with a CORS grant. */
  boolean allows(@Nullable String origin) {
    if (origin == null) {
      return true;
    }
    // Browsers send the origin serialized (lower-case scheme and host, no default port); compare
    // the text as sent, after lower-casing, so "null" and garbage never match.
    return allowed.contains(origin.trim().toLowerCase(Locale.ROOT));
  }

  /** The allowlist, normalized. */
  Set<String> allowed() {
    return Set.copyOf(allowed);
  }

  /**
   * An origin as a browser serializes it: {@code scheme://host[:port]}, lower case, without the
   * scheme's default port.
   *
   * @throws IllegalArgumentException for anything else (a path, a wildcard, no host)
   */
  static String normalize(String origin) {
    if (origin == null || origin.isBlank()) {
      throw new IllegalArgumentException("an allowed origin must not be blank");
    }
    URI uri;
    try {
      uri = new URI(origin.trim());
    } catch (URISyntaxException e) {
      throw badOrigin(origin);
    }
    String scheme = uri.getScheme() == null ? null : uri.getScheme().toLowerCase(Locale.ROOT);
    if (scheme == null
        || !(scheme.equals("http") || scheme.equals("https"))
        || uri.getHost() == null
        || uri.getRawUserInfo() != null
        || (uri.getRawPath() != null && !uri.getRawPath().isEmpty())
        || uri.getRawQuery() != null
        || uri.getRawFragment() != null) {
      throw badOrigin(origin);
    }
    int port = uri.getPort();
    boolean defaultPort =
        port == -1
            || (scheme.equals("http") && port == 80)
            || (scheme.equals("https") && port == 443);
    return scheme
        + "://"
        + uri.getHost().toLowerCase(Locale.ROOT)
        + (defaultPort ? "" : ":" + port);
  }

  private static IllegalArgumentException badOrigin(String origin) {
    return new IllegalArgumentException(
        "allowed origin ["
            + origin
            + "] must be scheme://host[:port] (http or https, no path), e.g."
            + " [https://app.example.com]");
  }
}
