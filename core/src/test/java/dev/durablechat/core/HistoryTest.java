package dev.durablechat.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.Environment;
import dev.durablechat.api.FencedException;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.Snapshot;
import dev.durablechat.api.SnapshotConflictException;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.api.WirePayload;
import dev.durablechat.core.internal.SnapshotCodec;
import dev.durablechat.storage.memory.MemorySessionStore;
import dev.durablechat.storage.memory.MemorySnapshotStore;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("History: snapshots, snapshot + tail rebuild, retention and hydrateMessages")
class HistoryTest {
  private static final Environment ENV = new Environment("proj", "hist");
  private static final String CHAT = "chat-1";

  private final MemorySessionStore store = new MemorySessionStore();
  private final CountingSnapshotStore snapshots =
      new CountingSnapshotStore(new MemorySnapshotStore());
  private final DurableChat chat =
      DurableChat.builder().environment(ENV).sessionStore(store).snapshotStore(snapshots).build();
  private final String sessionId =
      chat.createSession(CreateSessionRequest.builder("agent").externalId(CHAT).build())
          .session()
          .friendlyId();
  private String runId = chat.ensureRun(CHAT, RunReason.INITIAL).run().runId();

  @AfterEach
  void close() {
    chat.close();
    store.close();
    snapshots.close();
  }

  // ------------------------------------------------------------------------------------ helpers

  private long submit(String id, String text) {
    return chat.appendIn(
            CHAT, new InEvent.Message(WirePayload.submit(CHAT, UIMessage.userText(id, text))), null)
        .eventId();
  }

  private void chunks(String run, String... json) {
    var events = new ArrayList<OutEvent>();
    for (String j : json) {
      events.add(OutEvent.Chunk.of(UIMessageChunk.parse(j)));
    }
    chat.appendOut(CHAT, run, events);
  }

  /** A complete one-text reply. */
  private void reply(String run, String messageId, String text) {
    chunks(
        run,
        "{\"type\":\"start\",\"messageId\":\"" + messageId + "\"}",
        "{\"type\":\"text-start\",\"id\":\"t\"}",
        "{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"" + text + "\"}",
        "{\"type\":\"text-end\",\"id\":\"t\"}",
        "{\"type\":\"finish\"}");
  }

  /** The message {@link #reply} folds into. */
  private static UIMessage answer(String id, String text) {
    return UIMessage.of(
        id,
        "assistant",
        List.of(
            JsonObject.builder()
                .put("type", "text")
                .put("text", text)
                .put("state", "done")
                .build()));
  }

  /** One whole turn through the history: user message, reply, turn-complete and snapshot. */
  private ChatHistory.TurnCompleted turn(ChatHistory history, List<UIMessage> messages, int n) {
    long in = submit("u" + n, "q" + n);
    reply(runId, "a" + n, "r" + n);
    messages.add(UIMessage.userText("u" + n, "q" + n));
    messages.add(answer("a" + n, "r" + n));
    return history.completeTurn(CHAT, runId, messages, in);
  }

  private SnapshotKey key() {
    return new SnapshotKey(ENV, sessionId);
  }

  /** The stored snapshot as a rebuild reads it: a manifest and its segments (H1). */
  private Snapshot stored() {
    SegmentedSnapshots.Read read =
        new SegmentedSnapshots(snapshots.delegate).read(key()).orElseThrow();
    assertThat(read.problem()).isNull();
    return read.snapshot();
  }

  private ChatHistory.Rebuilt replayedWithoutSnapshot() {
    try (var bare = DurableChat.builder().environment(ENV).sessionStore(store).build()) {
      return ChatHistory.of(bare).rebuild(CHAT);
    }
  }

  private static String stderrOf(Runnable action) {
    PrintStream previous = System.err;
    var buffer = new ByteArrayOutputStream();
    System.setErr(new PrintStream(buffer, true, StandardCharsets.UTF_8));
    try {
      action.run();
    } finally {
      System.setErr(previous);
    }
    return buffer.toString(StandardCharsets.UTF_8);
  }

  // ------------------------------------------------------------------------------------ tests

  @Test
  @DisplayName(
      "each turn appends turn-complete with the dispatched in id and then the snapshot at its event"
          + " id (W6, H1)")
  void turnWritesSnapshot() {
    ChatHistory history = ChatHistory.of(chat);
    var messages = new ArrayList<UIMessage>();

    ChatHistory.TurnCompleted done = turn(history, messages, 1);

    assertThat(done.snapshotWritten()).isTrue();
    List<StreamRecord<OutEvent>> out = chat.readOut(CHAT, 0, 100);
    assertThat(out.get(out.size() - 1).event()).isEqualTo(new OutEvent.TurnComplete(1));
    assertThat(out.get(out.size() - 1).eventId()).isEqualTo(done.turnCompleteEventId());
    Snapshot snapshot = stored();
    assertThat(snapshot.messages()).isEqualTo(messages);
    assertThat(snapshot.lastOutEventId()).isEqualTo(done.turnCompleteEventId());
    assertThat(snapshot.lastInEventId()).isEqualTo(1);

    ChatHistory.Rebuilt rebuilt = ChatHistory.of(chat).rebuild(CHAT);
    assertThat(rebuilt.messages()).isEqualTo(messages);
    assertThat(rebuilt.source().fromSnapshot()).isTrue();
    assertThat(rebuilt.source().outRecordsReplayed()).isZero();
    assertThat(rebuilt.pending()).isEmpty();
  }

  @Test
  @DisplayName(
      "a crash between turn-complete and the snapshot write: the older snapshot plus a longer tail"
          + " give the same history (H1, H2)")
  void crashBeforeSnapshotWrite() {
    ChatHistory history = ChatHistory.of(chat);
    var messages = new ArrayList<UIMessage>();
    long t1 = turn(history, messages, 1).turnCompleteEventId();
    long in2 = submit("u2", "q2");
    reply(runId, "a2", "r2");
    // the process dies right after turn-complete: no snapshot for turn 2
    long t2 = chat.appendOut(CHAT, runId, new OutEvent.TurnComplete(in2)).eventId();
    messages.add(UIMessage.userText("u2", "q2"));
    messages.add(answer("a2", "r2"));

    ChatHistory.Rebuilt rebuilt = ChatHistory.of(chat).rebuild(CHAT);

    assertThat(rebuilt.messages()).isEqualTo(messages);
    assertThat(rebuilt.lastOutEventId()).isEqualTo(t2);
    assertThat(rebuilt.lastInEventId()).isEqualTo(in2);
    assertThat(rebuilt.pending()).isEmpty();
    assertThat(rebuilt.source().snapshotOutEventId()).isEqualTo(t1);
    assertThat(rebuilt.source().outRecordsReplayed()).isEqualTo(t2 - t1);
    assertThat(replayedWithoutSnapshot().messages()).isEqualTo(messages);
  }

  @Test
  @DisplayName(
      "a crash mid-turn: the partial reply is cleaned up, and the unanswered user messages stay"
          + " pending and are answered again in order (H4, L5)")
  void crashMidTurn() {
    ChatHistory history = ChatHistory.of(chat);
    var messages = new ArrayList<UIMessage>();
    turn(history, messages, 1);
    long in2 = submit("u2", "q2");
    long in3 = submit("u3", "q3");
    chunks(
        runId,
        "{\"type\":\"start\",\"messageId\":\"a2\"}",
        "{\"type\":\"start-step\"}",
        "{\"type\":\"text-start\",\"id\":\"t\"}",
        "{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"half\"}",
        "{\"type\":\"tool-input-start\",\"toolCallId\":\"c1\",\"toolName\":\"search\"}",
        "{\"type\":\"tool-input-delta\",\"toolCallId\":\"c1\",\"inputTextDelta\":\"{\\\"q\\\":\"}");
    // the run dies here

    ChatHistory.Rebuilt rebuilt = ChatHistory.of(chat).rebuild(CHAT);

    UIMessage partial =
        UIMessage.of(
            "a2",
            "assistant",
            List.of(
                JsonObject.builder().put("type", "step-start").build(),
                JsonObject.builder()
                    .put("type", "text")
                    .put("text", "half")
                    .put("state", "done")
                    .build()));
    var expected = new ArrayList<>(messages);
    expected.add(UIMessage.userText("u2", "q2"));
    expected.add(partial);
    assertThat(rebuilt.messages()).isEqualTo(expected);
    assertThat(rebuilt.partialReply()).isTrue();
    assertThat(rebuilt.pending().stream().map(StreamRecord::eventId)).containsExactly(in2, in3);
    assertThat(replayedWithoutSnapshot().messages()).isEqualTo(expected);

    // A continuation run answers the pending messages in order; the dead run is fenced out. The
    // partial reply plus the unanswered message resume as a turn (H4): the reply continues a2.
    String dead = runId;
    chat.endRun(CHAT, dead, "crashed");
    runId = chat.ensureRun(CHAT, RunReason.INITIAL).run().runId();
    ChatHistory next = ChatHistory.of(chat);
    var now = new ArrayList<>(rebuilt.messages());
    reply(runId, "a2", "whole");
    UIMessage a2 =
        UIMessage.of(
            "a2",
            "assistant",
            List.of(
                partial.parts().get(0),
                partial.parts().get(1),
                answer("x", "whole").parts().get(0)));
    now.set(3, a2);
    next.completeTurn(CHAT, runId, now, rebuilt.pending().get(0).eventId());
    reply(runId, "a3", "r3");
    now.add(UIMessage.userText("u3", "q3"));
    now.add(answer("a3", "r3"));
    next.completeTurn(CHAT, runId, now, rebuilt.pending().get(1).eventId());
    assertThatThrownBy(() -> reply(dead, "a9", "late")).isInstanceOf(FencedException.class);

    ChatHistory.Rebuilt after = ChatHistory.of(chat).rebuild(CHAT);
    assertThat(after.messages().stream().map(UIMessage::id))
        .containsExactly("u1", "a1", "u2", "a2", "u3", "a3");
    assertThat(after.messages()).isEqualTo(now);
    assertThat(after.pending()).isEmpty();
    assertThat(after.partialReply()).isFalse();
    assertThat(replayedWithoutSnapshot().messages()).isEqualTo(now);
  }

  @Test
  @DisplayName(
      "a stale snapshot writer gets the conflict and the watermark never moves backwards"
          + " (invariant 8)")
  void staleWriterRejected() {
    ChatHistory a = ChatHistory.of(chat);
    var messages = new ArrayList<UIMessage>();
    turn(a, messages, 1);
    String v1 = snapshots.delegate.read(key()).orElseThrow().version();
    a.rebuild(CHAT);
    // Run A appends turn 2's turn-complete and stalls before its snapshot write.
    long in2 = submit("u2", "q2");
    reply(runId, "a2", "r2");
    long t2 = chat.appendOut(CHAT, runId, new OutEvent.TurnComplete(in2)).eventId();
    var staleHistory = new ArrayList<>(messages);
    staleHistory.add(UIMessage.userText("u2", "q2"));
    staleHistory.add(answer("a2", "r2"));
    // Run B takes over, rebuilds, answers turn 3 and snapshots it.
    runId = chat.endAndContinue(CHAT, runId, RunReason.CONTINUATION).winnerRunId();
    ChatHistory b = ChatHistory.of(chat);
    var bMessages = new ArrayList<>(b.rebuild(CHAT).messages());
    ChatHistory.TurnCompleted t3 = turn(b, bMessages, 3);
    assertThat(t3.snapshotWritten()).isTrue();
    int writesBefore = snapshots.snapshotJsonWrites.get();

    boolean written = a.writeSnapshot(sessionId, staleHistory, t2, in2);

    assertThat(written).isFalse();
    assertThat(snapshots.snapshotJsonWrites.get() - writesBefore)
        .as("one conditional attempt")
        .isEqualTo(1);
    assertThat(stored().lastOutEventId()).isEqualTo(t3.turnCompleteEventId());
    assertThat(stored().messages()).isEqualTo(bMessages);
    byte[] stale =
        SnapshotCodec.encode(new Snapshot(1, java.time.Instant.EPOCH, staleHistory, t2, in2));
    assertThatThrownBy(() -> snapshots.delegate.write(key(), stale, v1))
        .isInstanceOf(SnapshotConflictException.class);
  }

  @Test
  @DisplayName(
      "a writer that lost a conflict to an older snapshot writes over it on the retry"
          + " (invariant 8)")
  void conflictWithOlderSnapshotRetries() {
    ChatHistory a = ChatHistory.of(chat);
    var messages = new ArrayList<UIMessage>();
    turn(a, messages, 1);
    Snapshot first = stored();
    // Someone rewrites the same watermark behind A's back: A's remembered version is now stale.
    snapshots.delegate.write(
        key(), SnapshotCodec.encode(first), snapshots.delegate.read(key()).orElseThrow().version());

    ChatHistory.TurnCompleted t2 = turn(a, messages, 2);

    assertThat(t2.snapshotWritten()).isTrue();
    assertThat(stored().lastOutEventId()).isEqualTo(t2.turnCompleteEventId());
    assertThat(stored().messages()).isEqualTo(messages);
  }

  @Test
  @DisplayName(
      "a corrupted or unknown-version snapshot is treated as absent and logged, and the next turn"
          + " replaces it (H1)")
  void unreadableSnapshot() {
    ChatHistory history = ChatHistory.of(chat);
    var messages = new ArrayList<UIMessage>();
    turn(history, messages, 1);
    for (String content :
        List.of(
            "{not json",
            "{\"version\":3,\"savedAt\":\"2026-01-01T00:00:00Z\",\"messages\":[],"
                + "\"lastOutEventId\":999,\"lastInEventId\":999}",
            // a manifest whose segment is gone
            "{\"version\":2,\"savedAt\":\"2026-01-01T00:00:00Z\",\"lastOutEventId\":999,"
                + "\"lastInEventId\":999,\"messages\":1,\"segments\":[{\"name\":\"9-gone\","
                + "\"from\":0,\"count\":1,\"bytes\":10,\"tier\":2}]}",
            // a manifest that does not add up
            "{\"version\":2,\"savedAt\":\"2026-01-01T00:00:00Z\",\"lastOutEventId\":999,"
                + "\"lastInEventId\":999,\"messages\":5,\"segments\":[]}")) {
      String version = snapshots.delegate.read(key()).orElseThrow().version();
      snapshots.delegate.write(key(), content.getBytes(StandardCharsets.UTF_8), version);
      var rebuilt = new AtomicReference<ChatHistory.Rebuilt>();
      ChatHistory fresh = ChatHistory.of(chat);

      String log = stderrOf(() -> rebuilt.set(fresh.rebuild(CHAT)));

      assertThat(rebuilt.get().messages()).isEqualTo(messages);
      assertThat(rebuilt.get().source().fromSnapshot()).isFalse();
      assertThat(rebuilt.get().source().snapshotProblem())
          .containsAnyOf(
              "not readable",
              "version [3] is not supported",
              "segment that is missing",
              "segments must be a non-empty array");
      assertThat(log).contains("WARN").contains(key().path()).contains("treated as absent");
      history = fresh;
    }
    ChatHistory.TurnCompleted t2 = turn(history, messages, 2);
    assertThat(t2.snapshotWritten()).isTrue();
    assertThat(stored().messages()).isEqualTo(messages);
  }

  @Test
  @DisplayName(
      "a snapshot store that is unavailable on write fails no turn; the next turn writes again"
          + " (H1)")
  void unavailableSnapshotStore() {
    ChatHistory history = ChatHistory.of(chat);
    var messages = new ArrayList<UIMessage>();
    long t1 = turn(history, messages, 1).turnCompleteEventId();
    snapshots.failWrites = true;

    ChatHistory.TurnCompleted t2 = turn(history, messages, 2);

    assertThat(t2.snapshotWritten()).isFalse();
    assertThat(chat.readOut(CHAT, t2.turnCompleteEventId() - 1, 1).get(0).event())
        .isInstanceOf(OutEvent.TurnComplete.class);
    assertThat(stored().lastOutEventId()).isEqualTo(t1);
    assertThat(ChatHistory.of(chat).rebuild(CHAT).messages()).isEqualTo(messages);

    snapshots.failWrites = false;
    ChatHistory.TurnCompleted t3 = turn(history, messages, 3);
    assertThat(t3.snapshotWritten()).isTrue();
    assertThat(stored().lastOutEventId()).isEqualTo(t3.turnCompleteEventId());
    assertThat(stored().messages()).isEqualTo(messages);
  }

  @Test
  @DisplayName(
      "retention trims out through the previous turn after each snapshot, never in, and the"
          + " rebuild is still right (H5)")
  void retention() {
    ChatHistory history = ChatHistory.builder(chat).retention(true).build();
    history.rebuild(CHAT);
    var messages = new ArrayList<UIMessage>();
    long t1 = turn(history, messages, 1).turnCompleteEventId();
    assertThat(chat.readOut(CHAT, 0, 1).get(0).eventId()).isEqualTo(1);

    ChatHistory.TurnCompleted t2 = turn(history, messages, 2);
    assertThat(t2.trimmedOutRecords()).isEqualTo(t1);
    assertThat(chat.readOut(CHAT, 0, 1).get(0).eventId()).isEqualTo(t1 + 1);

    ChatHistory.TurnCompleted t3 = turn(history, messages, 3);
    assertThat(t3.trimmedOutRecords()).isEqualTo(t2.turnCompleteEventId() - t1);
    assertThat(chat.readOut(CHAT, 0, 1).get(0).eventId()).isEqualTo(t2.turnCompleteEventId() + 1);
    assertThat(chat.readIn(CHAT, 0, 100)).hasSize(3);

    ChatHistory.Rebuilt rebuilt = ChatHistory.of(chat).rebuild(CHAT);
    assertThat(rebuilt.messages()).isEqualTo(messages);
    assertThat(rebuilt.source().outTrimmed()).isFalse();
  }

  @Test
  @DisplayName(
      "with a session store that cannot trim, retention is not applied and says so once (H5)")
  void retentionWithoutTrimCapability() {
    var noTrim = new NoTrimSessionStore(store);
    try (var limited =
        DurableChat.builder()
            .environment(ENV)
            .sessionStore(noTrim)
            .snapshotStore(snapshots)
            .build()) {
      ChatHistory history = ChatHistory.builder(limited).retention(true).build();
      history.rebuild(CHAT);
      var messages = new ArrayList<UIMessage>();
      var results = new ArrayList<ChatHistory.TurnCompleted>();
      String log =
          stderrOf(
              () -> {
                for (int n = 1; n <= 3; n++) {
                  long in = submit("u" + n, "q" + n);
                  reply(runId, "a" + n, "r" + n);
                  messages.add(UIMessage.userText("u" + n, "q" + n));
                  messages.add(answer("a" + n, "r" + n));
                  results.add(history.completeTurn(CHAT, runId, messages, in));
                }
              });

      assertThat(results).allMatch(r -> r.snapshotWritten() && r.trimmedOutRecords() == 0);
      assertThat(noTrim.trims).hasValue(0);
      assertThat(log.lines().filter(l -> l.contains("cannot trim")).count()).isEqualTo(1);
      assertThat(chat.readOut(CHAT, 0, 1).get(0).eventId()).isEqualTo(1);
      assertThat(ChatHistory.of(limited).rebuild(CHAT).messages()).isEqualTo(messages);
    }
  }

  @Test
  @DisplayName(
      "after retention, a rebuild that lost its snapshot reports that out was trimmed (H5)")
  void trimmedTailWithoutSnapshot() {
    ChatHistory history = ChatHistory.builder(chat).retention(true).build();
    history.rebuild(CHAT);
    var messages = new ArrayList<UIMessage>();
    turn(history, messages, 1);
    turn(history, messages, 2);
    snapshots.delegate.delete(key());

    ChatHistory.Rebuilt rebuilt = ChatHistory.of(chat).rebuild(CHAT);

    assertThat(rebuilt.source().outTrimmed()).isTrue();
    // in is never trimmed, so the user messages survive; turn 1's reply is gone with its records
    assertThat(rebuilt.messages().stream().map(UIMessage::id)).containsExactly("u1", "u2", "a2");
  }

  @Test
  @DisplayName(
      "a failed snapshot write trims nothing, so the tail the next rebuild needs is kept (H5)")
  void retentionWaitsForSnapshot() {
    ChatHistory history = ChatHistory.builder(chat).retention(true).build();
    var messages = new ArrayList<UIMessage>();
    turn(history, messages, 1);
    snapshots.failWrites = true;
    ChatHistory.TurnCompleted t2 = turn(history, messages, 2);
    snapshots.failWrites = false;

    assertThat(t2.trimmedOutRecords()).isZero();
    assertThat(chat.readOut(CHAT, 0, 1).get(0).eventId()).isEqualTo(1);
    assertThat(ChatHistory.of(chat).rebuild(CHAT).messages()).isEqualTo(messages);
  }

  @Test
  @DisplayName(
      "hydrateMessages short-circuits snapshot read, snapshot write and replay (H7), and gets the"
          + " incoming message")
  void hydrateHook() {
    var messages = new ArrayList<UIMessage>();
    turn(ChatHistory.of(chat), messages, 1);
    long in2 = submit("u2", "q2");
    var seen = new ArrayList<List<UIMessage>>();
    List<UIMessage> appHistory = List.of(UIMessage.userText("app", "from the application"));
    ChatHistory history =
        ChatHistory.builder(chat)
            .hydrateMessages(
                incoming -> {
                  seen.add(incoming);
                  return appHistory;
                })
            .build();
    int reads = snapshots.reads.get();
    int writes = snapshots.writes.get();

    ChatHistory.Rebuilt rebuilt = history.rebuild(CHAT);
    reply(runId, "a2", "r2");
    ChatHistory.TurnCompleted done = history.completeTurn(CHAT, runId, appHistory, in2);

    assertThat(rebuilt.messages()).isEqualTo(appHistory);
    assertThat(rebuilt.source().hydrated()).isTrue();
    assertThat(rebuilt.pending().stream().map(StreamRecord::eventId)).containsExactly(in2);
    assertThat(seen).containsExactly(List.of(UIMessage.userText("u2", "q2")));
    assertThat(done.snapshotWritten()).isFalse();
    assertThat(snapshots.reads.get()).isEqualTo(reads);
    assertThat(snapshots.writes.get()).isEqualTo(writes);
    assertThat(chat.readOut(CHAT, done.turnCompleteEventId() - 1, 1).get(0).event())
        .isEqualTo(new OutEvent.TurnComplete(in2));
  }

  @Test
  @DisplayName("with neither a hook nor a snapshot store, creating the history warns once (H7)")
  void warnsWithoutSnapshotsOrHook() {
    try (var bare = DurableChat.builder().environment(ENV).sessionStore(store).build()) {
      var created = new AtomicInteger();
      String log =
          stderrOf(
              () -> {
                ChatHistory.of(bare);
                created.incrementAndGet();
              });
      assertThat(log).contains("WARN").contains("neither a snapshot store nor a hydrateMessages");
      assertThat(log.lines().filter(l -> l.contains("neither")).count()).isEqualTo(1);

      String quiet = stderrOf(() -> ChatHistory.of(chat));
      assertThat(quiet).doesNotContain("neither");
      String hooked = stderrOf(() -> ChatHistory.builder(bare).hydrateMessages(m -> m).build());
      assertThat(hooked).doesNotContain("neither");
    }
  }

  @Test
  @DisplayName(
      "an incoming tool advance overlays only state, output, errorText and approval, and never"
          + " moves a part back from an output state (H6)")
  void toolOverlay() {
    JsonObject requested =
        JsonObject.builder()
            .put("type", "tool-search")
            .put("toolCallId", "c1")
            .put("state", "approval-requested")
            .put("input", JsonObject.builder().put("q", "x").build())
            .put("approval", JsonObject.builder().put("id", "ap1").build())
            .build();
    JsonObject finished =
        JsonObject.builder()
            .put("type", "tool-search")
            .put("toolCallId", "c2")
            .put("state", "output-available")
            .put("output", JsonValue.of(1))
            .build();
    UIMessage existing = UIMessage.of("a1", "assistant", List.of(requested, finished));
    UIMessage incoming =
        UIMessage.of(
            "a1",
            "assistant",
            List.of(
                requested
                    .with("state", JsonValue.of("approval-responded"))
                    .with("input", JsonValue.of("tampered"))
                    .with(
                        "approval",
                        JsonObject.builder().put("id", "ap1").put("approved", true).build()),
                finished.with("state", JsonValue.of("input-available")).without("output")));

    UIMessage merged = MessageMerge.advance(existing, incoming);

    assertThat(merged.parts().get(0))
        .isEqualTo(
            requested
                .with("state", JsonValue.of("approval-responded"))
                .with(
                    "approval",
                    JsonObject.builder().put("id", "ap1").put("approved", true).build()));
    assertThat(merged.parts().get(1)).isEqualTo(finished);
  }

  @Test
  @DisplayName(
      "regenerate-message removes the trailing assistant reply before the new one is folded (H6)")
  void regenerate() {
    ChatHistory history = ChatHistory.of(chat);
    var messages = new ArrayList<UIMessage>();
    turn(history, messages, 1);
    long in =
        chat.appendIn(
                CHAT,
                new InEvent.Message(
                    WirePayload.of(CHAT, dev.durablechat.api.Trigger.REGENERATE_MESSAGE)),
                null)
            .eventId();
    reply(runId, "a1b", "again");
    chat.appendOut(CHAT, runId, new OutEvent.TurnComplete(in));

    ChatHistory.Rebuilt rebuilt = ChatHistory.of(chat).rebuild(CHAT);

    assertThat(rebuilt.messages())
        .containsExactly(UIMessage.userText("u1", "q1"), answer("a1b", "again"));
  }

  @Test
  @DisplayName(
      "an edited user message replaces the snapshot's message of its id and drops what followed"
          + " it, as the AI SDK's sendMessage({messageId}) does (H3, H6)")
  void mergeById() {
    ChatHistory history = ChatHistory.of(chat);
    var messages = new ArrayList<UIMessage>();
    turn(history, messages, 1);
    turn(history, messages, 2);
    // the client sends u1 again, edited; the reply names a new message
    long in = submit("u1", "q1 edited");
    reply(runId, "a3", "r3");
    chat.appendOut(CHAT, runId, new OutEvent.TurnComplete(in));

    ChatHistory.Rebuilt rebuilt = ChatHistory.of(chat).rebuild(CHAT);

    assertThat(rebuilt.source().fromSnapshot()).isTrue();
    assertThat(rebuilt.messages())
        .containsExactly(UIMessage.userText("u1", "q1 edited"), answer("a3", "r3"));
    assertThat(replayedWithoutSnapshot().messages()).isEqualTo(rebuilt.messages());
  }

  @Test
  @DisplayName(
      "a chunk that cannot be folded is skipped, the rest of the turn is kept, and every rebuild"
          + " agrees (F3)")
  void unfoldableChunkSkipped() {
    ChatHistory history = ChatHistory.of(chat);
    var messages = new ArrayList<UIMessage>();
    turn(history, messages, 1);
    long in = submit("u2", "q2");
    chunks(
        runId,
        "{\"type\":\"start\",\"messageId\":\"a2\"}",
        "{\"type\":\"text-delta\",\"id\":\"nope\",\"delta\":\"lost\"}",
        "{\"type\":\"text-start\",\"id\":\"t\"}",
        "{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"kept\"}",
        "{\"type\":\"text-end\",\"id\":\"t\"}",
        "{\"type\":\"finish\"}");
    chat.appendOut(CHAT, runId, new OutEvent.TurnComplete(in));

    ChatHistory.Rebuilt rebuilt = ChatHistory.of(chat).rebuild(CHAT);

    assertThat(rebuilt.messages().get(rebuilt.messages().size() - 1))
        .isEqualTo(answer("a2", "kept"));
    assertThat(replayedWithoutSnapshot().messages()).isEqualTo(rebuilt.messages());
  }
}
