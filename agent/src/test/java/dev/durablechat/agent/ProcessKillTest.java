package dev.durablechat.agent;

import static dev.durablechat.agent.AgentFixture.WAIT;
import static dev.durablechat.agent.AgentFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoreConfig;
import dev.durablechat.core.DurableChat;
import dev.durablechat.storage.jdbc.JdbcStores;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("a JVM killed mid-reply")
class ProcessKillTest {
  /** The child's lease: the recovering runtime takes over this long after its last renewal. */
  static final Duration LEASE = Duration.ofSeconds(1);

  @TempDir Path dir;

  @Test
  @DisplayName(
      "is recovered by a runtime in another JVM once its lease expired: the partial reply is"
          + " cleaned (H4), the unanswered message is answered once, nothing acknowledged is lost")
  void killedMidReply() throws Exception {
    // FILE_LOCK=FS: the operating system drops the killed process's lock on the database file.
    // (The store adds WRITE_DELAY=0 to H2 file URLs: without it the kill loses recent appends.)
    String url = "jdbc:h2:file:" + dir.resolve("chat").toAbsolutePath() + ";FILE_LOCK=FS";
    String slug = "kill-" + UUID.randomUUID();
    Path childLog = dir.resolve("child.log");
    Process child =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m",
                "-cp",
                System.getProperty("java.class.path"),
                CrashChild.class.getName(),
                url,
                slug)
            .redirectError(childLog.toFile())
            .start();
    try {
      var lines = new CopyOnWriteArrayList<String>();
      CompletableFuture<Boolean> streaming =
          CompletableFuture.supplyAsync(
              () -> {
                try (var reader =
                    new BufferedReader(
                        new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                  for (String line; (line = reader.readLine()) != null; ) {
                    lines.add(line);
                    if (line.equals("STREAMING")) {
                      return true;
                    }
                  }
                  return false;
                } catch (java.io.IOException e) {
                  return false;
                }
              });
      boolean reached = streaming.get(60, TimeUnit.SECONDS);
      assertThat(reached)
          .as("the child streams m1 (stdout %s, stderr %s)", lines, Files.readString(childLog))
          .isTrue();
      assertThat(lines).contains("ANSWERED re m0");
    } finally {
      child.destroyForcibly();
      assertThat(child.waitFor(30, TimeUnit.SECONDS)).as("the child is dead").isTrue();
    }

    var answered = new CopyOnWriteArrayList<String>();
    var seen = new CopyOnWriteArrayList<List<String>>();
    ChatAgent<?> agent =
        ChatAgent.builder("echo")
            .idleTimeout(Duration.ofSeconds(10))
            .run(
                (turn, out) -> {
                  seen.add(
                      turn.messages().stream().map(m -> m.role() + ":" + m.text().trim()).toList());
                  answered.add(turn.message().text());
                  out.text("re " + turn.message().text());
                })
            .build();
    SessionStore sessions = JdbcStores.openSessionStore(new StoreConfig(url, Map.of()));
    SnapshotStore snapshots = JdbcStores.openSnapshotStore(new StoreConfig(url, Map.of()));
    try (sessions;
        snapshots;
        DurableChat chat =
            DurableChat.builder()
                .environment(CrashChild.env(slug))
                .sessionStore(sessions)
                .snapshotStore(snapshots)
                .build();
        AgentRuntime runtime =
            AgentRuntime.builder(chat).leaseDuration(LEASE).register(agent).build()) {
      List<SessionRun> before = chat.runs("c1");
      assertThat(before).singleElement().satisfies(r -> assertThat(r.isRunning()).isTrue());
      long partialChunks =
          chat.readOut("c1", 0, 10_000).stream()
              .filter(r -> r.event() instanceof OutEvent.Chunk)
              .count();
      assertThat(partialChunks).as("the killed reply left chunks on out").isGreaterThan(4);

      // Nobody sends anything: resume() finds the dead run, waits for its lease, takes over.
      runtime.resume("c1");
      await("m1 answered", () -> answered.contains("m1"));
      List<SessionRun> runs = chat.runs("c1");
      assertThat(runs)
          .extracting(SessionRun::reason)
          .containsExactly(RunReason.INITIAL, RunReason.CONTINUATION);
      assertThat(runs.get(0).endReason()).isEqualTo("superseded");
      assertThat(runs.get(1).startedAt())
          .as("taken over only once the killed run's lease expired")
          .isAfterOrEqualTo(runs.get(0).lastAliveAt().plus(LEASE));
      List<String> atRecovery = seen.get(0);
      assertThat(atRecovery.subList(0, 3)).containsExactly("user:m0", "assistant:re m0", "user:m1");
      assertThat(atRecovery).hasSize(4);
      assertThat(atRecovery.get(3)).startsWith("assistant:part0 part1 part2 part3");

      String text =
          AgentChat.builder(runtime, "echo").chatId("c1").build().sendMessage("m2").text(WAIT);
      assertThat(text).endsWith("re m2");
      assertThat(answered).as("each unanswered message once").containsExactly("m1", "m2");
      assertThat(seen.get(1)).hasSize(6).endsWith("assistant:re m1", "user:m2");
      assertThat(seen.get(1).subList(0, 2)).containsExactly("user:m0", "assistant:re m0");

      List<Long> acknowledged = new ArrayList<>();
      for (StreamRecord<OutEvent> r : chat.readOut("c1", 0, 100_000)) {
        if (r.event() instanceof OutEvent.TurnComplete tc) {
          acknowledged.add(tc.lastDispatchedInEventId());
        }
      }
      assertThat(acknowledged).as("one turn-complete per message").containsExactly(1L, 2L, 3L);
      // H4: the partial is cleaned: the recovered history's partial text is done, not streaming.
      UIMessage partial = dev.durablechat.core.ChatHistory.of(chat).rebuild("c1").messages().get(3);
      assertThat(partial.role()).isEqualTo("assistant");
      assertThat(partial.parts())
          .allSatisfy(p -> assertThat(p.toString()).doesNotContain("\"streaming\""));
    }
  }
}
