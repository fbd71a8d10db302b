package example;

import dev.durablechat.agent.AgentChat;
import dev.durablechat.agent.AgentRuntime;
import dev.durablechat.agent.ChatAgent;
import dev.durablechat.api.Environment;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoreLoader;
import dev.durablechat.core.DurableChat;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Two engine "nodes" serve one chat: sessions and streams in PostgreSQL, history snapshots in a
 * folder. Node A answers the first messages (one of them sent through node B, which only appends
 * it), then goes away; node B answers the next message with the history rebuilt from A's snapshot.
 *
 * <p>PostgreSQL: {@code PG_JDBC_URL} (e.g. {@code jdbc:postgresql://127.0.0.1:5432/chat?user=me}),
 * else a throwaway embedded one.
 */
public final class TwoNodes {
  private static final Duration WAIT = Duration.ofSeconds(30);

  public static void main(String[] args) throws Exception {
    String url = System.getenv("PG_JDBC_URL");
    EmbeddedPostgres embedded = null;
    if (url == null || url.isBlank()) {
      embedded = EmbeddedPostgres.builder().start();
      url = embedded.getJdbcUrl("postgres", "postgres");
    }
    Path snapshots = Files.createTempDirectory("durablechat-snapshots");
    String chatId = "chat-" + UUID.randomUUID();
    try {
      // A node is one process's engine: its own stores (connection pools) on the shared database.
      try (Node a = new Node("A", url, snapshots);
          Node b = new Node("B", url, snapshots)) {
        AgentChat viaA = AgentChat.builder(a.runtime, "assistant").chatId(chatId).build();
        AgentChat viaB = AgentChat.builder(b.runtime, "assistant").chatId(chatId).build();

        say("user -> A", "hello, I am Ada");
        say("A", viaA.sendMessage("hello, I am Ada").text(WAIT));
        // A holds the chat's run, so B only appends this message; A's run picks it up from
        // PostgreSQL (LISTEN/NOTIFY) and B streams the reply back from the shared out stream.
        say("user -> B", "what is 6 x 7?");
        say("A, read through B", viaB.sendMessage("what is 6 x 7?").text(WAIT));

        // Node A goes away: its run ends and its history is in the snapshot folder.
        a.close();
        try (Stream<Path> files = Files.walk(snapshots)) {
          say("snapshot folder", files.filter(Files::isRegularFile).count() + " file(s)");
        }

        // B boots a continuation run: history = A's snapshot + a replay of the out stream's tail.
        say("user -> B", "do you remember my name?");
        say("B", viaB.sendMessage("do you remember my name?").text(WAIT));

        say(
            "runs",
            b.chat.runs(chatId).stream()
                .map(r -> r.reason() + (r.endReason() == null ? "" : " (" + r.endReason() + ")"))
                .collect(Collectors.joining(", ")));
        boolean continued =
            b.chat.runs(chatId).stream().map(SessionRun::reason).distinct().count() == 2;
        if (!continued) {
          throw new IllegalStateException("expected an initial run and a continuation");
        }
      }
    } finally {
      if (embedded != null) {
        embedded.close();
      }
      try (Stream<Path> files = Files.walk(snapshots)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  /** The agent: a stand-in for a model that answers from the whole conversation. */
  static ChatAgent<?> assistant(String node) {
    return ChatAgent.builder("assistant")
        .idleTimeout(Duration.ofSeconds(10))
        .run(
            (turn, out) -> {
              String text = turn.message().text();
              String name =
                  turn.messages().stream()
                      .filter(m -> m.role().equals("user"))
                      .map(UIMessage::text)
                      .filter(t -> t.contains("I am "))
                      .map(t -> t.substring(t.indexOf("I am ") + 5))
                      .findFirst()
                      .orElse(null);
              String answer;
              if (text.contains("6 x 7")) {
                answer = "42";
              } else if (text.contains("remember")) {
                answer = name == null ? "no, sorry" : "yes, you are " + name;
              } else {
                answer = "hello" + (name == null ? "" : ", " + name);
              }
              out.text(
                  answer
                      + " [node "
                      + node
                      + ", "
                      + turn.runReason()
                      + " run, history of "
                      + turn.messages().size()
                      + "]");
            })
        .build();
  }

  /** One node: an engine on its own stores, and an agent runtime. */
  static final class Node implements AutoCloseable {
    final SessionStore sessions;
    final SnapshotStore snapshotStore;
    final DurableChat chat;
    final AgentRuntime runtime;
    private boolean closed;

    Node(String name, String jdbcUrl, Path snapshots) {
      sessions = StoreLoader.openSessionStore(jdbcUrl);
      snapshotStore = StoreLoader.openSnapshotStore("file:" + snapshots);
      chat =
          DurableChat.builder()
              .environment(new Environment("example", "dev"))
              .sessionStore(sessions)
              .snapshotStore(snapshotStore)
              .build();
      runtime = AgentRuntime.builder(chat).register(assistant(name)).build();
    }

    @Override
    public void close() {
      if (!closed) {
        closed = true;
        runtime.close();
        chat.close();
        sessions.close();
        snapshotStore.close();
      }
    }
  }

  private static void say(String who, String what) {
    System.out.printf("%-18s %s%n", who + ":", what);
  }
}
