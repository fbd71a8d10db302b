package dev.durablechat.agent.model;

import dev.durablechat.agent.AgentChat;
import dev.durablechat.agent.AgentRuntime;
import dev.durablechat.agent.ChatAgent;
import dev.durablechat.api.Environment;
import dev.durablechat.core.DurableChat;
import dev.durablechat.storage.memory.MemorySessionStore;
import dev.durablechat.storage.memory.MemorySnapshotStore;
import java.time.Duration;

/**
 * An engine on a memory store and a runtime whose agent ({@code model}) answers with a {@link
 * ModelLoop}. {@link #restart()} replaces the runtime (the store stays), so the next message is
 * served by a continuation that rebuilds its history from snapshot and replay.
 */
public final class ModelFixture implements AutoCloseable {
  /** The longest wait for any one record. */
  // A guard against a hang, not a deadline: waits end at the record they wait for; at load 20 a
  // busy CI machine took over 20 s between two records of a healthy turn.
  public static final Duration WAIT = Duration.ofSeconds(60);

  final MemorySessionStore store = new MemorySessionStore();
  final MemorySnapshotStore snapshots = new MemorySnapshotStore();
  final DurableChat chat =
      DurableChat.builder()
          .environment(new Environment("proj", "test"))
          .sessionStore(store)
          .snapshotStore(snapshots)
          .build();
  private final ModelLoop loop;
  private AgentRuntime runtime;

  /** A runtime whose agent answers with the loop. */
  public ModelFixture(ModelLoop loop) {
    this.loop = loop;
    this.runtime = runtime();
  }

  private AgentRuntime runtime() {
    ChatAgent<?> agent =
        ChatAgent.builder("model").idleTimeout(Duration.ofSeconds(30)).run(loop::respond).build();
    return AgentRuntime.builder(chat).register(agent).build();
  }

  /** A client for the chat. */
  public AgentChat client(String chatId) {
    return AgentChat.builder(runtime, "model").chatId(chatId).build();
  }

  /** Closes the runtime (its runs end) and starts a new one on the same store. */
  public void restart() {
    runtime.close();
    runtime = runtime();
  }

  /** The engine. */
  public DurableChat chat() {
    return chat;
  }

  @Override
  public void close() {
    runtime.close();
    chat.close();
    store.close();
  }
}
