package dev.durablechat.agent;

import dev.durablechat.api.Environment;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoreConfig;
import dev.durablechat.core.DurableChat;
import dev.durablechat.storage.jdbc.JdbcStores;
import java.time.Duration;
import java.util.Map;

/**
 * The process {@link ProcessKillTest} kills: a runtime on an H2 file database that answers {@code
 * m0}, then streams its reply to {@code m1} without end, printing {@code STREAMING} once part of it
 * is on {@code out}. Arguments: the JDBC URL, the environment's slug.
 */
final class CrashChild {
  static final Environment env(String slug) {
    return new Environment("proj", slug);
  }

  /** The same agent id and shape as the recovering side's, but {@code m1} never ends. */
  static ChatAgent<?> agent() {
    return ChatAgent.builder("echo")
        .idleTimeout(Duration.ofMinutes(5))
        .run(
            (turn, out) -> {
              String text = turn.message().text();
              if (!text.equals("m1")) {
                out.text("re " + text);
                return;
              }
              String id = out.textStart();
              for (int i = 0; ; i++) {
                out.textDelta(id, "part" + i + " ");
                out.flush();
                if (i == 3) {
                  System.out.println("STREAMING");
                  System.out.flush();
                }
                out.pause(Duration.ofMillis(20));
              }
            })
        .build();
  }

  public static void main(String[] args) throws Exception {
    String url = args[0];
    SessionStore sessions = JdbcStores.openSessionStore(new StoreConfig(url, Map.of()));
    SnapshotStore snapshots = JdbcStores.openSnapshotStore(new StoreConfig(url, Map.of()));
    DurableChat chat =
        DurableChat.builder()
            .environment(env(args[1]))
            .sessionStore(sessions)
            .snapshotStore(snapshots)
            .build();
    AgentRuntime runtime =
        AgentRuntime.builder(chat).leaseDuration(ProcessKillTest.LEASE).register(agent()).build();
    AgentChat client = AgentChat.builder(runtime, "echo").chatId("c1").build();
    String first = client.sendMessage("m0").text(Duration.ofSeconds(30));
    System.out.println("ANSWERED " + first);
    System.out.flush();
    if (args[2].equals("self")) {
      client.sendMessage("m1");
    }
    // Serves the session (and streams m1's reply) until the test kills this process.
    Thread.currentThread().join();
  }
}
