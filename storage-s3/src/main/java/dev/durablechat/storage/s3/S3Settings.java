package dev.durablechat.storage.s3;

import dev.durablechat.api.spi.StoreConfig;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.retries.api.BackoffStrategy;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;

/**
 * Where and how to reach the bucket, resolved from a store location, its options and the
 * environment. Every setting may come from more than one place only if the places agree: a
 * disagreement is an error at open, because silently preferring one would write snapshots where the
 * operator does not expect them.
 *
 * @param bucket the bucket
 * @param prefix the key prefix without leading or trailing slash, empty for none
 * @param endpoint the endpoint of an S3-compatible store, or null for AWS
 * @param region the signing region
 * @param pathStyle whether to address the bucket in the path rather than the host name
 * @param protocol the value of {@value #PROTOCOL} ({@code s3} unless set)
 * @param accessKeyId the access key id, or null for the SDK's default credentials chain
 * @param secretAccessKey the secret, or null with {@code accessKeyId}; never printed
 */
record S3Settings(
    String bucket,
    String prefix,
    @Nullable URI endpoint,
    String region,
    boolean pathStyle,
    String protocol,
    @Nullable String accessKeyId,
    @Nullable String secretAccessKey) {

  static final String BASE_URL = "OBJECT_STORE_BASE_URL";
  static final String ACCESS_KEY_ID = "OBJECT_STORE_ACCESS_KEY_ID";
  static final String SECRET_ACCESS_KEY = "OBJECT_STORE_SECRET_ACCESS_KEY";
  static final String PROTOCOL = "OBJECT_STORE_DEFAULT_PROTOCOL";
  static final String BUCKET = "OBJECT_STORE_BUCKET";
  static final String REGION = "OBJECT_STORE_REGION";
  static final String AWS_REGION = "AWS_REGION";

  /** Parameters a location's query or the config options may set. */
  static final Set<String> PARAMETERS =
      Set.of("bucket", "prefix", "endpoint", "region", "pathStyle");

  /** The region signed for when an S3-compatible endpoint is set and nothing names one. */
  static final String DEFAULT_COMPATIBLE_REGION = "us-east-1";

  // Generous enough for a snapshot of a long conversation on a slow link, short enough that an
  // unreachable store fails the write well within a turn's patience.
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);
  static final Duration SOCKET_TIMEOUT = Duration.ofSeconds(10);
  static final Duration ATTEMPT_TIMEOUT = Duration.ofSeconds(10);
  static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);
  static final int MAX_ATTEMPTS = 4;

  private static final Pattern BUCKET_NAME = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
  private static final Pattern PROTOCOL_NAME = Pattern.compile("[a-z0-9][a-z0-9_-]*");

  /** Keeps the secret out of logs and messages. */
  @Override
  public String toString() {
    return "S3Settings[bucket="
        + bucket
        + ", prefix="
        + prefix
        + ", endpoint="
        + endpoint
        + ", region="
        + region
        + ", pathStyle="
        + pathStyle
        + ", protocol="
        + protocol
        + ", credentials="
        + (accessKeyId == null ? "sdk default chain" : "static (" + ACCESS_KEY_ID + ")")
        + "]";
  }

  /**
   * Resolves the settings of an {@code s3} location.
   *
   * @throws IllegalArgumentException naming the variable or parameter that is missing, malformed or
   *     contradicted
   */
  static S3Settings resolve(StoreConfig config, Map<String, String> environment) {
    Map<String, String> env = withoutBlanks(environment);
    String location = config.location();

    // Location parameters and options are two spellings of the same settings.
    var params = new LinkedHashMap<String, String>();
    String locationBucket = null;
    String locationPrefix = null;
    String ssp = config.schemeSpecificPart();
    if (!ssp.isEmpty()) {
      if (!ssp.startsWith("//")) {
        throw new IllegalArgumentException(
            "s3 store location ["
                + location
                + "] must be [s3:] (everything from the environment) or"
                + " [s3://bucket[/prefix][?endpoint=...&region=...&pathStyle=true]]");
      }
      URI uri;
      try {
        uri = new URI(location);
      } catch (URISyntaxException e) {
        throw new IllegalArgumentException(
            "s3 store location [" + location + "] is not a valid uri: " + e.getReason(), e);
      }
      String authority = uri.getRawAuthority();
      if (authority != null && !authority.isEmpty()) {
        locationBucket = authority;
      }
      String path = uri.getPath();
      if (path != null && !path.isEmpty()) {
        locationPrefix = path;
      }
      if (uri.getRawQuery() != null) {
        for (String pair : uri.getRawQuery().split("&", -1)) {
          if (pair.isEmpty()) {
            continue;
          }
          int eq = pair.indexOf('=');
          String name = decode(eq < 0 ? pair : pair.substring(0, eq));
          String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
          if (!PARAMETERS.contains(name) || name.equals("bucket") || name.equals("prefix")) {
            throw new IllegalArgumentException(
                "s3 store location ["
                    + location
                    + "]: unknown parameter ["
                    + name
                    + "], expected one of [endpoint, region, pathStyle]");
          }
          if (params.put(name, value) != null) {
            throw new IllegalArgumentException(
                "s3 store location [" + location + "]: parameter [" + name + "] is given twice");
          }
        }
      }
    }
    for (var option : config.options().entrySet()) {
      if (!PARAMETERS.contains(option.getKey())) {
        throw new IllegalArgumentException(
            "s3 store option ["
                + option.getKey()
                + "] is unknown, expected one of [bucket, prefix, endpoint, region, pathStyle]");
      }
    }

    String bucket =
        agree(
            "bucket",
            source("location", locationBucket),
            source("option [bucket]", blankToNull(config.options().get("bucket"))),
            source(BUCKET, env.get(BUCKET)));
    if (bucket == null) {
      throw new IllegalArgumentException(
          "s3 store: no bucket; name it in the location [s3://bucket/prefix], the option [bucket]"
              + " or the environment variable ["
              + BUCKET
              + "]");
    }
    if (!BUCKET_NAME.matcher(bucket).matches()) {
      throw new IllegalArgumentException(
          "s3 store bucket ["
              + bucket
              + "] must be 3 to 63 characters of lowercase letters, digits, '.' and '-'");
    }

    String prefix =
        agree(
            "prefix",
            source("location", normalizePrefix(locationPrefix)),
            source("option [prefix]", normalizePrefix(config.options().get("prefix"))));

    String endpointText =
        agree(
            "endpoint",
            source("parameter [endpoint]", trimSlash(param(params, config, "endpoint"))),
            source(BASE_URL, trimSlash(env.get(BASE_URL))));
    URI endpoint = endpointText == null ? null : endpoint(endpointText);

    String protocol = env.getOrDefault(PROTOCOL, "s3").toLowerCase(Locale.ROOT);
    if (!PROTOCOL_NAME.matcher(protocol).matches()) {
      throw new IllegalArgumentException(
          "environment variable ["
              + PROTOCOL
              + "] is ["
              + protocol
              + "], expected [s3], [minio] or the name of another s3-compatible store");
    }
    boolean compatible = !protocol.equals("s3");
    if (compatible && endpoint == null) {
      throw new IllegalArgumentException(
          "environment variable ["
              + PROTOCOL
              + "] is ["
              + protocol
              + "], which needs an endpoint: set ["
              + BASE_URL
              + "] or the parameter [endpoint]");
    }

    String pathStyleText = param(params, config, "pathStyle");
    boolean pathStyle;
    if (pathStyleText == null) {
      pathStyle = compatible;
    } else if (pathStyleText.equalsIgnoreCase("true")) {
      pathStyle = true;
    } else if (pathStyleText.equalsIgnoreCase("false")) {
      if (compatible) {
        throw new IllegalArgumentException(
            "s3 store: parameter [pathStyle] is [false] but environment variable ["
                + PROTOCOL
                + "] is ["
                + protocol
                + "], which is addressed path-style; remove one");
      }
      pathStyle = false;
    } else {
      throw new IllegalArgumentException(
          "s3 store: parameter [pathStyle] is [" + pathStyleText + "], expected [true] or [false]");
    }

    String region =
        agree(
            "region",
            source("parameter [region]", param(params, config, "region")),
            source(REGION, env.get(REGION)));
    if (region == null) {
      region = env.get(AWS_REGION);
    }
    if (region == null && endpoint != null) {
      // S3-compatible stores mostly ignore the region but the signature needs one.
      region = DEFAULT_COMPATIBLE_REGION;
    }
    if (region == null) {
      throw new IllegalArgumentException(
          "s3 store: no region; set the parameter [region] or the environment variable ["
              + REGION
              + "] (or ["
              + AWS_REGION
              + "])");
    }
    if (!region.matches("[a-z0-9-]{1,64}")) {
      throw new IllegalArgumentException(
          "s3 store region [" + region + "] must be lowercase letters, digits and '-'");
    }

    String keyId = env.get(ACCESS_KEY_ID);
    String secret = env.get(SECRET_ACCESS_KEY);
    if ((keyId == null) != (secret == null)) {
      throw new IllegalArgumentException(
          "s3 store: environment variable ["
              + (keyId == null ? SECRET_ACCESS_KEY : ACCESS_KEY_ID)
              + "] is set but ["
              + (keyId == null ? ACCESS_KEY_ID : SECRET_ACCESS_KEY)
              + "] is not; set both, or neither to use the AWS SDK's default credentials chain");
    }

    return new S3Settings(
        bucket, prefix == null ? "" : prefix, endpoint, region, pathStyle, protocol, keyId, secret);
  }

  /**
   * Builds a client that the store owns: the SDK's standard retry strategy (exponential backoff
   * with jitter for 5xx, throttling and I/O errors) with our attempt count and delays, and timeouts
   * so that an unreachable store fails a call in bounded time.
   */
  S3Client buildClient() {
    S3ClientBuilder builder =
        S3Client.builder()
            .region(Region.of(region))
            .forcePathStyle(pathStyle)
            .httpClientBuilder(
                Apache5HttpClient.builder()
                    .connectionTimeout(CONNECT_TIMEOUT)
                    .socketTimeout(SOCKET_TIMEOUT))
            .overrideConfiguration(
                o ->
                    o.apiCallAttemptTimeout(ATTEMPT_TIMEOUT)
                        .apiCallTimeout(CALL_TIMEOUT)
                        .retryStrategy(
                            r ->
                                r.maxAttempts(MAX_ATTEMPTS)
                                    .backoffStrategy(
                                        BackoffStrategy.exponentialDelay(
                                            Duration.ofMillis(100), Duration.ofSeconds(2)))
                                    .throttlingBackoffStrategy(
                                        BackoffStrategy.exponentialDelay(
                                            Duration.ofMillis(500), Duration.ofSeconds(10)))));
    if (endpoint != null) {
      builder.endpointOverride(endpoint);
      // Many S3-compatible stores reject the streaming CRC trailers the SDK adds by default;
      // AWS itself does not need them for a plain PUT.
      builder.requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED);
      builder.responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
    }
    if (accessKeyId != null && secretAccessKey != null) {
      builder.credentialsProvider(
          StaticCredentialsProvider.create(
              AwsBasicCredentials.create(accessKeyId, secretAccessKey)));
    }
    return builder.build();
  }

  private record Source(String name, @Nullable String value) {}

  private static Source source(String name, @Nullable String value) {
    return new Source(name, value);
  }

  /** The one value the sources agree on, or null if none has one. */
  private static @Nullable String agree(String what, Source... sources) {
    Source found = null;
    for (Source source : sources) {
      if (source.value() == null) {
        continue;
      }
      if (found == null) {
        found = source;
      } else if (!found.value().equals(source.value())) {
        throw new IllegalArgumentException(
            "s3 store "
                + what
                + " is contradictory: ["
                + found.value()
                + "] from "
                + found.name()
                + " but ["
                + source.value()
                + "] from "
                + source.name()
                + "; remove one or make them agree");
      }
    }
    return found == null ? null : found.value();
  }

  private static @Nullable String param(
      Map<String, String> params, StoreConfig config, String name) {
    return agree(
        name,
        source("location parameter [" + name + "]", blankToNull(params.get(name))),
        source("option [" + name + "]", blankToNull(config.options().get(name))));
  }

  private static URI endpoint(String text) {
    URI uri;
    try {
      uri = new URI(text);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(
          "s3 store endpoint [" + text + "] is not a valid url: " + e.getReason(), e);
    }
    if (uri.getRawUserInfo() != null) {
      // Do not echo it: the user info may be a secret.
      throw new IllegalArgumentException(
          "s3 store endpoint must not carry credentials; use ["
              + ACCESS_KEY_ID
              + "] and ["
              + SECRET_ACCESS_KEY
              + "]");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null) {
      throw new IllegalArgumentException(
          "s3 store endpoint [" + text + "] must be an http or https url with a host");
    }
    if ((uri.getRawPath() != null && !uri.getRawPath().isEmpty())
        || uri.getRawQuery() != null
        || uri.getRawFragment() != null) {
      throw new IllegalArgumentException(
          "s3 store endpoint ["
              + text
              + "] must be just scheme, host and port (e.g. [http://localhost:9000]); name the"
              + " bucket in the location or ["
              + BUCKET
              + "]");
    }
    return uri;
  }

  private static @Nullable String normalizePrefix(@Nullable String prefix) {
    if (prefix == null) {
      return null;
    }
    String p = prefix;
    while (p.startsWith("/")) {
      p = p.substring(1);
    }
    while (p.endsWith("/")) {
      p = p.substring(0, p.length() - 1);
    }
    if (p.contains("//")) {
      throw new IllegalArgumentException(
          "s3 store prefix [" + prefix + "] must not contain an empty segment");
    }
    return p.isEmpty() ? null : p;
  }

  /** A prefix as given to the public factory: normalized, empty for none. */
  static String prefixOf(String prefix) {
    String p = normalizePrefix(prefix);
    return p == null ? "" : p;
  }

  private static @Nullable String trimSlash(@Nullable String url) {
    if (url == null) {
      return null;
    }
    String u = url.trim();
    while (u.endsWith("/")) {
      u = u.substring(0, u.length() - 1);
    }
    return u.isEmpty() ? null : u;
  }

  private static @Nullable String blankToNull(@Nullable String value) {
    return value == null || value.isBlank() ? null : value.trim();
  }

  private static Map<String, String> withoutBlanks(Map<String, String> environment) {
    var env = new LinkedHashMap<String, String>();
    environment.forEach(
        (name, value) -> {
          if (value != null && !value.isBlank()) {
            env.put(name, value.trim());
          }
        });
    return env;
  }

  private static String decode(String text) {
    return URLDecoder.decode(text, StandardCharsets.UTF_8);
  }
}
