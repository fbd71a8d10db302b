package dev.durablechat.agent;

import static dev.durablechat.agent.AgentFixture.WAIT;
import static dev.durablechat.agent.AgentFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.InvalidInputException;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.TriggerConfig;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

@DisplayName("a session's run follows the session: its idle timeout (S9) and its close")
class SessionRunLifecycleTest {
  // So long that within a test only a session's own idle timeout or a close can end a run.
  private static final Duration AGENT_IDLE = Duration.ofMinutes(10);

  private static ChatAgent<?> echo() {
    return ChatAgent.builder("echo")
        .idleTimeout(AGENT_IDLE)
        .run((turn, out) -> out.text("you said " + turn.message().text()))
        .build();
  }

  private static AgentRuntime runtime(Backend.Node node, ChatAgent<?> agent) {
    return AgentRuntime.builder(node.chat()).register(agent).build();
  }

  private static TriggerConfig idle(Duration idle) {
    return new TriggerConfig(null, null, List.of(), null, idle, JsonObject.empty());
  }

  private static SessionRun onlyRun(Backend.Node node, String chatId) {
    List<SessionRun> runs = node.chat().runs(chatId);
    assertThat(runs).hasSize(1);
    return runs.get(0);
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Backend.class)
  @DisplayName(
      "S9: the session's idleTimeoutInSeconds overrides the agent's idle timeout for its runs; a"
          + " session without one keeps the agent's")
  void sessionIdleTimeoutOverridesTheAgents(Backend backend) {
    try (Backend.Node node = backend.database().node();
        AgentRuntime runtime = runtime(node, echo())) {
      AgentChat keeps = AgentChat.builder(runtime, "echo").chatId("keeps").build();
      AgentChat quick =
          AgentChat.builder(runtime, "echo")
              .chatId("quick")
              .triggerConfig(idle(Duration.ofSeconds(1)))
              .build();
      assertThat(keeps.sendMessage("a").text(WAIT)).isEqualTo("you said a");
      assertThat(quick.sendMessage("b").text(WAIT)).isEqualTo("you said b");

      await("the quick session's idle end", () -> !onlyRun(node, "quick").isRunning());
      assertThat(onlyRun(node, "quick").endReason()).isEqualTo("idle");
      // The marker: the quick session ended; the other one, with the agent's 10 min, did not.
      assertThat(onlyRun(node, "keeps").isRunning()).isTrue();
      assertThat(runtime.runningRunId("keeps")).isEqualTo(onlyRun(node, "keeps").runId());
    }
  }

  @Test
  @DisplayName("S9: a session idle timeout that is not positive or longer than a day is refused")
  void absurdSessionIdleTimeoutIsRefused() {
    assertThatThrownBy(() -> idle(Duration.ofSeconds(-1)))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("idle timeout [PT-1S] must be positive");
    assertThatThrownBy(() -> idle(Duration.ofDays(400)))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("idle timeout [PT9600H] must be at most [PT24H]");
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Backend.class)
  @DisplayName(
      "closing an idle session (closeSession, what the close route calls) ends its run at once,"
          + " reason closed, not after the idle timeout")
  void closeWhileIdleEndsTheRun(Backend backend) {
    try (Backend.Node node = backend.database().node();
        AgentRuntime runtime = runtime(node, echo())) {
      AgentChat chat = AgentChat.builder(runtime, "echo").chatId("c1").build();
      assertThat(chat.sendMessage("hi").text(WAIT)).isEqualTo("you said hi");
      assertThat(onlyRun(node, "c1").isRunning()).isTrue();

      node.chat().closeSession("c1", "done");

      await("the run's end", () -> !onlyRun(node, "c1").isRunning());
      assertThat(onlyRun(node, "c1").endReason()).isEqualTo("closed");
      assertThat(runtime.runningRunId("c1")).isNull();
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(
      value = Backend.class,
      names = {"MEMORY", "POSTGRES"})
  @DisplayName(
      "a session closed through another node's engine has its run end closed at its next lease"
          + " renewal, not after the idle timeout")
  void closeThroughAnotherNodeEndsTheRun(Backend backend) {
    Backend.Database db = backend.database();
    try (Backend.Node owner = db.node();
        Backend.Node other = db.node();
        AgentRuntime runtime =
            AgentRuntime.builder(owner.chat())
                .leaseDuration(Duration.ofSeconds(3))
                .register(echo())
                .build()) {
      AgentChat chat = AgentChat.builder(runtime, "echo").chatId("c1").build();
      assertThat(chat.sendMessage("hi").text(WAIT)).isEqualTo("you said hi");

      other.chat().closeSession("c1", "done elsewhere");

      await("the run's end", () -> !onlyRun(owner, "c1").isRunning());
      assertThat(onlyRun(owner, "c1").endReason()).isEqualTo("closed");
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Backend.class)
  @DisplayName("the close trigger on in ends an idle session's run at once, reason closed")
  void closeTriggerWhileIdleEndsTheRun(Backend backend) {
    try (Backend.Node node = backend.database().node();
        AgentRuntime runtime = runtime(node, echo())) {
      AgentChat chat = AgentChat.builder(runtime, "echo").chatId("c1").build();
      assertThat(chat.sendMessage("hi").text(WAIT)).isEqualTo("you said hi");

      chat.close();

      await("the run's end", () -> !onlyRun(node, "c1").isRunning());
      assertThat(onlyRun(node, "c1").endReason()).isEqualTo("closed");
      assertThat(node.chat().session("c1").closedAt()).isNotNull();
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Backend.class)
  @DisplayName(
      "closing a session mid-turn cancels the turn in flight (its writes would be refused): what"
          + " it streamed stays, no turn-complete, and the run ends closed")
  void closeMidTurnCancelsTheTurn(Backend backend) {
    var entered = new CountDownLatch(1);
    var sawCancel = new AtomicBoolean();
    ChatAgent<?> agent =
        ChatAgent.builder("echo")
            .idleTimeout(AGENT_IDLE)
            .run(
                (turn, out) -> {
                  String id = out.textStart();
                  out.textDelta(id, "partial");
                  entered.countDown();
                  Awaitility.await("the close's cancel").atMost(WAIT).until(turn::isCancelled);
                  sawCancel.set(true);
                  out.textDelta(id, " never stored");
                })
            .build();
    try (Backend.Node node = backend.database().node();
        AgentRuntime runtime = runtime(node, agent)) {
      AgentChat chat = AgentChat.builder(runtime, "echo").chatId("c1").build();
      Reply reply = chat.sendMessage("hi");
      assertThat(awaitLatch(entered)).isTrue();

      node.chat().closeSession("c1", "done");

      await("the run's end", () -> !onlyRun(node, "c1").isRunning());
      assertThat(onlyRun(node, "c1").endReason()).isEqualTo("closed");
      assertThat(sawCancel).isTrue();
      List<StreamRecord<OutEvent>> out = node.chat().readOut("c1", 0, 100);
      assertThat(out)
          .extracting(StreamRecord::event)
          .doesNotHaveAnyElementsOfTypes(OutEvent.TurnComplete.class);
      assertThat(reply.inEventId()).isPositive();
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Backend.class)
  @DisplayName(
      "the close trigger sent mid-turn is a record on in: the turn in flight finishes with its"
          + " turn-complete, then the run ends closed")
  void closeTriggerMidTurnLetsTheTurnFinish(Backend backend) {
    var entered = new CountDownLatch(1);
    var release = new CountDownLatch(1);
    ChatAgent<?> agent =
        ChatAgent.builder("echo")
            .idleTimeout(AGENT_IDLE)
            .run(
                (turn, out) -> {
                  entered.countDown();
                  release.await(WAIT.toMillis(), TimeUnit.MILLISECONDS);
                  out.text("you said " + turn.message().text());
                })
            .build();
    try (Backend.Node node = backend.database().node();
        AgentRuntime runtime = runtime(node, agent)) {
      AgentChat chat = AgentChat.builder(runtime, "echo").chatId("c1").build();
      Reply reply = chat.sendMessage("hi");
      assertThat(awaitLatch(entered)).isTrue();
      chat.close();
      release.countDown();

      assertThat(reply.text(WAIT)).isEqualTo("you said hi");
      await("the run's end", () -> !onlyRun(node, "c1").isRunning());
      assertThat(onlyRun(node, "c1").endReason()).isEqualTo("closed");
    }
  }

  private static boolean awaitLatch(CountDownLatch latch) {
    try {
      return latch.await(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
