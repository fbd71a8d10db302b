package dev.durablechat.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.Environment;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.api.WirePayload;
import dev.durablechat.storage.memory.MemorySessionStore;
import dev.durablechat.storage.memory.MemorySnapshotStore;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("A replay folds each reply as the client read it, and the engine has one history")
class ReplaySegmentsTest {
  private static final String CHAT = "chat-1";

  private final MemorySessionStore store = new MemorySessionStore();
  private final MemorySnapshotStore snapshots = new MemorySnapshotStore();
  private final DurableChat chat =
      DurableChat.builder()
          .environment(new Environment("proj", "replay"))
          .sessionStore(store)
          .snapshotStore(snapshots)
          .build();
  private final String runId;

  ReplaySegmentsTest() {
    chat.createSession(CreateSessionRequest.builder("agent").externalId(CHAT).build());
    runId = chat.ensureRun(CHAT, RunReason.INITIAL).run().runId();
  }

  @AfterEach
  void close() {
    chat.close();
    store.close();
    snapshots.close();
  }

  private long submit(String id, String text) {
    return chat.appendIn(
            CHAT, new InEvent.Message(WirePayload.submit(CHAT, UIMessage.userText(id, text))), null)
        .eventId();
  }

  private void out(String... json) {
    var events = new ArrayList<OutEvent>();
    for (String j : json) {
      events.add(OutEvent.Chunk.of(UIMessageChunk.parse(j)));
    }
    chat.appendOut(CHAT, runId, events);
  }

  private void text(String id, String text) {
    out(
        "{\"type\":\"text-start\",\"id\":\"" + id + "\"}",
        "{\"type\":\"text-delta\",\"id\":\"" + id + "\",\"delta\":\"" + text + "\"}",
        "{\"type\":\"text-end\",\"id\":\"" + id + "\"}");
  }

  @Test
  @DisplayName(
      "a reply whose start names no id continues the assistant message before it (F2), in one"
          + " turn as across a finish")
  void startWithoutIdContinues() {
    long in = submit("u1", "q1");
    out("{\"type\":\"start\",\"messageId\":\"a1\"}");
    text("t1", "one ");
    out("{\"type\":\"finish\"}", "{\"type\":\"start\"}");
    text("t2", "two");
    out("{\"type\":\"finish\"}");
    chat.appendOut(CHAT, runId, new OutEvent.TurnComplete(in));

    List<UIMessage> messages = chat.history().rebuild(CHAT).messages();

    assertThat(messages).extracting(UIMessage::id).containsExactly("u1", "a1");
    assertThat(messages.get(1).text()).isEqualTo("one two");
  }

  @Test
  @DisplayName(
      "a reply that names an older message starts it over, as readUIMessageStream given the last"
          + " message does, and replaces it in place (H3)")
  void olderMessageStartsOver() {
    long in1 = submit("u1", "q1");
    out("{\"type\":\"start\",\"messageId\":\"a1\"}");
    text("t", "first");
    out("{\"type\":\"finish\"}");
    chat.appendOut(CHAT, runId, new OutEvent.TurnComplete(in1));
    long in2 = submit("u2", "q2");
    out("{\"type\":\"start\",\"messageId\":\"a1\"}");
    text("t", "second");
    out("{\"type\":\"finish\"}");
    chat.appendOut(CHAT, runId, new OutEvent.TurnComplete(in2));

    List<UIMessage> messages = chat.history().rebuild(CHAT).messages();

    assertThat(messages).extracting(UIMessage::id).containsExactly("u1", "a1", "u2");
    assertThat(messages.get(1).text()).isEqualTo("second");
  }

  @Test
  @DisplayName("the engine has one history; withRetention is the same history with retention (H5)")
  void oneHistoryPerEngine() {
    ChatHistory history = chat.history();
    assertThat(chat.history()).isSameAs(history);
    assertThat(history.withRetention(false)).isSameAs(history);
    ChatHistory retaining = history.withRetention(true);
    assertThat(retaining).isNotSameAs(history);
    assertThat(retaining.withRetention(true)).isSameAs(retaining);

    // What one learns of a session's snapshot the other knows: a snapshot written through one
    // is not written again through the other at the same watermark.
    long in = submit("u1", "q1");
    out("{\"type\":\"start\",\"messageId\":\"a1\"}");
    text("t", "one");
    out("{\"type\":\"finish\"}");
    var messages = List.of(UIMessage.userText("u1", "q1"));
    ChatHistory.TurnCompleted done = retaining.completeTurn(CHAT, runId, messages, in);
    assertThat(done.snapshotWritten()).isTrue();
    String sessionId = chat.session(CHAT).friendlyId();
    assertThat(history.writeSnapshot(sessionId, messages, done.turnCompleteEventId(), in))
        .isFalse();
  }
}
