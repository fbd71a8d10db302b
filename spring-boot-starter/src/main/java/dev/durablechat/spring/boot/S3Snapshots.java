package dev.durablechat.spring.boot;

import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.storage.s3.S3SnapshotStore;
import org.springframework.beans.factory.BeanFactory;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * {@code s3://bucket/prefix} through the application's {@link S3Client} bean. Loaded only for an
 * {@code s3://} location, so the starter needs no AWS SDK otherwise.
 */
final class S3Snapshots {
  private static final String CLIENT = "software.amazon.awssdk.services.s3.S3Client";

  private S3Snapshots() {}

  /** Whether the AWS SDK is on the class path and the application has one S3Client bean. */
  static boolean hasClientBean(BeanFactory beans) {
    Class<?> type;
    try {
      type = Class.forName(CLIENT, false, S3Snapshots.class.getClassLoader());
      Class.forName(
          "dev.durablechat.storage.s3.S3SnapshotStore", false, S3Snapshots.class.getClassLoader());
    } catch (ClassNotFoundException | LinkageError e) {
      return false;
    }
    return beans.getBeanProvider(type).getIfUnique() != null;
  }

  /** The store on the application's client, which it does not close. */
  static SnapshotStore open(BeanFactory beans, String location) {
    String rest = location.substring("s3://".length());
    if (rest.indexOf('?') >= 0) {
      throw new IllegalArgumentException(
          "location ["
              + location.substring(0, location.indexOf('?'))
              + "?...] has parameters, but the application's S3Client bean is used: configure"
              + " the client instead");
    }
    int slash = rest.indexOf('/');
    String bucket = slash < 0 ? rest : rest.substring(0, slash);
    String prefix = slash < 0 ? "" : rest.substring(slash + 1);
    if (bucket.isEmpty()) {
      throw new IllegalArgumentException(
          "location [" + location + "] names no bucket, expected [s3://bucket/prefix]");
    }
    S3Client client = beans.getBean(S3Client.class);
    return prefix.isEmpty()
        ? S3SnapshotStore.create(client, bucket)
        : S3SnapshotStore.create(client, bucket, prefix);
  }
}
