package dev.durablechat.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.JsonObject;
import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.Session;
import dev.durablechat.api.SessionDeletedException;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.storage.memory.MemorySessionStore;
import dev.durablechat.storage.memory.MemorySnapshotStore;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("deleting a session (S11)")
class DeleteTest {
  private final SessionStore store = new MemorySessionStore();
  private final CountingSnapshotStore snapshots =
      new CountingSnapshotStore(new MemorySnapshotStore());
  private final TestClock clock = new TestClock(Fixture.START);
  private final DurableChat chat = engine(store);

  private DurableChat engine(SessionStore on) {
    return DurableChat.builder()
        .environment(Fixture.ENV)
        .sessionStore(on)
        .snapshotStore(snapshots)
        .clock(clock)
        .retention(RetentionPolicy.none())
        .build();
  }

  @AfterEach
  void close() {
    chat.close();
    store.close();
  }

  private Session create(String chatId) {
    return chat.createSession(CreateSessionRequest.builder("agent").externalId(chatId).build())
        .session();
  }

  /** One whole turn: a message in, a reply and its turn-complete out, then the snapshot. */
  private void turn(String chatId, String text) {
    long in =
        chat.appendIn(chatId, Fixture.utf8(Fixture.submit(chatId, "u-" + text, text)), null)
            .lastEventId();
    String run = chat.ensureRun(chatId, RunReason.INITIAL).run().runId();
    chat.appendOut(
        chatId,
        run,
        new OutEvent.Chunk(
            UIMessageChunk.parse(
                "{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"" + text + "\"}"),
            null));
    chat.history()
        .completeTurn(
            chatId,
            run,
            List.of(
                UIMessage.userText("u-" + text, text),
                UIMessage.of(
                    "a-" + text,
                    "assistant",
                    List.of(JsonObject.builder().put("type", "text").put("text", text).build()))),
            in);
  }

  private SnapshotKey key(Session s) {
    return new SnapshotKey(Fixture.ENV, s.friendlyId());
  }

  @Test
  @DisplayName("removes the session, its runs, both streams and its snapshot; returns the row")
  void deletesEverything() {
    Session s = create("chat-1");
    turn("chat-1", "hello");
    assertThat(snapshots.delegate.read(key(s))).as("a snapshot to delete").isPresent();

    Session deleted = chat.deleteSession("chat-1");

    assertThat(deleted.friendlyId()).isEqualTo(s.friendlyId());
    assertThatThrownBy(() -> chat.session("chat-1")).isInstanceOf(NoSuchSessionException.class);
    assertThatThrownBy(() -> chat.session(s.friendlyId()))
        .isInstanceOf(NoSuchSessionException.class);
    assertThatThrownBy(() -> chat.readOut("chat-1", 0, 10))
        .isInstanceOf(NoSuchSessionException.class);
    assertThat(store.runs(s.friendlyId())).isEmpty();
    assertThat(snapshots.delegate.read(key(s))).as("snapshot deleted").isEmpty();
    assertThat(store.pendingSnapshotDeletions(Fixture.ENV, 10)).as("record cleared").isEmpty();
  }

  @Test
  @DisplayName("an unknown address is NoSuchSessionException naming it; nothing changes")
  void unknownAddress() {
    Session other = create("chat-other");

    assertThatThrownBy(() -> chat.deleteSession("nobody"))
        .isInstanceOf(NoSuchSessionException.class)
        .hasMessageContaining("[nobody]");
    assertThatThrownBy(() -> chat.deleteSession("session_nobody"))
        .isInstanceOf(NoSuchSessionException.class)
        .hasMessageContaining("[session_nobody]");
    assertThat(chat.session("chat-other")).isEqualTo(other);
  }

  @Test
  @DisplayName("a live tail of out ends with SessionDeletedException after the records it had")
  void tailEndsWithDeleted() throws Exception {
    Session s = create("chat-tail");
    turn("chat-tail", "one");
    var subscriber = new TestSubscriber<TailItem<OutEvent>>();
    chat.subscribeOut("chat-tail", 0).subscribe(subscriber);
    subscriber.request(100);
    assertThat(subscriber.next(2)).hasSize(2);

    chat.deleteSession("chat-tail");

    Throwable error = subscriber.awaitError();
    assertThat(error)
        .isInstanceOf(SessionDeletedException.class)
        .hasMessageContaining(s.friendlyId())
        .hasMessageContaining("deleted");
    assertThat(((SessionDeletedException) error).sessionId()).isEqualTo(s.friendlyId());
  }

  @Test
  @DisplayName("the close listeners hear of the delete, so that a run serving the session stops")
  void closeListenersAreCalled() {
    Session s = create("chat-l");
    var heard = new CopyOnWriteArrayList<String>();
    chat.addCloseListener(heard::add);

    chat.deleteSession("chat-l");

    assertThat(heard).containsExactly(s.friendlyId());
  }

  @Test
  @DisplayName(
      "a snapshot that cannot be deleted stays recorded, and the retention sweep deletes it later")
  void failedSnapshotDeleteIsRetried() {
    Session s = create("chat-s");
    turn("chat-s", "hello");
    snapshots.failDeletes = true;

    chat.deleteSession("chat-s");

    assertThat(snapshots.delegate.read(key(s))).as("still there, for now").isPresent();
    assertThat(store.pendingSnapshotDeletions(Fixture.ENV, 10)).containsExactly(key(s));
    assertThat(chat.sweepRetention().snapshotsDeleted())
        .as("the store is still away: nothing deleted")
        .isZero();
    assertThat(store.pendingSnapshotDeletions(Fixture.ENV, 10)).containsExactly(key(s));

    snapshots.failDeletes = false;
    RetentionSweep sweep = chat.sweepRetention();

    assertThat(sweep.snapshotsDeleted()).isEqualTo(1);
    assertThat(snapshots.delegate.read(key(s))).isEmpty();
    assertThat(store.pendingSnapshotDeletions(Fixture.ENV, 10)).isEmpty();
  }

  @Test
  @DisplayName(
      "two engines on one store: after one deletes and re-creates the external id, the other"
          + " (which had it cached) serves the new session, never the stale mapping")
  void noStaleAddressAcrossEngines() {
    try (DurableChat other = engine(store)) {
      Session first = create("chat-x");
      other.appendIn("chat-x", Fixture.utf8(Fixture.submit("chat-x", "u1", "old")), null);
      assertThat(other.lastEventId("chat-x", StreamKind.IN)).isEqualTo(1);

      chat.deleteSession("chat-x");
      Session second = create("chat-x");
      assertThat(second.friendlyId()).isNotEqualTo(first.friendlyId());

      // Every call on the other engine, which cached chat-x -> the first session, reaches the new.
      assertThat(other.lastEventId("chat-x", StreamKind.IN)).isZero();
      var appended =
          other.appendIn("chat-x", Fixture.utf8(Fixture.submit("chat-x", "u2", "new")), null);
      assertThat(appended.lastEventId()).isEqualTo(1);
      assertThat(other.readIn("chat-x", 0, 10)).hasSize(1);
      assertThat(other.runs("chat-x")).isEmpty();
      String run = other.ensureRun("chat-x", RunReason.INITIAL).run().runId();
      assertThat(other.runs("chat-x")).hasSize(1);
      other.appendOut(
          "chat-x",
          run,
          new OutEvent.Chunk(
              UIMessageChunk.parse("{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"hi\"}"),
              null));
      assertThat(chat.readOut(second.friendlyId(), 0, 10)).hasSize(1);
      assertThat(other.session("chat-x").friendlyId()).isEqualTo(second.friendlyId());
    }
  }

  @Test
  @DisplayName("a delete that lands while a turn writes its snapshot leaves no snapshot behind")
  void deleteRacingSnapshotWrite() {
    Session s = create("chat-late");
    long in =
        chat.appendIn("chat-late", Fixture.utf8(Fixture.submit("chat-late", "u1", "hi")), null)
            .lastEventId();
    String run = chat.ensureRun("chat-late", RunReason.INITIAL).run().runId();
    // The delete lands between the turn's look at the session and its snapshot write.
    snapshots.beforeWrite = () -> chat.deleteSession("chat-late");

    ChatHistory.TurnCompleted completed =
        chat.history().completeTurn("chat-late", run, List.of(UIMessage.userText("u1", "hi")), in);

    assertThat(snapshots.snapshotJsonWrites.get())
        .as("the write happened after the delete")
        .isEqualTo(1);
    assertThat(completed.snapshotWritten()).isFalse();
    assertThat(snapshots.delegate.read(key(s))).as("and was deleted again").isEmpty();
  }
}
