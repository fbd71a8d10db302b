package dev.durablechat.agent;

import dev.durablechat.api.Environment;
import dev.durablechat.api.SessionRun;
import dev.durablechat.core.DurableChat;
import dev.durablechat.storage.memory.MemorySessionStore;
import dev.durablechat.storage.memory.MemorySnapshotStore;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.awaitility.Awaitility;

/** An engine on a fresh memory store and a runtime with the given agents. */
final class AgentFixture implements AutoCloseable {
  // A guard against a hang, not a deadline: waits end at the record they wait for; at load 20 a
  // busy CI machine took over 20 s between two records of a healthy turn.
  static final Duration WAIT = Duration.ofSeconds(60);

  final MemorySessionStore store = new MemorySessionStore();
  final MemorySnapshotStore snapshots = new MemorySnapshotStore();
  final DurableChat chat =
      DurableChat.builder()
          .environment(new Environment("proj", "test"))
          .sessionStore(store)
          .snapshotStore(snapshots)
          .build();
  final AgentRuntime runtime;

  AgentFixture(ChatAgent<?>... agents) {
    this(b -> {}, agents);
  }

  AgentFixture(
      java.util.function.Consumer<AgentRuntime.Builder> configure, ChatAgent<?>... agents) {
    var b = AgentRuntime.builder(chat);
    configure.accept(b);
    for (ChatAgent<?> agent : agents) {
      b.register(agent);
    }
    runtime = b.build();
  }

  AgentChat client(String agentId, String chatId) {
    return AgentChat.builder(runtime, agentId).chatId(chatId).build();
  }

  List<SessionRun> runs(String chatId) {
    return chat.runs(chatId);
  }

  /** Polls until the condition holds, failing after {@link #WAIT}. */
  static void await(String what, BooleanSupplier condition) {
    Awaitility.await(what)
        .atMost(WAIT)
        .pollDelay(Duration.ZERO)
        .pollInterval(Duration.ofMillis(5))
        .until(condition::getAsBoolean);
  }

  @Override
  public void close() {
    runtime.close();
    chat.close();
    store.close();
  }
}
