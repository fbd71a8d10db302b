package dev.durablechat.storage.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.DurableChatException;
import dev.durablechat.api.Environment;
import dev.durablechat.api.SnapshotConflictException;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StoreUnavailableException;
import dev.durablechat.api.spi.StoredSnapshot;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/** The S3 specifics of H1 and invariant 8, against a real S3-compatible server. */
@DisplayName("S3 snapshot store")
class S3SnapshotStoreBehaviourTest {
  private static final Environment ENV = new Environment("proj_s3", "dev");

  private static S3Server server;
  private static S3Client client;
  private static String bucket;
  private static S3SnapshotStore store;

  @BeforeAll
  static void startServer() {
    server = S3Server.start();
    client = server.client();
    bucket = server.newBucket(client);
    store = S3SnapshotStore.create(client, bucket, "/chat/prod/");
  }

  @AfterAll
  static void stopServer() {
    store.close();
    client.close();
    server.close();
  }

  private static SnapshotKey freshKey() {
    return new SnapshotKey(ENV, "session_" + UUID.randomUUID().toString().replace("-", ""));
  }

  private static byte[] json(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] objectBytes(String key) {
    return client.getObjectAsBytes(b -> b.bucket(bucket).key(key)).asByteArray();
  }

  @Test
  @DisplayName(
      "H1: a snapshot is one object at [prefix/]packets/{projectRef}/{envSlug}/sessions/{id}/snapshot.json")
  void objectLivesAtThePrefixedPath() {
    SnapshotKey key = freshKey();
    store.write(key, json("{\"version\":1}"), null);

    String expected =
        "chat/prod/packets/proj_s3/dev/sessions/" + key.sessionId() + "/snapshot.json";
    assertThat(objectBytes(expected)).isEqualTo(json("{\"version\":1}"));
    assertThat(client.headObject(b -> b.bucket(bucket).key(expected)).contentType())
        .isEqualTo("application/json");
  }

  @Test
  @DisplayName("the version is the object's ETag, and each write returns the new one")
  void versionIsTheEtag() {
    SnapshotKey key = freshKey();
    String first = store.write(key, json("{\"n\":1}"), null);
    String second = store.write(key, json("{\"n\":2}"), first);

    String etag = client.headObject(b -> b.bucket(bucket).key(store.objectKey(key))).eTag();
    assertThat(second).isEqualTo(etag).isNotEqualTo(first);
    assertThat(store.read(key)).get().extracting(StoredSnapshot::version).isEqualTo(etag);
  }

  @Test
  @DisplayName(
      "invariant 8: a second first write (If-None-Match: *) is a conflict and changes nothing")
  void secondFirstWriteIsRefused() {
    SnapshotKey key = freshKey();
    String version = store.write(key, json("{\"n\":1}"), null);

    assertThatThrownBy(() -> store.write(key, json("{\"n\":0}"), null))
        .isInstanceOf(SnapshotConflictException.class)
        .hasMessageContaining("expected no snapshot but one exists")
        .hasMessageContaining(key.sessionId());
    StoredSnapshot now = store.read(key).orElseThrow();
    assertThat(now.content()).isEqualTo(json("{\"n\":1}"));
    assertThat(now.version()).isEqualTo(version);
  }

  @Test
  @DisplayName(
      "invariant 8: a stale writer (If-Match on an old ETag, 412) is a conflict and changes nothing")
  void staleWriterIsRefused() {
    SnapshotKey key = freshKey();
    String v1 = store.write(key, json("{\"lastOutEventId\":\"1-0\"}"), null);
    String v2 = store.write(key, json("{\"lastOutEventId\":\"5-0\"}"), v1);

    assertThatThrownBy(() -> store.write(key, json("{\"lastOutEventId\":\"3-0\"}"), v1))
        .isInstanceOf(SnapshotConflictException.class)
        .hasMessageContaining("[" + v1 + "] is no longer current")
        .hasMessageContaining("412");
    StoredSnapshot now = store.read(key).orElseThrow();
    assertThat(now.content()).isEqualTo(json("{\"lastOutEventId\":\"5-0\"}"));
    assertThat(now.version()).isEqualTo(v2);
  }

  @Test
  @DisplayName(
      "invariant 8: If-Match on a snapshot that was deleted meanwhile is a conflict, not a re-create")
  void ifMatchOnMissingObjectIsConflict() {
    SnapshotKey key = freshKey();
    String v1 = store.write(key, json("{}"), null);
    assertThat(store.delete(key)).isTrue();

    assertThatThrownBy(() -> store.write(key, json("{\"n\":2}"), v1))
        .isInstanceOf(SnapshotConflictException.class);
    assertThat(store.read(key)).isEmpty();
  }

  @Test
  @DisplayName("a missing snapshot (404) reads as empty")
  void missingReadsEmpty() {
    assertThat(store.read(freshKey())).isEmpty();
  }

  @Test
  @DisplayName(
      "an object corrupted by hand is returned as its bytes: judging it is the engine's job (H1)")
  void corruptObjectIsReturnedAsBytes() {
    SnapshotKey key = freshKey();
    store.write(key, json("{\"version\":1,\"messages\":[]}"), null);
    byte[] garbage = {'{', 'n', 'o', 't', ' ', (byte) 0xff, (byte) 0xfe, 0};
    client.putObject(
        b -> b.bucket(bucket).key(store.objectKey(key)), RequestBody.fromBytes(garbage));

    StoredSnapshot read = store.read(key).orElseThrow();
    assertThat(read.content()).isEqualTo(garbage);
    // The engine may overwrite it with a fresh snapshot by naming the version it read.
    store.write(key, json("{\"version\":1}"), read.version());
    assertThat(store.read(key).orElseThrow().content()).isEqualTo(json("{\"version\":1}"));
  }

  @Test
  @DisplayName("delete removes the snapshot and says whether there was one")
  void deleteSaysWhetherThereWasOne() {
    SnapshotKey key = freshKey();
    store.write(key, json("{}"), null);

    assertThat(store.delete(key)).isTrue();
    assertThat(store.read(key)).isEmpty();
    assertThat(store.delete(key)).isFalse();
    // After a delete the next first write starts over.
    assertThat(store.write(key, json("{\"n\":1}"), null)).isNotBlank();
  }

  @Test
  @DisplayName(
      "sweep deletes the snapshots of sessions the predicate calls closed or expired, and only those")
  void sweepDeletesClosedSessions() {
    var env = new Environment("proj_sweep", "prod");
    var other = new Environment("proj_sweep", "dev");
    SnapshotKey closed1 = new SnapshotKey(env, "session_closed1");
    SnapshotKey closed2 = new SnapshotKey(env, "session_closed2");
    SnapshotKey open = new SnapshotKey(env, "session_open");
    SnapshotKey otherEnv = new SnapshotKey(other, "session_closed1");
    for (SnapshotKey key : Set.of(closed1, closed2, open, otherEnv)) {
      store.write(key, json("{}"), null);
    }
    String stray = "chat/prod/packets/proj_sweep/prod/sessions/session_closed1/notes.txt";
    client.putObject(b -> b.bucket(bucket).key(stray), RequestBody.fromString("keep me"));

    int deleted = store.sweep(env, id -> id.startsWith("session_closed"));

    assertThat(deleted).isEqualTo(2);
    assertThat(store.read(closed1)).isEmpty();
    assertThat(store.read(closed2)).isEmpty();
    assertThat(store.read(open)).isPresent();
    assertThat(store.read(otherEnv)).isPresent();
    assertThat(objectBytes(stray)).isEqualTo(json("keep me"));
    assertThat(store.sweep(env, id -> true)).isEqualTo(1);
  }

  @Test
  @DisplayName("closing a store made from the user's client leaves the client open")
  void closeLeavesUsersClientOpen() {
    S3SnapshotStore another = S3SnapshotStore.create(client, bucket);
    SnapshotKey key = freshKey();
    another.write(key, json("{}"), null);
    another.close();

    assertThat(client.headObject(b -> b.bucket(bucket).key(key.path())).eTag()).isNotBlank();
  }

  @Test
  @DisplayName("a missing bucket is an error naming it, neither a conflict nor 'no snapshot'")
  void missingBucketIsAnError() {
    S3SnapshotStore nowhere = S3SnapshotStore.create(client, "no-such-bucket-here");
    SnapshotKey key = freshKey();

    assertThatThrownBy(() -> nowhere.write(key, json("{}"), "\"abc\""))
        .isInstanceOf(DurableChatException.class)
        .isNotInstanceOf(SnapshotConflictException.class)
        .isNotInstanceOf(StoreUnavailableException.class)
        .hasMessageContaining("[no-such-bucket-here]")
        .hasMessageContaining("NoSuchBucket");
    assertThatThrownBy(() -> nowhere.read(key))
        .isInstanceOf(DurableChatException.class)
        .hasMessageContaining("[no-such-bucket-here]");
  }
}
