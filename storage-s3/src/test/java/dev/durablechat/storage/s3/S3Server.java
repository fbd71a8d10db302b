package dev.durablechat.storage.s3;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.gaul.s3proxy.BlobStores;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.blobstore.BlobStore;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A real S3-compatible server in the test JVM: s3proxy 4.1.0 on an in-memory blob store, which
 * enforces {@code If-None-Match} and {@code If-Match} on PUT. It can be stopped and started again
 * on the same port with its data kept, to play an outage.
 */
final class S3Server implements AutoCloseable {
  static final String ACCESS_KEY = "access";
  static final String SECRET_KEY = "secret-do-not-print";

  private final BlobStore blobStore;
  private int port;
  private S3Proxy proxy;
  private boolean running;

  private S3Server(BlobStore blobStore) {
    this.blobStore = blobStore;
  }

  static S3Server start() {
    var properties = new Properties();
    try {
      properties.setProperty(
          "jclouds.filesystem.basedir",
          Files.createTempDirectory("s3proxy").toFile().getCanonicalPath());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    properties.setProperty("jclouds.identity", ACCESS_KEY);
    properties.setProperty("jclouds.credential", SECRET_KEY);
    var server = new S3Server(BlobStores.create("transient-nio2", properties));
    server.startOn(0);
    return server;
  }

  private void startOn(int wanted) {
    proxy =
        S3Proxy.builder()
            .blobStore(blobStore)
            .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
            .endpoint(URI.create("http://127.0.0.1:" + wanted))
            .build();
    try {
      proxy.start();
      await("s3proxy started")
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(5))
          .until(() -> proxy.getState().equals("STARTED"));
    } catch (Exception e) {
      throw new IllegalStateException("s3proxy did not start on port [" + wanted + "]", e);
    }
    port = proxy.getPort();
    running = true;
  }

  /** Stops answering: connections to the port are refused. The data is kept. */
  void stop() {
    if (!running) {
      return;
    }
    running = false;
    try {
      proxy.stop();
    } catch (Exception e) {
      throw new IllegalStateException("s3proxy did not stop", e);
    }
  }

  /** Starts again on the same port with the same data. */
  void restart() {
    startOn(port);
  }

  URI endpoint() {
    return URI.create("http://127.0.0.1:" + port);
  }

  /** The environment an operator would set for this server as a MinIO-like store. */
  Map<String, String> minioEnvironment(String bucket) {
    return Map.of(
        "OBJECT_STORE_BASE_URL", endpoint().toString(),
        "OBJECT_STORE_ACCESS_KEY_ID", ACCESS_KEY,
        "OBJECT_STORE_SECRET_ACCESS_KEY", SECRET_KEY,
        "OBJECT_STORE_DEFAULT_PROTOCOL", "minio",
        "OBJECT_STORE_BUCKET", bucket);
  }

  /** A client the test owns, as a user would build one (see docs/contributing-notes.md). */
  S3Client client() {
    return S3Client.builder()
        .endpointOverride(endpoint())
        .region(Region.US_EAST_1)
        .credentialsProvider(
            StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)))
        .forcePathStyle(true)
        .build();
  }

  /** Creates a bucket with a fresh name, so that tests need not clean up. */
  String newBucket(S3Client client) {
    String bucket = "chat-" + UUID.randomUUID().toString().substring(0, 8);
    client.createBucket(b -> b.bucket(bucket));
    return bucket;
  }

  @Override
  public void close() {
    stop();
  }
}
