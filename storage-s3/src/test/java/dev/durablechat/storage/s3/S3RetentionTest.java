package dev.durablechat.storage.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.Environment;
import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.Session;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoreConfig;
import dev.durablechat.core.CreateSessionRequest;
import dev.durablechat.core.DurableChat;
import dev.durablechat.core.RetentionPolicy;
import dev.durablechat.core.RetentionSweep;
import dev.durablechat.storage.jdbc.JdbcStores;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;

@DisplayName("the retention sweep with sessions on H2 and snapshots on S3 (s3proxy), S11")
class S3RetentionTest {
  private static final Environment ENV = new Environment("proj", "s3-retention");

  /** A clock the test moves by hand. */
  private static final class HandClock extends Clock {
    private volatile Instant now = Instant.parse("2026-12-01T00:00:00Z");

    void advance(Duration by) {
      now = now.plus(by);
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }
  }

  private final HandClock clock = new HandClock();
  private S3Server server;
  private S3SnapshotStore snapshots;
  private SessionStore sessions;
  private DurableChat chat;

  @BeforeEach
  void start(@TempDir Path dir) throws IOException {
    server = S3Server.start();
    String bucket;
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
            .clock(clock)
            .retention(
                RetentionPolicy.defaults()
                    .withDeleteClosedAfter(Duration.ofDays(1))
                    .withSweepInterval(Duration.ofDays(1)))
            .build();
  }

  @AfterEach
  void stop() {
    chat.close();
    sessions.close();
    snapshots.close();
    server.close();
  }

  private SnapshotKey snapshotOf(String chatId, Instant expiresAt) {
    Session s =
        chat.createSession(
                CreateSessionRequest.builder("agent")
                    .externalId(chatId)
                    .expiresAt(expiresAt)
                    .build())
            .session();
    SnapshotKey key = new SnapshotKey(ENV, s.friendlyId());
    snapshots.write(key, "{}".getBytes(StandardCharsets.UTF_8), null);
    return key;
  }

  @Test
  @DisplayName(
      "expired, closed, then deleted with the S3 snapshot; a snapshot S3 could not delete during"
          + " an outage is deleted by the next sweep once it is back")
  void expiryAndOutage() {
    SnapshotKey a = snapshotOf("chat-a", clock.instant().plusSeconds(60));
    SnapshotKey b = snapshotOf("chat-b", clock.instant().plusSeconds(60));

    clock.advance(Duration.ofMinutes(5));
    assertThat(chat.sweepRetention()).isEqualTo(new RetentionSweep(2, 0, 0));
    assertThat(chat.session("chat-a").closedReason()).isEqualTo("expired");

    clock.advance(Duration.ofDays(1));
    server.stop();
    RetentionSweep during = chat.sweepRetention();

    assertThat(during.deleted()).as("the sessions go, S3 or not").isEqualTo(2);
    assertThat(during.snapshotsDeleted()).isZero();
    assertThatThrownBy(() -> chat.session("chat-a")).isInstanceOf(NoSuchSessionException.class);
    assertThat(sessions.pendingSnapshotDeletions(ENV, 10))
        .as("recorded, not forgotten")
        .containsExactlyInAnyOrder(a, b);

    server.restart();
    assertThat(snapshots.read(a)).as("still in the bucket").isPresent();
    RetentionSweep after = chat.sweepRetention();

    assertThat(after.snapshotsDeleted()).isEqualTo(2);
    assertThat(snapshots.read(a)).isEmpty();
    assertThat(snapshots.read(b)).isEmpty();
    assertThat(sessions.pendingSnapshotDeletions(ENV, 10)).isEmpty();
  }
}
