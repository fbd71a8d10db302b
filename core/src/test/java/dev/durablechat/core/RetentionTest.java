package dev.durablechat.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.durablechat.api.JsonObject;
import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.Session;
import dev.durablechat.api.SessionStatus;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.storage.memory.MemorySessionStore;
import dev.durablechat.storage.memory.MemorySnapshotStore;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("the retention policy and its sweep (S11, H5)")
class RetentionTest {
  private final SessionStore store = new MemorySessionStore();
  private final MemorySnapshotStore snapshots = new MemorySnapshotStore();
  private final TestClock clock = new TestClock(Fixture.START);
  private final List<DurableChat> engines = new ArrayList<>();

  private DurableChat engine(RetentionPolicy policy) {
    DurableChat chat =
        DurableChat.builder()
            .environment(Fixture.ENV)
            .sessionStore(store)
            .snapshotStore(snapshots)
            .clock(clock)
            .retention(policy)
            .build();
    engines.add(chat);
    return chat;
  }

  @AfterEach
  void close() {
    engines.forEach(DurableChat::close);
    store.close();
  }

  private static Session create(DurableChat chat, String chatId, Instant expiresAt) {
    return chat.createSession(
            CreateSessionRequest.builder("agent").externalId(chatId).expiresAt(expiresAt).build())
        .session();
  }

  private static Session create(DurableChat chat, String chatId) {
    return chat.createSession(CreateSessionRequest.builder("agent").externalId(chatId).build())
        .session();
  }

  @Test
  @DisplayName("the defaults: expired closed, closed deleted after 30 days, nothing trimmed")
  void defaults() {
    RetentionPolicy d = RetentionPolicy.defaults();
    assertThat(d.sweeps()).isTrue();
    assertThat(d.sweepInterval()).isEqualTo(Duration.ofMinutes(1));
    assertThat(d.batchSize()).isEqualTo(100);
    assertThat(d.closeExpired()).isTrue();
    assertThat(d.deleteClosedAfter()).isEqualTo(Duration.ofDays(30));
    assertThat(d.trimOut()).isFalse();
    assertThat(d.trimIn()).isFalse();
    assertThat(RetentionPolicy.none().sweeps()).isFalse();
    assertThat(RetentionPolicy.none().closeExpired()).isFalse();
    assertThat(RetentionPolicy.none().deleteClosedAfter()).isNull();
    try (DurableChat chat =
        DurableChat.builder().environment(Fixture.ENV).sessionStore(store).build()) {
      assertThat(chat.retention()).isSameAs(RetentionPolicy.defaults());
    }
  }

  @Test
  @DisplayName("bad settings are refused naming the value")
  void badSettings() {
    RetentionPolicy d = RetentionPolicy.defaults();
    assertThatThrownBy(() -> d.withSweepInterval(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("[PT0S]");
    assertThatThrownBy(() -> d.withBatchSize(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("[0]");
    assertThatThrownBy(() -> d.withDeleteClosedAfter(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("[PT-1S]");
  }

  @Test
  @DisplayName("S11: a sweep closes expired sessions with the reason expired, as of their expiry")
  void expiredAreClosed() {
    DurableChat chat = engine(RetentionPolicy.none().withCloseExpired(true));
    Instant expiry = Fixture.START.plusSeconds(60);
    Session s = create(chat, "chat-e", expiry);
    create(chat, "chat-later", Fixture.START.plusSeconds(3600));
    create(chat, "chat-never");
    var heard = new CopyOnWriteArrayList<String>();
    chat.addCloseListener(heard::add);

    assertThat(chat.sweepRetention().expiredClosed()).as("nothing expired yet").isZero();
    clock.advance(Duration.ofSeconds(61));
    RetentionSweep sweep = chat.sweepRetention();

    assertThat(sweep.expiredClosed()).isEqualTo(1);
    Session closed = chat.session("chat-e");
    assertThat(closed.status(clock.instant())).isEqualTo(SessionStatus.CLOSED);
    assertThat(closed.closedReason()).isEqualTo("expired");
    assertThat(closed.closedAt()).isEqualTo(expiry);
    assertThat(heard).as("a run serving it stops").containsExactly(s.friendlyId());
    assertThat(chat.session("chat-later").closedAt()).isNull();
    assertThat(chat.session("chat-never").closedAt()).isNull();
    assertThat(chat.sweepRetention().expiredClosed()).as("closed once").isZero();
  }

  @Test
  @DisplayName("S11: closed sessions are deleted once their grace period is over, not before")
  void closedAreDeletedAfterGrace() {
    DurableChat chat = engine(RetentionPolicy.none().withDeleteClosedAfter(Duration.ofDays(2)));
    Session s = create(chat, "chat-c");
    create(chat, "chat-open");
    chat.closeSession("chat-c", "done");
    snapshots.write(new SnapshotKey(Fixture.ENV, s.friendlyId()), new byte[] {'{', '}'}, null);

    clock.advance(Duration.ofDays(1));
    assertThat(chat.sweepRetention().deleted()).as("within the grace period").isZero();
    assertThat(chat.session("chat-c").friendlyId()).isEqualTo(s.friendlyId());

    clock.advance(Duration.ofDays(1).plusSeconds(1));
    RetentionSweep sweep = chat.sweepRetention();

    assertThat(sweep.deleted()).isEqualTo(1);
    assertThatThrownBy(() -> chat.session("chat-c")).isInstanceOf(NoSuchSessionException.class);
    assertThat(snapshots.read(new SnapshotKey(Fixture.ENV, s.friendlyId()))).isEmpty();
    assertThat(chat.session("chat-open").closedAt()).isNull();
  }

  @Test
  @DisplayName("S11: one sweep handles at most ten batches per step; the next sweep the rest")
  void sweepsAreBounded() {
    DurableChat chat =
        engine(RetentionPolicy.none().withDeleteClosedAfter(Duration.ZERO).withBatchSize(2));
    for (int i = 0; i < 25; i++) {
      create(chat, "chat-" + i);
      chat.closeSession("chat-" + i, null);
    }
    clock.advance(Duration.ofSeconds(1));

    assertThat(chat.sweepRetention().deleted())
        .isEqualTo(2 * RetentionPolicy.MAX_BATCHES_PER_SWEEP);
    assertThat(chat.sweepRetention().deleted()).isEqualTo(5);
    assertThat(chat.sweepRetention().deleted()).isZero();
  }

  @Test
  @DisplayName("S11: expired, then closed, then deleted: the whole way in two sweeps")
  void expiredThenDeleted() {
    DurableChat chat =
        engine(RetentionPolicy.defaults().withDeleteClosedAfter(Duration.ofHours(1)));
    create(chat, "chat-x", Fixture.START.plusSeconds(10));
    clock.advance(Duration.ofSeconds(11));
    assertThat(chat.sweepRetention()).isEqualTo(new RetentionSweep(1, 0, 0));
    clock.advance(Duration.ofHours(1));
    assertThat(chat.sweepRetention())
        .as("the delete took the snapshot with it: nothing left for the snapshot step")
        .isEqualTo(new RetentionSweep(0, 1, 0));
    assertThatThrownBy(() -> chat.session("chat-x")).isInstanceOf(NoSuchSessionException.class);
  }

  @Test
  @DisplayName("S11: the engine sweeps on its own, every sweep interval")
  void periodicSweep() {
    DurableChat chat = engine(RetentionPolicy.defaults().withSweepInterval(Duration.ofMillis(50)));
    create(chat, "chat-p", Fixture.START.plusSeconds(1));
    clock.advance(Duration.ofSeconds(2));

    await().atMost(Duration.ofSeconds(10)).until(() -> chat.session("chat-p").closedAt() != null);
    assertThat(chat.session("chat-p").closedReason()).isEqualTo("expired");
  }

  // ---- trimming (H5)

  private static void turn(DurableChat chat, String chatId, int n) {
    long in =
        chat.appendIn(chatId, Fixture.utf8(Fixture.submit(chatId, "u" + n, "m" + n)), null)
            .lastEventId();
    String run = chat.ensureRun(chatId, RunReason.INITIAL).run().runId();
    chat.appendOut(
        chatId,
        run,
        new OutEvent.Chunk(
            UIMessageChunk.parse("{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"x\"}"), null));
    var history = new ArrayList<UIMessage>();
    for (int i = 1; i <= n; i++) {
      history.add(UIMessage.userText("u" + i, "m" + i));
      history.add(
          UIMessage.of(
              "a" + i,
              "assistant",
              List.of(JsonObject.builder().put("type", "text").put("text", "x").build())));
    }
    chat.history().completeTurn(chatId, run, history, in);
  }

  @Test
  @DisplayName("H5: with trimming off (the default) both streams keep every record")
  void noTrimByDefault() {
    DurableChat chat = engine(RetentionPolicy.none());
    create(chat, "chat-k");
    for (int n = 1; n <= 3; n++) {
      turn(chat, "chat-k", n);
    }
    assertThat(chat.readIn("chat-k", 0, 100)).hasSize(3);
    assertThat(chat.readOut("chat-k", 0, 100)).hasSize(6);
  }

  @Test
  @DisplayName(
      "H5: trimOut and trimIn keep one turn behind the snapshot; the history still rebuilds")
  void trimBothStreams() {
    DurableChat chat = engine(RetentionPolicy.none().withTrimOut(true).withTrimIn(true));
    create(chat, "chat-t");
    for (int n = 1; n <= 3; n++) {
      turn(chat, "chat-t", n);
    }

    assertThat(chat.readIn("chat-t", 0, 100))
        .as("in through the second-to-last snapshot's watermark is gone")
        .extracting(r -> r.eventId())
        .containsExactly(3L);
    assertThat(chat.readOut("chat-t", 0, 100))
        .as("out keeps the turn since the previous turn-complete")
        .extracting(r -> r.eventId())
        .containsExactly(5L, 6L);
    assertThat(chat.lastEventId("chat-t", StreamKind.IN)).isEqualTo(3);
    assertThat(chat.history().rebuild("chat-t").messages())
        .extracting(UIMessage::id)
        .containsExactly("u1", "a1", "u2", "a2", "u3", "a3");
  }
}
