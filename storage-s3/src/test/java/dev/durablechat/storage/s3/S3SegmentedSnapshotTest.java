package dev.durablechat.storage.s3;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.Environment;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoreConfig;
import dev.durablechat.core.ChatHistory;
import dev.durablechat.core.CreateSessionRequest;
import dev.durablechat.core.DurableChat;
import dev.durablechat.storage.jdbc.JdbcStores;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

@DisplayName("segmented snapshots on S3 (s3proxy): a manifest and segments per session (H1, S11)")
class S3SegmentedSnapshotTest {
  private static final Environment ENV = new Environment("proj", "s3-segments");

  private S3Server server;
  private String bucket;
  private S3SnapshotStore snapshots;
  private SessionStore sessions;
  private DurableChat chat;

  @BeforeEach
  void start(@TempDir Path dir) throws IOException {
    server = S3Server.start();
    try (S3Client admin = server.client()) {
      bucket = server.newBucket(admin);
    }
    snapshots =
        new S3SnapshotStoreProvider(server.minioEnvironment(bucket)).open(StoreConfig.of("s3:"));
    Files.createDirectories(dir);
    sessions = JdbcStores.openSessionStore(StoreConfig.of("jdbc:h2:file:" + dir.resolve("chat")));
    chat =
        DurableChat.builder()
            .environment(ENV)
            .sessionStore(sessions)
            .snapshotStore(snapshots)
            .build();
  }

  @AfterEach
  void stop() {
    chat.close();
    sessions.close();
    snapshots.close();
    server.close();
  }

  private List<String> objectsOf(SnapshotKey key) {
    try (S3Client admin = server.client()) {
      return admin
          .listObjectsV2Paginator(b -> b.bucket(bucket).prefix(key.folder()))
          .contents()
          .stream()
          .map(S3Object::key)
          .toList();
    }
  }

  /** Twelve turns through the engine's history; returns the session's snapshot key. */
  private SnapshotKey chatted(String address, List<UIMessage> messages) {
    String sessionId =
        chat.createSession(CreateSessionRequest.builder("agent").externalId(address).build())
            .session()
            .friendlyId();
    String run = chat.ensureRun(address, RunReason.INITIAL).run().runId();
    for (int t = 1; t <= 12; t++) {
      messages.add(UIMessage.userText("u" + t, "question " + t));
      assertThat(
              chat.history().completeTurn(address, run, List.copyOf(messages), 0).snapshotWritten())
          .isTrue();
    }
    return new SnapshotKey(ENV, sessionId);
  }

  @Test
  @DisplayName(
      "turns leave a manifest and a few segments in the session's folder; a rebuild reads them;"
          + " deleting the session deletes every one of them")
  void deleteRemovesEverySegment() {
    var messages = new ArrayList<UIMessage>();
    SnapshotKey key = chatted("chat-a", messages);

    List<String> objects = objectsOf(key);
    assertThat(objects).contains(key.path()).hasSizeGreaterThan(2);
    assertThat(objects).allMatch(k -> k.equals(key.path()) || k.contains("/seg-"));
    assertThat(ChatHistory.of(chat).rebuild("chat-a").messages()).isEqualTo(messages);

    chat.deleteSession("chat-a");

    assertThat(objectsOf(key)).isEmpty();
  }

  @Test
  @DisplayName(
      "a session deleted while S3 is down keeps its manifest and segments recorded; the retention"
          + " sweep deletes them all once S3 is back (S11)")
  void sweepFinishesTheDelete() {
    SnapshotKey key = chatted("chat-b", new ArrayList<>());
    int stored = objectsOf(key).size();
    server.stop();

    chat.deleteSession("chat-b");

    server.restart();
    assertThat(objectsOf(key)).hasSize(stored);
    assertThat(chat.sweepRetention().snapshotsDeleted()).isEqualTo(1);
    assertThat(objectsOf(key)).isEmpty();
    assertThat(sessions.pendingSnapshotDeletions(ENV, 10)).isEmpty();
  }

  @Test
  @DisplayName(
      "the sweep of closed sessions' snapshots deletes their segments too, and leaves other objects")
  void storeSweepTakesSegments() {
    SnapshotKey key = chatted("chat-c", new ArrayList<>());
    int stored = objectsOf(key).size();

    assertThat(snapshots.sweep(ENV, id -> id.equals(key.sessionId()))).isEqualTo(stored);

    assertThat(objectsOf(key)).isEmpty();
  }
}
