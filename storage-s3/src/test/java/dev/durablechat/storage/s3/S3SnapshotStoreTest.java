package dev.durablechat.storage.s3;

import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoreConfig;
import dev.durablechat.storage.tck.SnapshotStoreContract;
import org.junit.jupiter.api.DisplayName;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The contract kit against s3proxy 4.1.0 in-process. The ServiceLoader test opens the store by
 * location with credentials from {@code OBJECT_STORE_*} variables that surefire sets (pom.xml).
 */
@DisplayName("S3SnapshotStore keeps the SnapshotStore contract")
class S3SnapshotStoreTest extends SnapshotStoreContract {
  private S3Server server;
  private S3Client client;
  private String bucket;

  @Override
  protected SnapshotStore openStore() {
    server = S3Server.start();
    client = server.client();
    bucket = server.newBucket(client);
    return S3SnapshotStore.create(client, bucket, "tck");
  }

  @Override
  protected void closeStore(SnapshotStore store) {
    store.close();
    client.close();
    server.close();
  }

  @Override
  protected StoreConfig serviceLoaderConfig() {
    return StoreConfig.of(
        "s3://" + bucket + "/tck?endpoint=" + server.endpoint() + "&pathStyle=true");
  }

  /**
   * s3proxy checks conditional PUTs one at a time, not atomically under contention (docs notes).
   */
  @Override
  protected boolean atomicConditionalWritesUnderContention() {
    return false;
  }
}
