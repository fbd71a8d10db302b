package dev.durablechat.storage.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.Environment;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.spi.StoreConfig;
import dev.durablechat.api.spi.StoreLoader;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import software.amazon.awssdk.services.s3.S3Client;

/** Opening the store by scheme: the location, its options and the environment variables. */
@DisplayName("S3 snapshot store configuration")
class S3ConfigurationTest {
  private static final String SECRET = "wJalrXUtnFEMI-very-secret";
  private static final SnapshotKey KEY =
      new SnapshotKey(new Environment("proj_cfg", "dev"), "session_cfg");

  private static S3Server server;
  private static S3Client admin;
  private static String bucket;

  @BeforeAll
  static void startServer() {
    server = S3Server.start();
    admin = server.client();
    bucket = server.newBucket(admin);
  }

  @AfterAll
  static void stopServer() {
    admin.close();
    server.close();
  }

  private static S3Settings resolve(String location, Map<String, String> env) {
    return S3Settings.resolve(StoreConfig.of(location), env);
  }

  private static Map<String, String> env(String... pairs) {
    var env = new HashMap<String, String>();
    for (int i = 0; i < pairs.length; i += 2) {
      env.put(pairs[i], pairs[i + 1]);
    }
    return env;
  }

  private static byte[] roundTrip(S3SnapshotStore store) {
    String version = store.write(KEY, "{\"v\":1}".getBytes(StandardCharsets.UTF_8), null);
    assertThat(store.read(KEY).orElseThrow().version()).isEqualTo(version);
    byte[] content = store.read(KEY).orElseThrow().content();
    store.delete(KEY);
    return content;
  }

  @Nested
  @DisplayName("opens a working store")
  class Opens {
    @Test
    @DisplayName(
        "from the environment variables with OBJECT_STORE_DEFAULT_PROTOCOL=minio (path-style)")
    void fromMinioEnvironment() {
      var provider = new S3SnapshotStoreProvider(server.minioEnvironment(bucket));
      try (S3SnapshotStore store = provider.open(StoreConfig.of("s3:"))) {
        assertThat(roundTrip(store)).asString(StandardCharsets.UTF_8).isEqualTo("{\"v\":1}");
      }
      S3Settings settings = resolve("s3:", server.minioEnvironment(bucket));
      assertThat(settings.pathStyle()).isTrue();
      assertThat(settings.protocol()).isEqualTo("minio");
      assertThat(settings.region()).isEqualTo("us-east-1");
      assertThat(settings.endpoint()).isEqualTo(server.endpoint());
    }

    @Test
    @DisplayName(
        "from a uri with bucket, prefix, endpoint, region and pathStyle, credentials from the environment")
    void fromUri() {
      String location =
          "s3://"
              + bucket
              + "/tenant-a/chat?endpoint="
              + server.endpoint()
              + "&region=eu-west-1&pathStyle=true";
      var provider =
          new S3SnapshotStoreProvider(
              env(
                  "OBJECT_STORE_ACCESS_KEY_ID", S3Server.ACCESS_KEY,
                  "OBJECT_STORE_SECRET_ACCESS_KEY", S3Server.SECRET_KEY));
      try (S3SnapshotStore store = provider.open(StoreConfig.of(location))) {
        store.write(KEY, "{}".getBytes(StandardCharsets.UTF_8), null);
        String key = "tenant-a/chat/" + KEY.path();
        assertThat(admin.headObject(b -> b.bucket(bucket).key(key)).eTag()).isNotBlank();
        assertThat(store.delete(KEY)).isTrue();
      }
      S3Settings settings = resolve(location, Map.of());
      assertThat(settings.bucket()).isEqualTo(bucket);
      assertThat(settings.prefix()).isEqualTo("tenant-a/chat");
      assertThat(settings.region()).isEqualTo("eu-west-1");
      assertThat(settings.pathStyle()).isTrue();
    }

    @Test
    @DisplayName("from options, with the bucket and prefix given as options")
    void fromOptions() {
      var config =
          new StoreConfig(
              "s3:",
              Map.of(
                  "bucket",
                  bucket,
                  "prefix",
                  "/opts/",
                  "endpoint",
                  server.endpoint().toString(),
                  "pathStyle",
                  "true"));
      var provider =
          new S3SnapshotStoreProvider(
              env(
                  "OBJECT_STORE_ACCESS_KEY_ID", S3Server.ACCESS_KEY,
                  "OBJECT_STORE_SECRET_ACCESS_KEY", S3Server.SECRET_KEY));
      try (S3SnapshotStore store = provider.open(config)) {
        store.write(KEY, "{}".getBytes(StandardCharsets.UTF_8), null);
        assertThat(admin.headObject(b -> b.bucket(bucket).key("opts/" + KEY.path())).eTag())
            .isNotBlank();
        store.delete(KEY);
      }
    }

    @Test
    @DisplayName("the s3 scheme is registered for ServiceLoader")
    void registeredForServiceLoader() {
      assertThat(StoreLoader.snapshotStoreProviders(getClass().getClassLoader()).get("s3"))
          .isInstanceOf(S3SnapshotStoreProvider.class);
    }
  }

  @Nested
  @DisplayName("resolves defaults")
  class Defaults {
    @Test
    @DisplayName("OBJECT_STORE_DEFAULT_PROTOCOL defaults to s3: virtual-host addressing")
    void s3IsVirtualHost() {
      S3Settings settings = resolve("s3://my-bucket", env("AWS_REGION", "eu-central-1"));
      assertThat(settings.protocol()).isEqualTo("s3");
      assertThat(settings.pathStyle()).isFalse();
      assertThat(settings.endpoint()).isNull();
      assertThat(settings.region()).isEqualTo("eu-central-1");
      assertThat(settings.prefix()).isEmpty();
      assertThat(settings.accessKeyId()).isNull();
    }

    @Test
    @DisplayName("any S3-compatible protocol other than s3 is path-style")
    void otherCompatibleStoresArePathStyle() {
      S3Settings settings =
          resolve(
              "s3://my-bucket",
              env(
                  "OBJECT_STORE_DEFAULT_PROTOCOL",
                  "R2",
                  "OBJECT_STORE_BASE_URL",
                  "https://x.example.com/"));
      assertThat(settings.pathStyle()).isTrue();
      assertThat(settings.protocol()).isEqualTo("r2");
      assertThat(settings.endpoint()).hasToString("https://x.example.com");
    }

    @Test
    @DisplayName("settings print without the secret")
    void settingsHideTheSecret() {
      S3Settings settings = resolve("s3:", server.minioEnvironment(bucket));
      assertThat(settings.toString()).doesNotContain(S3Server.SECRET_KEY).contains(bucket);
    }
  }

  @Nested
  @DisplayName("refuses at open, naming the variable or parameter")
  class Refuses {
    private void refused(String location, Map<String, String> env, String... named) {
      var provider = new S3SnapshotStoreProvider(env);
      assertThatThrownBy(() -> provider.open(StoreConfig.of(location)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContainingAll(named)
          .message()
          .doesNotContain(SECRET);
    }

    @Test
    @DisplayName("no bucket anywhere")
    void noBucket() {
      refused(
          "s3:",
          env("OBJECT_STORE_BASE_URL", "http://localhost:9000"),
          "no bucket",
          "[OBJECT_STORE_BUCKET]");
    }

    @Test
    @DisplayName("an access key id without its secret, and a secret without its key id")
    void loneCredential() {
      refused(
          "s3://b-1?region=us-east-1",
          env("OBJECT_STORE_ACCESS_KEY_ID", "AKIAEXAMPLE"),
          "[OBJECT_STORE_SECRET_ACCESS_KEY]",
          "is not");
      refused(
          "s3://b-1?region=us-east-1",
          env("OBJECT_STORE_SECRET_ACCESS_KEY", SECRET),
          "[OBJECT_STORE_ACCESS_KEY_ID]");
    }

    @Test
    @DisplayName("minio without an endpoint")
    void minioWithoutEndpoint() {
      refused(
          "s3://b-1",
          env("OBJECT_STORE_DEFAULT_PROTOCOL", "minio"),
          "[OBJECT_STORE_DEFAULT_PROTOCOL]",
          "[OBJECT_STORE_BASE_URL]");
    }

    @Test
    @DisplayName("pathStyle=false with minio is contradictory")
    void pathStyleContradictsMinio() {
      refused(
          "s3://b-1?pathStyle=false",
          env(
              "OBJECT_STORE_DEFAULT_PROTOCOL",
              "minio",
              "OBJECT_STORE_BASE_URL",
              "http://minio:9000"),
          "[pathStyle]",
          "[OBJECT_STORE_DEFAULT_PROTOCOL]");
    }

    @Test
    @DisplayName("an endpoint parameter that contradicts OBJECT_STORE_BASE_URL")
    void endpointContradiction() {
      refused(
          "s3://b-1?endpoint=http://one:9000",
          env("OBJECT_STORE_BASE_URL", "http://two:9000"),
          "endpoint is contradictory",
          "[http://one:9000]",
          "OBJECT_STORE_BASE_URL");
    }

    @Test
    @DisplayName("a bucket in the location that contradicts OBJECT_STORE_BUCKET")
    void bucketContradiction() {
      refused(
          "s3://bucket-a?region=us-east-1",
          env("OBJECT_STORE_BUCKET", "bucket-b"),
          "bucket is contradictory",
          "[bucket-a]",
          "[bucket-b]",
          "OBJECT_STORE_BUCKET");
    }

    @Test
    @DisplayName("no region for AWS")
    void noRegion() {
      refused("s3://b-1", Map.of(), "no region", "[region]", "[OBJECT_STORE_REGION]");
    }

    @Test
    @DisplayName("an unknown location parameter")
    void unknownParameter() {
      refused("s3://b-1?regoin=eu-west-1", Map.of(), "unknown parameter [regoin]");
    }

    @ParameterizedTest
    @ValueSource(strings = {"yes", "1", ""})
    @DisplayName("a pathStyle that is not true or false")
    void badPathStyle(String value) {
      if (value.isEmpty()) {
        // An empty parameter counts as unset.
        assertThat(resolve("s3://b-1?pathStyle=&region=us-east-1", Map.of()).pathStyle()).isFalse();
        return;
      }
      refused(
          "s3://b-1?region=us-east-1&pathStyle=" + value,
          Map.of(),
          "[pathStyle]",
          "[" + value + "]");
    }

    @Test
    @DisplayName("an endpoint that carries credentials, without echoing them")
    void endpointWithUserInfo() {
      refused(
          "s3://b-1",
          env("OBJECT_STORE_BASE_URL", "http://admin:" + SECRET + "@minio:9000"),
          "must not carry credentials");
    }

    @Test
    @DisplayName(
        "an endpoint with a path, a bucket name S3 would refuse, a location that is not s3://")
    void malformed() {
      refused(
          "s3://b-1",
          env("OBJECT_STORE_BASE_URL", "http://minio:9000/packets"),
          "must be just scheme, host and port");
      refused("s3://Bad_Bucket?region=us-east-1", Map.of(), "bucket [Bad_Bucket]");
      refused("s3:bucket", Map.of(), "must be [s3:]");
      refused("s3://b-1", env("OBJECT_STORE_BASE_URL", "ftp://minio"), "http or https");
    }

    @Test
    @DisplayName("an unknown option")
    void unknownOption() {
      var provider = new S3SnapshotStoreProvider(Map.of());
      assertThatThrownBy(
              () -> provider.open(new StoreConfig("s3://b-1", Map.of("secretKey", SECRET))))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("option [secretKey] is unknown")
          .message()
          .doesNotContain(SECRET);
    }
  }
}
