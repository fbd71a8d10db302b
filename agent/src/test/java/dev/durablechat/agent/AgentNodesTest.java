package dev.durablechat.agent;

import static dev.durablechat.agent.AgentFixture.WAIT;
import static dev.durablechat.agent.AgentFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.StreamRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Two nodes (two engines, each with its own stores and connection pools, and a runtime each) on one
 * PostgreSQL database serve one chat together.
 */
@DisplayName("two nodes on PostgreSQL")
class AgentNodesTest {
  private static final Duration IDLE = Duration.ofMillis(250);
  // Long enough that a healthy owner never loses its lease on a busy test machine.
  private static final Duration LEASE = Duration.ofSeconds(5);

  /** What both nodes' agents record: who runs a turn, and whether two ever ran at once. */
  private static final class Witness {
    final AtomicInteger active = new AtomicInteger();
    final List<String> overlaps = new CopyOnWriteArrayList<>();
    final List<String> answered = new CopyOnWriteArrayList<>();
    final Map<String, String> nodeOfRun = new ConcurrentHashMap<>();
    final List<String> turnNodes = new CopyOnWriteArrayList<>();

    ChatAgent<?> agent(String node) {
      return ChatAgent.builder("echo")
          .idleTimeout(IDLE)
          .run(
              (turn, out) -> {
                String who = node + "/" + turn.runId();
                int now = active.incrementAndGet();
                try {
                  if (now > 1) {
                    overlaps.add(who + " entered while " + (now - 1) + " other turn(s) ran");
                  }
                  nodeOfRun.put(turn.runId(), node);
                  turnNodes.add(node);
                  answered.add(turn.message().text());
                  out.text("re ");
                  out.pause(Duration.ofMillis(5));
                  out.text(turn.message().text());
                } finally {
                  active.decrementAndGet();
                }
              })
          .build();
    }
  }

  @Test
  @DisplayName(
      "never run the same session at once: messages sent alternately through both are each"
          + " answered exactly once, in order, by whichever node holds the run, and continuations"
          + " move between the nodes (S7, S8, L5)")
  void neverRunTheSameSessionAtOnce() {
    var witness = new Witness();
    Backend.Database db = Backend.POSTGRES.database();
    try (Backend.Node nodeA = db.node();
        Backend.Node nodeB = db.node();
        AgentRuntime a =
            AgentRuntime.builder(nodeA.chat())
                .leaseDuration(LEASE)
                .register(witness.agent("A"))
                .build();
        AgentRuntime b =
            AgentRuntime.builder(nodeB.chat())
                .leaseDuration(LEASE)
                .register(witness.agent("B"))
                .build()) {
      AgentChat viaA = AgentChat.builder(a, "echo").chatId("c1").build();
      AgentChat viaB = AgentChat.builder(b, "echo").chatId("c1").build();
      var sent = new ArrayList<String>();
      int rounds = 10;
      for (int round = 0; round < rounds; round++) {
        // Each round two messages, one through each node, without waiting in between: the second
        // lands while the first node's run is alive, so the second node only appends it.
        AgentChat first = round % 2 == 0 ? viaA : viaB;
        AgentChat second = round % 2 == 0 ? viaB : viaA;
        String m1 = "r" + round + "-1";
        String m2 = "r" + round + "-2";
        Reply r1 = first.sendMessage(m1);
        Reply r2 = second.sendMessage(m2);
        sent.add(m1);
        sent.add(m2);
        assertThat(r1.text(WAIT)).endsWith("re " + m1);
        assertThat(r2.text(WAIT)).endsWith("re " + m2);
        if (round % 3 == 2) {
          // Let the run idle out, so the next round's first node boots the continuation.
          await(
              "the idle end of round " + round,
              () -> nodeA.chat().runs("c1").stream().noneMatch(SessionRun::isRunning));
        }
      }

      assertThat(witness.overlaps).as("turns of two runs at once").isEmpty();
      assertThat(witness.answered).as("every message once, in order").isEqualTo(sent);
      List<SessionRun> runs = nodeA.chat().runs("c1");
      assertThat(runs.get(0).reason()).isEqualTo(RunReason.INITIAL);
      assertThat(runs.subList(1, runs.size()))
          .extracting(SessionRun::reason)
          .containsOnly(RunReason.CONTINUATION);
      assertThat(runs).as("a run between each pair of idle ends at least").hasSizeGreaterThan(3);
      assertThat(runs.stream().filter(SessionRun::isRunning).count()).isLessThanOrEqualTo(1);
      assertThat(runs.stream().map(SessionRun::endReason).filter(r -> r != null).distinct())
          .as("no run was taken over: every end is an idle end")
          .containsOnly("idle");
      assertThat(witness.turnNodes).as("both nodes executed turns").contains("A", "B");
      for (SessionRun run : runs) {
        assertThat(witness.nodeOfRun)
            .as("run [%s] ran turns", run.runId())
            .containsKey(run.runId());
      }

      List<Long> acknowledged =
          nodeB.chat().readOut("c1", 0, 100_000).stream()
              .map(StreamRecord::event)
              .filter(e -> e instanceof OutEvent.TurnComplete)
              .map(e -> ((OutEvent.TurnComplete) e).lastDispatchedInEventId())
              .collect(Collectors.toList());
      assertThat(acknowledged)
          .as("one turn-complete per message, in in's order")
          .isEqualTo(java.util.stream.LongStream.rangeClosed(1, sent.size()).boxed().toList());
    }
  }

  @Test
  @DisplayName(
      "racing to take over a dead run, exactly one node wins (S8 compare-and-set): one"
          + " continuation run, and the unanswered message is answered once")
  void oneNodeTakesOverADeadRun() throws Exception {
    Duration lease = Duration.ofMillis(500);
    var answered = new CopyOnWriteArrayList<String>();
    Backend.Database db = Backend.POSTGRES.database();
    try (Backend.Node nodeA = db.node();
        Backend.Node nodeB = db.node();
        AgentRuntime a =
            AgentRuntime.builder(nodeA.chat())
                .leaseDuration(lease)
                .register(recorder("A", answered))
                .build();
        AgentRuntime b =
            AgentRuntime.builder(nodeB.chat())
                .leaseDuration(lease)
                .register(recorder("B", answered))
                .build()) {
      // A process that dispatched m1 and died: its run was never renewed.
      var chat = nodeA.chat();
      chat.createSession(
          dev.durablechat.core.CreateSessionRequest.builder("echo").externalId("c1").build());
      SessionRun dead = chat.ensureRun("c1", RunReason.INITIAL).run();
      long m1 = chat.appendIn("c1", AgentStoresTest.message("u1", "m1"), null).eventId();
      await(
          "the dead run's lease to expire",
          () -> chat.clock().instant().isAfter(dead.lastAliveAt().plus(lease)));

      var start = new java.util.concurrent.CountDownLatch(1);
      var pool = java.util.concurrent.Executors.newFixedThreadPool(2);
      try {
        var fromA =
            pool.submit(
                () -> {
                  start.await();
                  return a.resume("c1");
                });
        var fromB =
            pool.submit(
                () -> {
                  start.await();
                  return b.resume("c1");
                });
        start.countDown();
        String runA = fromA.get(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
        String runB = fromB.get(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
        assertThat(runA).as("both name the one winner").isEqualTo(runB);
      } finally {
        pool.shutdownNow();
      }
      await("m1 answered", () -> !answered.isEmpty());
      List<SessionRun> runs = chat.runs("c1");
      assertThat(runs)
          .extracting(SessionRun::reason)
          .containsExactly(RunReason.INITIAL, RunReason.CONTINUATION);
      assertThat(runs.get(0).endReason()).isEqualTo("superseded");
      await(
          "m1's turn-complete",
          () ->
              chat.readOut("c1", 0, 1_000).stream()
                  .anyMatch(r -> r.event().equals(new OutEvent.TurnComplete(m1))));
      assertThat(answered).hasSize(1).allSatisfy(x -> assertThat(x).endsWith(":m1"));
      assertThat(a.runningRunId("c1") == null ^ b.runningRunId("c1") == null)
          .as("exactly one node runs the continuation")
          .isTrue();
    }
  }

  @Test
  @DisplayName(
      "two nodes whose recovery sweeps race for a dead run, with nobody sending or resuming:"
          + " exactly one continuation, and the unanswered message is answered once (S8, S12)")
  void sweepsRaceForADeadRun() throws Exception {
    Duration lease = Duration.ofMillis(500);
    var answered = new CopyOnWriteArrayList<String>();
    Backend.Database db = Backend.POSTGRES.database();
    try (Backend.Node nodeA = db.node();
        Backend.Node nodeB = db.node()) {
      // A process that dispatched m1 and died: its run was never renewed.
      var chat = nodeA.chat();
      chat.createSession(
          dev.durablechat.core.CreateSessionRequest.builder("echo").externalId("c1").build());
      SessionRun dead = chat.ensureRun("c1", RunReason.INITIAL).run();
      long m1 = chat.appendIn("c1", AgentStoresTest.message("u1", "m1"), null).eventId();
      await(
          "the dead run's lease to expire",
          () -> chat.clock().instant().isAfter(dead.lastAliveAt().plus(lease)));

      // Both runtimes start at once: their first sweeps race for the session.
      var pool = java.util.concurrent.Executors.newFixedThreadPool(2);
      AgentRuntime a;
      AgentRuntime b;
      try {
        var start = new java.util.concurrent.CountDownLatch(1);
        var builtA =
            pool.submit(
                () -> {
                  start.await();
                  return AgentRuntime.builder(nodeA.chat())
                      .leaseDuration(lease)
                      .register(recorder("A", answered))
                      .build();
                });
        var builtB =
            pool.submit(
                () -> {
                  start.await();
                  return AgentRuntime.builder(nodeB.chat())
                      .leaseDuration(lease)
                      .register(recorder("B", answered))
                      .build();
                });
        start.countDown();
        a = builtA.get(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
        b = builtB.get(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
      } finally {
        pool.shutdownNow();
      }
      try (a;
          b) {
        await(
            "m1's turn-complete",
            () ->
                chat.readOut("c1", 0, 1_000).stream()
                    .anyMatch(r -> r.event().equals(new OutEvent.TurnComplete(m1))));
        // A marker after it: m2 through node B is answered by whichever node runs the session.
        var reply = AgentChat.builder(b, "echo").chatId("c1").build().sendMessage("m2");
        assertThat(reply.text(WAIT)).endsWith("re m2");
        List<SessionRun> runs = chat.runs("c1");
        assertThat(runs)
            .extracting(SessionRun::reason)
            .containsExactly(RunReason.INITIAL, RunReason.CONTINUATION);
        assertThat(runs.get(0).endReason()).isEqualTo("superseded");
        assertThat(answered).hasSize(2);
        assertThat(answered.get(0)).endsWith(":m1");
        assertThat(answered.get(1)).endsWith(":m2");
        assertThat(a.runningRunId("c1") == null ^ b.runningRunId("c1") == null)
            .as("exactly one node runs the continuation")
            .isTrue();
      }
    }
  }

  private static ChatAgent<?> recorder(String node, List<String> answered) {
    return ChatAgent.builder("echo")
        .idleTimeout(Duration.ofSeconds(10))
        .run(
            (turn, out) -> {
              answered.add(node + ":" + turn.message().text());
              out.text("re " + turn.message().text());
            })
        .build();
  }
}
