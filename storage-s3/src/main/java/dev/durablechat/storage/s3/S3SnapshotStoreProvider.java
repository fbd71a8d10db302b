package dev.durablechat.storage.s3;

import dev.durablechat.api.spi.SnapshotStoreProvider;
import dev.durablechat.api.spi.StoreConfig;
import java.util.Map;

/**
 * Opens {@link S3SnapshotStore}s for the scheme {@code s3}; the store builds, owns and closes its
 * S3 client.
 *
 * <p>Locations:
 *
 * <ul>
 *   <li>{@code s3://bucket/prefix?endpoint=http://localhost:9000&region=eu-west-1&pathStyle=true}:
 *       the bucket and optional key prefix in the location; the parameters are optional.
 *   <li>{@code s3:}: everything from options and the environment.
 * </ul>
 *
 * <p>Options (of the {@link StoreConfig}): {@code bucket}, {@code prefix}, {@code endpoint}, {@code
 * region}, {@code pathStyle}. Environment variables:
 *
 * <ul>
 *   <li>{@code OBJECT_STORE_BASE_URL}: the endpoint of an S3-compatible store, scheme, host and
 *       port only (e.g. {@code http://minio:9000}); unset for AWS.
 *   <li>{@code OBJECT_STORE_ACCESS_KEY_ID} and {@code OBJECT_STORE_SECRET_ACCESS_KEY}: static
 *       credentials, both or neither; neither means the AWS SDK's default chain ({@code
 *       AWS_ACCESS_KEY_ID}, profiles, instance roles, ...).
 *   <li>{@code OBJECT_STORE_DEFAULT_PROTOCOL}: {@code s3} (the default) addresses buckets
 *       virtual-host style; {@code minio} or the name of any other S3-compatible store addresses
 *       them path-style and needs an endpoint.
 *   <li>{@code OBJECT_STORE_BUCKET}: the bucket when the location does not name one.
 *   <li>{@code OBJECT_STORE_REGION}, else {@code AWS_REGION}: the signing region; with an endpoint
 *       and neither set, {@code us-east-1}.
 * </ul>
 *
 * <p>A setting given in several places (location, option, variable) must have the same value in
 * each: a contradiction, a missing bucket or a lone credential is an {@link
 * IllegalArgumentException} at open that names the variable or parameter (never a secret's value).
 *
 * <p>A client this provider builds uses the SDK's standard retry strategy (4 attempts, exponential
 * backoff with jitter for 5xx, throttling and I/O errors), a 2 s connect timeout and a 10 s timeout
 * per attempt. Nothing is contacted at open.
 */
public final class S3SnapshotStoreProvider implements SnapshotStoreProvider {
  private final Map<String, String> environment;

  /** The provider ServiceLoader instantiates: configuration from the process environment. */
  public S3SnapshotStoreProvider() {
    this(System.getenv());
  }

  /** A provider that reads its environment variables from the map (tests). */
  S3SnapshotStoreProvider(Map<String, String> environment) {
    this.environment = Map.copyOf(environment);
  }

  /** Returns {@code s3}. */
  @Override
  public String scheme() {
    return "s3";
  }

  /**
   * Opens a store that owns its client.
   *
   * @throws IllegalArgumentException naming the missing, malformed or contradictory variable or
   *     parameter
   */
  @Override
  public S3SnapshotStore open(StoreConfig config) {
    if (!config.scheme().equals(scheme())) {
      throw new IllegalArgumentException(
          "store location ["
              + config.location()
              + "] has scheme ["
              + config.scheme()
              + "], expected [s3]");
    }
    return S3SnapshotStore.open(S3Settings.resolve(config, environment));
  }
}
