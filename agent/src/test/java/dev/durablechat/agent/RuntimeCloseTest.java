package dev.durablechat.agent;

import static dev.durablechat.agent.AgentFixture.WAIT;
import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.Environment;
import dev.durablechat.core.DurableChat;
import dev.durablechat.storage.memory.MemorySessionStore;
import dev.durablechat.storage.memory.MemorySnapshotStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("closing the agent runtime")
class RuntimeCloseTest {

  /**
   * The engine's clock, read by every lease renewal: once armed, it holds the next renewal in the
   * middle (on the lease thread) until released, and records whether that thread was interrupted.
   */
  private static final class RenewalTrap extends Clock {
    final AtomicBoolean armed = new AtomicBoolean();
    final CountDownLatch inRenewal = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    final AtomicBoolean interrupted = new AtomicBoolean();

    @Override
    public Instant instant() {
      if (Thread.currentThread().getName().equals("durablechat-agent-lease")
          && armed.compareAndSet(true, false)) {
        inRenewal.countDown();
        try {
          if (!release.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new IllegalStateException("the test never released the renewal");
          }
        } catch (InterruptedException e) {
          interrupted.set(true);
          Thread.currentThread().interrupt();
        }
      }
      return Instant.now();
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
      "lets a lease renewal under way finish instead of interrupting it: an interrupt in the"
          + " middle of a JDBC call makes an H2 file database close itself for the whole JVM")
  void doesNotInterruptARenewal() throws Exception {
    var clock = new RenewalTrap();
    try (var store = new MemorySessionStore();
        var chat =
            DurableChat.builder()
                .environment(new Environment("proj", "test"))
                .sessionStore(store)
                .snapshotStore(new MemorySnapshotStore())
                .clock(clock)
                .build()) {
      var runtime =
          AgentRuntime.builder(chat)
              // Renewed every 100 ms: the trap catches the next renewal soon.
              .leaseDuration(Duration.ofMillis(300))
              .register(
                  ChatAgent.builder("echo")
                      .idleTimeout(Duration.ofMinutes(5))
                      .run((turn, out) -> out.text("re " + turn.message().text()))
                      .build())
              .build();
      try {
        AgentChat client = AgentChat.builder(runtime, "echo").chatId("c1").build();
        assertThat(client.sendMessage("hi").text(WAIT)).isEqualTo("re hi");
        clock.armed.set(true);
        assertThat(clock.inRenewal.await(WAIT.toMillis(), TimeUnit.MILLISECONDS))
            .as("a renewal under way")
            .isTrue();

        runtime.close();
      } finally {
        clock.release.countDown();
      }
      assertThat(clock.interrupted).as("the renewal was interrupted by close").isFalse();
      assertThat(chat.runs("c1").get(0).endReason()).isEqualTo("shutdown");
    }
  }
}
