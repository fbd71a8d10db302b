package dev.durablechat.agent;

import static dev.durablechat.agent.AgentFixture.WAIT;
import static dev.durablechat.agent.AgentFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.Environment;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.SessionRun;
import dev.durablechat.core.DurableChat;
import dev.durablechat.storage.memory.MemorySessionStore;
import dev.durablechat.storage.memory.MemorySnapshotStore;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The idle end of a run (L3) racing another node's append, forced into its worst interleaving: the
 * other node appends while the run is suspending, sees the run still running and leaves the message
 * to it (S7), and the ending run's own tail has already taken the record into the queue it will
 * never read again.
 */
@DisplayName("an idle end racing another node's append")
class IdleEndRaceTest {
  // Far beyond the test: the appending node's lease watch cannot be what answers the message.
  private static final Duration LEASE = Duration.ofMinutes(10);

  @Test
  @DisplayName(
      "a message another node appends while the run suspends is answered at once: the ending run"
          + " boots a continuation for it, although its tail had already received it (L3, S7)")
  void aMessageAppendedWhileTheRunSuspendsIsAnswered() {
    var late = new AtomicReference<Reply>();
    var nodeB = new AtomicReference<AgentRuntime>();
    // Tails are delivered on the appending thread: the record reaches the ending run's queue (and
    // its count of received records) before the append returns to the other node.
    try (var store = new MemorySessionStore();
        var chat =
            DurableChat.builder()
                .environment(new Environment("proj", "test"))
                .sessionStore(store)
                .snapshotStore(new MemorySnapshotStore())
                .executor(Runnable::run)
                .build();
        var a =
            AgentRuntime.builder(chat)
                .leaseDuration(LEASE)
                .register(
                    echo()
                        // Runs under the ending run's session lock, after it found nothing to do
                        // and before it ends: the other node sends exactly then.
                        .onChatSuspend(
                            boot -> {
                              if (late.get() == null) {
                                late.set(
                                    AgentChat.builder(nodeB.get(), "echo")
                                        .chatId("c1")
                                        .build()
                                        .sendMessage("m2"));
                              }
                            })
                        .build())
                .build();
        var b = AgentRuntime.builder(chat).leaseDuration(LEASE).register(echo().build()).build()) {
      nodeB.set(b);
      AgentChat viaA = AgentChat.builder(a, "echo").chatId("c1").build();

      assertThat(viaA.sendMessage("m1").text(WAIT)).isEqualTo("re m1");
      await("the other node's send during the idle end", () -> late.get() != null);

      assertThat(late.get().text(WAIT)).as("m2, sent during the idle end").isEqualTo("re m2");
      var runs = chat.runs("c1");
      assertThat(runs)
          .extracting(SessionRun::reason)
          .startsWith(RunReason.INITIAL, RunReason.CONTINUATION);
      assertThat(runs.get(0).endReason()).isEqualTo("idle");
      assertThat(runs.get(1).previousRunId()).isEqualTo(runs.get(0).runId());
    }
  }

  private static ChatAgent.Builder<dev.durablechat.api.JsonValue> echo() {
    return ChatAgent.builder("echo")
        .idleTimeout(Duration.ofMillis(50))
        .run((turn, out) -> out.text("re " + turn.message().text()));
  }
}
