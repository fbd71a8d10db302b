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
import dev.durablechat.core.ChatHistory;
import dev.durablechat.core.DurableChat;
import dev.durablechat.storage.jdbc.JdbcStores;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real process crash: a child JVM ({@link CrashChild}) killed with destroyForcibly(). */
@DisplayName("a JVM killed mid-reply")
class ProcessKillTest {
  /**
   * The run lease on H2, where only one process at a time opens the file: another runtime takes
   * over this long after the killed child's last renewal.
   */
  static final Duration LEASE = Duration.ofSeconds(1);

  /**
   * The run lease on PostgreSQL, where the other node is up while the child lives: long enough that
   * a healthy child on a busy machine never misses it.
   */
  static final Duration PG_LEASE = Duration.ofSeconds(3);

  @TempDir Path dir;

  /** The recovering side's agent: it records what it answers and the history it saw. */
  private final List<String> answered = new CopyOnWriteArrayList<>();

  private final List<List<String>> seen = new CopyOnWriteArrayList<>();
  private final ChatAgent<?> agent =
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

  @Test
  @DisplayName(
      "on an H2 file, is recovered by the restarted node's recovery sweep with no new message once"
          + " its lease expired: the partial reply is cleaned (H4), the unanswered message is"
          + " answered once, nothing acknowledged is lost (S12)")
  void onH2() throws Exception {
    // FILE_LOCK=FS: the operating system drops the killed process's lock on the database file.
    // (The store adds WRITE_DELAY=0 to H2 file URLs: without it the kill loses recent appends.)
    String url = "jdbc:h2:file:" + dir.resolve("chat").toAbsolutePath() + ";FILE_LOCK=FS";
    String slug = "kill-" + UUID.randomUUID();
    Child child = Child.start(url, slug, "self", LEASE, dir.resolve("child.log"));
    try {
      child.awaitLine("ANSWERED re m0");
      child.awaitLine("STREAMING");
    } finally {
      child.kill();
    }
    // Only now: an H2 file belongs to one process at a time.
    try (Opened node = Opened.open(url, slug);
        AgentRuntime runtime =
            AgentRuntime.builder(node.chat).leaseDuration(LEASE).register(agent).build()) {
      DurableChat chat = node.chat;
      assertThat(chat.runs("c1"))
          .singleElement()
          .satisfies(r -> assertThat(r.isRunning()).isTrue());
      assertThat(chunks(chat)).as("the killed reply left chunks on out").isGreaterThan(4);

      // Nobody sends anything and nobody calls resume(): the runtime's recovery sweep (at start,
      // then every half lease) finds the dead run once its lease expired and takes over (S12).
      await("m1 answered", () -> answered.contains("m1"));
      assertRecovered(chat, LEASE, List.of("user:m0", "assistant:re m0", "user:m1"));

      assertThat(sendThrough(runtime, "m2")).endsWith("re m2");
      assertThat(answered).as("each unanswered message once").containsExactly("m1", "m2");
      assertThat(seen.get(1)).hasSize(6).endsWith("assistant:re m1", "user:m2");
      assertThat(acknowledged(chat))
          .as("one turn-complete per message")
          .containsExactly(1L, 2L, 3L);
    }
  }

  @Test
  @DisplayName(
      "on PostgreSQL, with another node up all along: while the child lives that node only"
          + " appends and the child answers; once it is killed mid-reply, that node takes over"
          + " after the lease and answers the message once (S7, S8, H4)")
  void onPostgres() throws Exception {
    String url = Backend.postgresUrl();
    String slug = "kill-" + UUID.randomUUID();
    Child child = Child.start(url, slug, "wait", PG_LEASE, dir.resolve("child.log"));
    try (Opened node = Opened.open(url, slug);
        AgentRuntime runtime =
            AgentRuntime.builder(node.chat).leaseDuration(PG_LEASE).register(agent).build()) {
      DurableChat chat = node.chat;
      try {
        child.awaitLine("ANSWERED re m0");
        // The child's run is alive: this node appends, the child's loop answers.
        assertThat(sendThrough(runtime, "p0")).endsWith("re p0");
        assertThat(answered).as("this node ran no turn").isEmpty();
        assertThat(chat.runs("c1")).hasSize(1);
        assertThat(runtime.runningRunId("c1")).isNull();
        // m1 too is dispatched by the child, whose reply never ends.
        AgentChat.builder(runtime, "echo").chatId("c1").build().sendMessage("m1");
        child.awaitLine("STREAMING");
      } finally {
        child.kill();
      }
      // The send of m1 left this node watching the child's lease: it takes over on its own.
      await("m1 answered here", () -> answered.contains("m1"));
      assertRecovered(
          chat,
          PG_LEASE,
          List.of("user:m0", "assistant:re m0", "user:p0", "assistant:re p0", "user:m1"));
      assertThat(answered).containsExactly("m1");
      // The hook records m1 as it starts: its turn-complete follows.
      await("m1's turn-complete", () -> acknowledged(chat).size() == 3);
      assertThat(acknowledged(chat)).containsExactly(1L, 2L, 3L);
    }
  }

  @Test
  @DisplayName(
      "on PostgreSQL, with another node up all along that never touched the chat: once the child"
          + " is killed mid-reply, that node's recovery sweep takes over after the lease and"
          + " answers the message once, with no new message (S12)")
  void onPostgresBySweep() throws Exception {
    String url = Backend.postgresUrl();
    String slug = "kill-" + UUID.randomUUID();
    try (Opened node = Opened.open(url, slug);
        AgentRuntime runtime =
            AgentRuntime.builder(node.chat).leaseDuration(PG_LEASE).register(agent).build()) {
      DurableChat chat = node.chat;
      Child child = Child.start(url, slug, "self", PG_LEASE, dir.resolve("child.log"));
      try {
        child.awaitLine("ANSWERED re m0");
        child.awaitLine("STREAMING");
        assertThat(answered).as("the child answers while it lives").isEmpty();
        assertThat(runtime.runningRunId("c1")).as("this node runs nothing for it").isNull();
      } finally {
        child.kill();
      }
      await("m1 answered here", () -> answered.contains("m1"));
      assertRecovered(chat, PG_LEASE, List.of("user:m0", "assistant:re m0", "user:m1"));
      await("m1's turn-complete", () -> acknowledged(chat).size() == 2);
      assertThat(acknowledged(chat)).containsExactly(1L, 2L);
      assertThat(answered).containsExactly("m1");
    }
  }

  @Test
  @DisplayName(
      "on PostgreSQL, a message whose turn always crashes the process is tried by exactly"
          + " maxAttempts (2) processes, each restarted with no new message, then answered by the"
          + " third with an error naming the cause and its turn-complete; the next message is"
          + " answered normally (S12)")
  void aMessageThatAlwaysCrashes() throws Exception {
    String url = Backend.postgresUrl();
    String slug = "boom-" + UUID.randomUUID();
    Child first = Child.start(url, slug, "boom", PG_LEASE, dir.resolve("child1.log"));
    first.awaitLine("ANSWERED re m0");
    first.awaitLine("BOOM");
    first.awaitExit();
    Child second = Child.start(url, slug, "recover", PG_LEASE, dir.resolve("child2.log"));
    second.awaitLine("BOOM");
    second.awaitExit();
    Child third = Child.start(url, slug, "recover", PG_LEASE, dir.resolve("child3.log"));
    try (Opened node = Opened.open(url, slug)) {
      DurableChat chat = node.chat;
      long boom = chat.lastEventId("c1", dev.durablechat.api.StreamKind.IN);
      // A JVM's start, the dead run's lease and a sweep's period: longer than a test's usual wait.
      third.awaitLine("UP");
      org.awaitility.Awaitility.await("boom's turn-complete")
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(50))
          .until(() -> acknowledged(chat).contains(boom));
      assertThat(RecoveryTest.errorTexts(chat))
          .singleElement()
          .satisfies(
              e ->
                  assertThat(e)
                      .contains("in record [" + boom + "]")
                      .contains("[2] attempts")
                      .contains("maxAttempts [2]")
                      .contains("superseded"));
      assertThat(chat.runs("c1"))
          .extracting(SessionRun::reason)
          .containsExactly(RunReason.INITIAL, RunReason.CONTINUATION, RunReason.CONTINUATION);

      // The third child's run follows in: it answers the next message as usual.
      long m2 = chat.appendIn("c1", AgentStoresTest.message("u2", "m2"), null).eventId();
      await("m2's turn-complete", () -> acknowledged(chat).contains(m2));
      assertThat(acknowledged(chat)).containsExactly(1L, boom, m2);
      assertThat(
              chat.readOut("c1", 0, 10_000).stream()
                  .filter(
                      r ->
                          r.event() instanceof OutEvent.Chunk c
                              && c.chunk().type().equals("text-delta"))
                  .map(r -> ((OutEvent.Chunk) r.event()).chunk().json().string("delta").orElse(""))
                  .toList())
          .contains("re m2");
      assertThat(third.printed())
          .as("the third process never ran boom's turn")
          .doesNotContain("BOOM");
    } finally {
      third.kill();
    }
  }

  private void assertRecovered(DurableChat chat, Duration lease, List<String> before) {
    List<SessionRun> runs = chat.runs("c1");
    assertThat(runs)
        .extracting(SessionRun::reason)
        .containsExactly(RunReason.INITIAL, RunReason.CONTINUATION);
    assertThat(runs.get(0).endReason()).isEqualTo("superseded");
    assertThat(runs.get(1).startedAt())
        .as("taken over only once the killed run's lease expired")
        .isAfterOrEqualTo(runs.get(0).lastAliveAt().plus(lease));
    List<String> atRecovery = seen.get(0);
    assertThat(atRecovery).hasSize(before.size() + 1);
    assertThat(atRecovery.subList(0, before.size())).isEqualTo(before);
    assertThat(atRecovery.get(before.size())).startsWith("assistant:part0 part1 part2 part3");
    // H4: the partial is cleaned up: its text is done, not streaming.
    UIMessage partial = ChatHistory.of(chat).rebuild("c1").messages().get(before.size());
    assertThat(partial.role()).isEqualTo("assistant");
    assertThat(partial.parts())
        .allSatisfy(p -> assertThat(p.toString()).doesNotContain("\"streaming\""));
  }

  private static String sendThrough(AgentRuntime runtime, String text) {
    return AgentChat.builder(runtime, "echo").chatId("c1").build().sendMessage(text).text(WAIT);
  }

  private static long chunks(DurableChat chat) {
    return chat.readOut("c1", 0, 10_000).stream()
        .filter(r -> r.event() instanceof OutEvent.Chunk)
        .count();
  }

  private static List<Long> acknowledged(DurableChat chat) {
    List<Long> ids = new ArrayList<>();
    for (StreamRecord<OutEvent> r : chat.readOut("c1", 0, 100_000)) {
      if (r.event() instanceof OutEvent.TurnComplete tc) {
        ids.add(tc.lastDispatchedInEventId());
      }
    }
    return ids;
  }

  /** The child JVM, on the test's class path, and the lines it prints. */
  private record Child(Process process, BlockingQueue<String> lines, Path log) {
    static Child start(String url, String slug, String mode, Duration lease, Path log)
        throws IOException {
      Process p =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-Xmx128m",
                  "-cp",
                  System.getProperty("java.class.path"),
                  CrashChild.class.getName(),
                  url,
                  slug,
                  mode,
                  String.valueOf(lease.toMillis()))
              .redirectError(log.toFile())
              .start();
      var lines = new LinkedBlockingQueue<String>();
      Thread reader =
          new Thread(
              () -> {
                try (var in =
                    new BufferedReader(
                        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                  for (String line; (line = in.readLine()) != null; ) {
                    lines.add(line);
                  }
                } catch (IOException e) {
                  // the child died
                }
              },
              "crash-child-stdout");
      reader.setDaemon(true);
      reader.start();
      return new Child(p, lines, log);
    }

    void awaitLine(String expected) throws Exception {
      var got = new ArrayList<String>();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (System.nanoTime() < deadline) {
        String line = lines.poll(100, TimeUnit.MILLISECONDS);
        if (line != null) {
          got.add(line);
          if (line.equals(expected)) {
            return;
          }
        } else if (!process.isAlive()) {
          break;
        }
      }
      throw new AssertionError(
          "child never printed ["
              + expected
              + "]; stdout "
              + got
              + ", stderr:\n"
              + Files.readString(log));
    }

    /** Waits for the process to end by itself (it halted). */
    void awaitExit() throws InterruptedException {
      assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("the child halted").isTrue();
    }

    /** The lines printed so far and not yet awaited. */
    List<String> printed() {
      return new ArrayList<>(lines);
    }

    void kill() throws InterruptedException {
      process.destroyForcibly();
      assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("the child is dead").isTrue();
    }
  }

  /** An engine on the JDBC stores at the URL. */
  private record Opened(SessionStore sessions, SnapshotStore snapshots, DurableChat chat)
      implements AutoCloseable {
    static Opened open(String url, String slug) {
      SessionStore sessions = JdbcStores.openSessionStore(new StoreConfig(url, Map.of()));
      SnapshotStore snapshots = JdbcStores.openSnapshotStore(new StoreConfig(url, Map.of()));
      DurableChat chat =
          DurableChat.builder()
              .environment(CrashChild.env(slug))
              .sessionStore(sessions)
              .snapshotStore(snapshots)
              .build();
      return new Opened(sessions, snapshots, chat);
    }

    @Override
    public void close() {
      chat.close();
      snapshots.close();
      sessions.close();
    }
  }
}
