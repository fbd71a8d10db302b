package dev.durablechat.agent;

import dev.durablechat.api.Environment;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.TriggerConfig;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoreConfig;
import dev.durablechat.core.DurableChat;
import dev.durablechat.storage.jdbc.JdbcStores;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The process {@link ProcessKillTest} kills: a runtime on a JDBC database that answers {@code m0},
 * then streams its reply to {@code m1} without end, printing {@code STREAMING} once part of it is
 * on {@code out}; a message {@code boom} makes it print {@code BOOM} and halt at once (a turn that
 * always crashes the process). Arguments: the JDBC URL, the environment's slug, the mode, the lease
 * in milliseconds. Modes: {@code self} sends {@code m1} itself after {@code m0}; {@code wait} only
 * answers {@code m0} and serves; {@code boom} starts the chat with {@code maxAttempts} 2, answers
 * {@code m0} and sends {@code boom}; {@code recover} starts no chat and sends nothing: its
 * runtime's recovery sweep finds what to do (S12).
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
              if (text.equals("boom")) {
                System.out.println("BOOM");
                System.out.flush();
                Runtime.getRuntime().halt(137);
              }
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
    String mode = args[2];
    Duration lease = Duration.ofMillis(Long.parseLong(args[3]));
    AgentRuntime runtime =
        AgentRuntime.builder(chat).leaseDuration(lease).register(agent()).build();
    System.out.println("UP");
    System.out.flush();
    if (!mode.equals("recover")) {
      var config =
          mode.equals("boom")
              ? new TriggerConfig(null, 2, List.of(), null, null, JsonObject.empty())
              : TriggerConfig.none();
      AgentChat client =
          AgentChat.builder(runtime, "echo").chatId("c1").triggerConfig(config).build();
      String first = client.sendMessage("m0").text(Duration.ofSeconds(30));
      System.out.println("ANSWERED " + first);
      System.out.flush();
      if (mode.equals("self")) {
        client.sendMessage("m1");
      } else if (mode.equals("boom")) {
        client.sendMessage("boom");
      }
    }
    // Serves the session (and streams m1's reply) until the test kills this process.
    Thread.currentThread().join();
  }
}
