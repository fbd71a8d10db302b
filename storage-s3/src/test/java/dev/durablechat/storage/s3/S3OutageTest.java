package dev.durablechat.storage.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.Environment;
import dev.durablechat.api.SnapshotConflictException;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StoreUnavailableException;
import dev.durablechat.api.spi.StoreConfig;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The store going away mid-run: the client the provider builds (its retry strategy and timeouts)
 * against a server that is stopped and started again on the same port.
 */
@DisplayName("S3 snapshot store during an outage")
class S3OutageTest {
  private S3Server server;
  private S3SnapshotStore store;

  @BeforeEach
  void start() {
    server = S3Server.start();
    String bucket;
    try (S3Client admin = server.client()) {
      bucket = server.newBucket(admin);
    }
    store =
        new S3SnapshotStoreProvider(server.minioEnvironment(bucket)).open(StoreConfig.of("s3:"));
  }

  @AfterEach
  void stop() {
    store.close();
    server.close();
  }

  private static byte[] json(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  @DisplayName(
      "an unreachable store is StoreUnavailableException, never a conflict; after a restart writes succeed")
  void unreachableThenBack() {
    var key = new SnapshotKey(new Environment("proj_outage", "dev"), "session_outage");
    String v1 = store.write(key, json("{\"lastOutEventId\":\"1-0\"}"), null);

    server.stop();
    assertThatThrownBy(() -> store.write(key, json("{\"lastOutEventId\":\"2-0\"}"), v1))
        .isInstanceOf(StoreUnavailableException.class)
        .isNotInstanceOf(SnapshotConflictException.class)
        .hasMessageContaining("unreachable or timed out")
        .hasMessageContaining("session_outage");
    assertThatThrownBy(() -> store.read(key)).isInstanceOf(StoreUnavailableException.class);
    assertThatThrownBy(() -> store.delete(key)).isInstanceOf(StoreUnavailableException.class);

    server.restart();
    // The failed write changed nothing; the next turn's write names the version it reads.
    var stored = store.read(key).orElseThrow();
    assertThat(stored.version()).isEqualTo(v1);
    assertThat(stored.content()).isEqualTo(json("{\"lastOutEventId\":\"1-0\"}"));
    String v3 = store.write(key, json("{\"lastOutEventId\":\"3-0\"}"), v1);
    assertThat(store.read(key).orElseThrow().version()).isEqualTo(v3);
  }
}
