package dev.durablechat.storage.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.Environment;
import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.Session;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.core.CreateSessionRequest;
import dev.durablechat.core.DurableChat;
import dev.durablechat.core.RetentionPolicy;
import dev.durablechat.core.RetentionSweep;
import dev.durablechat.storage.memory.MemorySessionStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("the retention sweep with file snapshots (S11)")
class FileRetentionTest {
  private static final Environment ENV = new Environment("proj", "files");

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

  @Test
  @DisplayName(
      "an expired session is closed, then deleted after its grace period with its snapshot file")
  void expiredClosedThenDeleted(@TempDir Path root) throws IOException {
    var clock = new HandClock();
    try (var sessions = new MemorySessionStore();
        var snapshots = new FileSnapshotStore(root);
        DurableChat chat =
            DurableChat.builder()
                .environment(ENV)
                .sessionStore(sessions)
                .snapshotStore(snapshots)
                .clock(clock)
                .retention(
                    RetentionPolicy.defaults()
                        .withDeleteClosedAfter(Duration.ofDays(7))
                        .withSweepInterval(Duration.ofDays(1)))
                .build()) {
      Session s =
          chat.createSession(
                  CreateSessionRequest.builder("agent")
                      .externalId("chat-f")
                      .expiresAt(clock.instant().plusSeconds(60))
                      .build())
              .session();
      SnapshotKey key = new SnapshotKey(ENV, s.friendlyId());
      snapshots.write(key, "{}".getBytes(StandardCharsets.UTF_8), null);
      Path file = root.resolve(key.path());
      assertThat(file).exists();

      clock.advance(Duration.ofMinutes(2));
      assertThat(chat.sweepRetention()).isEqualTo(new RetentionSweep(1, 0, 0));
      assertThat(chat.session("chat-f").closedReason()).isEqualTo("expired");
      assertThat(file).as("kept while the session is only closed").exists();

      clock.advance(Duration.ofDays(7));
      assertThat(chat.sweepRetention()).isEqualTo(new RetentionSweep(0, 1, 0));

      assertThatThrownBy(() -> chat.session("chat-f")).isInstanceOf(NoSuchSessionException.class);
      assertThat(snapshots.read(key)).isEmpty();
      assertThat(file).doesNotExist();
      assertThat(sessions.pendingSnapshotDeletions(ENV, 10)).isEmpty();
      try (var left = Files.walk(root)) {
        assertThat(left.filter(Files::isRegularFile).map(Path::toString))
            .noneMatch(p -> p.contains(s.friendlyId()) && p.endsWith("snapshot.json"));
      }
    }
  }
}
