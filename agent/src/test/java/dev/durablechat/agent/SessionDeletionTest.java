package dev.durablechat.agent;

import static dev.durablechat.agent.AgentFixture.WAIT;
import static dev.durablechat.agent.AgentFixture.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.Session;
import dev.durablechat.api.SessionDeletedException;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.core.CreateSessionRequest;
import dev.durablechat.core.RetentionPolicy;
import dev.durablechat.core.RetentionSweep;
import dev.durablechat.core.TailItem;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

@DisplayName(
    "deleting and expiring sessions under a live runtime on memory, H2 and PostgreSQL (S11)")
class SessionDeletionTest {
  private static final Duration LEASE = Duration.ofSeconds(2);

  /** Streams a long reply slowly: a delete lands while it is being written. */
  private static ChatAgent<?> slow(CountDownLatch turnEnded) {
    return ChatAgent.builder("slow")
        .idleTimeout(Duration.ofSeconds(30))
        .run(
            (turn, out) -> {
              try {
                if (turn.message().text().startsWith("quick")) {
                  out.text("ok " + turn.message().text());
                  return;
                }
                ScriptedModel.builder()
                    .text("word ".repeat(400))
                    .chunkDelay(Duration.ofMillis(20))
                    .build()
                    .play(out);
              } finally {
                if (!turn.message().text().startsWith("quick")) {
                  turnEnded.countDown();
                }
              }
            })
        .build();
  }

  private static AgentRuntime runtime(Backend.Node node, ChatAgent<?> agent) {
    return AgentRuntime.builder(node.chat()).leaseDuration(LEASE).register(agent).build();
  }

  /** Follows out from 0 and keeps what it is given; requests everything. */
  private static final class Follower implements Flow.Subscriber<TailItem<OutEvent>> {
    final List<StreamRecord<OutEvent>> records = new CopyOnWriteArrayList<>();
    final AtomicReference<Throwable> error = new AtomicReference<>();
    final CountDownLatch ended = new CountDownLatch(1);

    @Override
    public void onSubscribe(Flow.Subscription s) {
      s.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(TailItem<OutEvent> item) {
      if (item instanceof TailItem.Event<OutEvent> e) {
        records.add(e.record());
      }
    }

    @Override
    public void onError(Throwable t) {
      error.set(t);
      ended.countDown();
    }

    @Override
    public void onComplete() {
      ended.countDown();
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Backend.class)
  @DisplayName(
      "a delete while a run streams a reply and a reader on another node follows it: the run"
          + " stops, the reader ends with SessionDeletedException, no snapshot is left, and the"
          + " chat id starts afresh")
  void deleteWhileLive(Backend backend) throws Exception {
    var turnEnded = new CountDownLatch(1);
    Backend.Database db = backend.database();
    try (Backend.Node node = db.node();
        Backend.Node other = db.node();
        AgentRuntime runtime = runtime(node, slow(turnEnded))) {
      AgentChat chat = AgentChat.builder(runtime, "slow").chatId("c-live").build();
      Reply reply = chat.sendMessage("tell me a long story");
      Session session = node.chat().session("c-live");
      var follower = new Follower();
      other.chat().subscribeOut("c-live", 0).subscribe(follower);
      await("the reply is streaming", () -> follower.records.size() > 5);

      node.chat().deleteSession("c-live");

      assertThat(turnEnded.await(WAIT.toSeconds(), TimeUnit.SECONDS))
          .as("the turn stopped well before its 400 words")
          .isTrue();
      assertThat(follower.ended.await(WAIT.toSeconds(), TimeUnit.SECONDS))
          .as("the reader on the other node ended")
          .isTrue();
      assertThat(follower.error.get())
          .isInstanceOf(SessionDeletedException.class)
          .hasMessageContaining(session.friendlyId());
      assertThat(follower.records.get(follower.records.size() - 1).event())
          .as("no turn-complete: the reply was cut by the delete")
          .isNotInstanceOf(OutEvent.TurnComplete.class);
      assertThat(reply.isComplete()).isFalse();
      await(
          "the run is gone from the runtime",
          () -> {
            try {
              runtime.runningRunId(session.friendlyId());
              return false;
            } catch (NoSuchSessionException e) {
              return true;
            }
          });
      assertThatThrownBy(() -> other.chat().session("c-live"))
          .isInstanceOf(NoSuchSessionException.class);
      assertThat(node.snapshots().read(new SnapshotKey(db.environment, session.friendlyId())))
          .isEmpty();

      // The same chat id, afresh: a new session, answered from its first message.
      AgentChat again = AgentChat.builder(runtime, "slow").chatId("c-live").build();
      Reply second = again.sendMessage("quick one");
      List<StreamRecord<OutEvent>> records = second.records(WAIT);
      assertThat(records.get(records.size() - 1).event())
          .isEqualTo(new OutEvent.TurnComplete(second.inEventId()));
      assertThat(node.chat().session("c-live").friendlyId()).isNotEqualTo(session.friendlyId());
      assertThat(other.chat().lastEventId("c-live", StreamKind.IN))
          .as("the other node, which knew the old session, sees the new one")
          .isEqualTo(1);
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Backend.class)
  @DisplayName(
      "the expiry sweep closes an expired session (its run ends closed) and deletes it after the"
          + " grace period, with its snapshot")
  void expirySweep(Backend backend) {
    var clock = new MovableClock(Instant.now().truncatedTo(ChronoUnit.SECONDS));
    Backend.Database db = backend.database();
    RetentionPolicy policy =
        RetentionPolicy.none()
            .withCloseExpired(true)
            .withDeleteClosedAfter(Duration.ofHours(1))
            .withSweepInterval(Duration.ofDays(1)); // swept by hand below
    try (Backend.Node node = db.node(b -> b.clock(clock).retention(policy));
        AgentRuntime runtime = runtime(node, slow(new CountDownLatch(1)))) {
      Session session =
          node.chat()
              .createSession(
                  CreateSessionRequest.builder("slow")
                      .externalId("c-exp")
                      .expiresAt(clock.instant().plus(Duration.ofMinutes(10)))
                      .build())
              .session();
      Session keeper =
          node.chat()
              .createSession(CreateSessionRequest.builder("slow").externalId("c-keep").build())
              .session();
      AgentChat chat = AgentChat.builder(runtime, "slow").chatId("c-exp").build();
      List<StreamRecord<OutEvent>> first = chat.sendMessage("quick hello").records(WAIT);
      assertThat(first.get(first.size() - 1).event()).isInstanceOf(OutEvent.TurnComplete.class);
      SnapshotKey key = new SnapshotKey(db.environment, session.friendlyId());
      await("the turn's snapshot is stored", () -> node.snapshots().read(key).isPresent());

      assertThat(node.chat().sweepRetention()).isEqualTo(new RetentionSweep(0, 0, 0));
      clock.advance(Duration.ofMinutes(11));
      assertThat(node.chat().sweepRetention().expiredClosed()).isEqualTo(1);

      Session closed = node.chat().session("c-exp");
      assertThat(closed.closedReason()).isEqualTo("expired");
      await(
          "its run ended, reason closed",
          () -> "closed".equals(node.chat().runs("c-exp").get(0).endReason()));

      clock.advance(Duration.ofMinutes(59));
      assertThat(node.chat().sweepRetention().deleted()).as("still in its grace period").isZero();
      clock.advance(Duration.ofMinutes(2));
      assertThat(node.chat().sweepRetention().deleted()).isEqualTo(1);

      assertThatThrownBy(() -> node.chat().session("c-exp"))
          .isInstanceOf(NoSuchSessionException.class);
      assertThat(node.snapshots().read(key)).isEmpty();
      assertThat(node.chat().session("c-keep")).isEqualTo(keeper);
    }
  }
}
