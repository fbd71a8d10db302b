package dev.durablechat.storage.s3;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.Environment;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonNumber;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.api.WirePayload;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoreConfig;
import dev.durablechat.core.ChatHistory;
import dev.durablechat.core.CreateSessionRequest;
import dev.durablechat.core.DurableChat;
import dev.durablechat.core.EnsuredRun;
import dev.durablechat.core.fold.ChunkFold;
import dev.durablechat.storage.jdbc.JdbcStores;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The engine end to end: sessions and streams in an H2 file database, snapshots in an S3 bucket
 * (s3proxy in-process), history through {@link ChatHistory} as a runtime would use it.
 */
@DisplayName("End to end: engine on H2 with snapshots on S3")
class S3EndToEndTest {
  private static final Environment ENV = new Environment("proj_e2e", "dev");
  private static final String CHAT = "chat-e2e";

  @TempDir Path dir;

  private S3Server server;
  private S3Client admin;
  private String bucket;
  private SessionStore sessions;
  private S3SnapshotStore snapshots;
  private DurableChat chat;
  private String sessionId;

  @BeforeEach
  void start() {
    server = S3Server.start();
    admin = server.client();
    bucket = server.newBucket(admin);
    sessions = JdbcStores.openSessionStore(StoreConfig.of("jdbc:h2:file:" + dir.resolve("chat")));
    // Opened the way an operator configures it, so it has the provider's timeouts and retries.
    snapshots =
        new S3SnapshotStoreProvider(server.minioEnvironment(bucket)).open(StoreConfig.of("s3:"));
    chat =
        DurableChat.builder()
            .environment(ENV)
            .sessionStore(sessions)
            .snapshotStore(snapshots)
            .build();
    sessionId =
        chat.createSession(CreateSessionRequest.builder("agent").externalId(CHAT).build())
            .session()
            .friendlyId();
  }

  @AfterEach
  void stop() {
    chat.close();
    snapshots.close();
    sessions.close();
    admin.close();
    server.close();
  }

  // ------------------------------------------------------------------------------------ helpers

  /** A user message the test sent, and its {@code in} event id. */
  private record Sent(long eventId, UIMessage message) {}

  /** The user sends a message: a submit-message record on {@code in}. */
  private Sent send(String id, String text) {
    UIMessage message = UIMessage.userText(id, text);
    long eventId =
        chat.appendIn(CHAT, new InEvent.Message(WirePayload.submit(CHAT, message)), null).eventId();
    return new Sent(eventId, message);
  }

  /**
   * The agent streams a reply with text and a tool call (input, then output) on {@code out}, and
   * returns the message it holds afterwards, folded from the same chunks as an AI SDK client would.
   */
  private UIMessage reply(String runId, String messageId, String text) {
    String call = "call-" + messageId;
    var chunks =
        List.of(
            "{\"type\":\"start\",\"messageId\":\"" + messageId + "\"}",
            "{\"type\":\"start-step\"}",
            "{\"type\":\"tool-input-start\",\"toolCallId\":\""
                + call
                + "\",\"toolName\":\"search\"}",
            "{\"type\":\"tool-input-delta\",\"toolCallId\":\""
                + call
                + "\","
                + "\"inputTextDelta\":\"{\\\"q\\\":\\\""
                + text
                + "\\\"}\"}",
            "{\"type\":\"tool-input-available\",\"toolCallId\":\""
                + call
                + "\","
                + "\"toolName\":\"search\",\"input\":{\"q\":\""
                + text
                + "\"}}",
            "{\"type\":\"tool-output-available\",\"toolCallId\":\""
                + call
                + "\","
                + "\"output\":{\"hits\":[\""
                + text
                + "-hit\"]}}",
            "{\"type\":\"finish-step\"}",
            "{\"type\":\"start-step\"}",
            "{\"type\":\"text-start\",\"id\":\"t\"}",
            "{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"about \"}",
            "{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"" + text + "\"}",
            "{\"type\":\"text-end\",\"id\":\"t\"}",
            "{\"type\":\"finish-step\"}",
            "{\"type\":\"finish\"}");
    var parsed = new ArrayList<UIMessageChunk>();
    var events = new ArrayList<OutEvent>();
    for (String json : chunks) {
      UIMessageChunk chunk = UIMessageChunk.parse(json);
      parsed.add(chunk);
      events.add(OutEvent.Chunk.of(chunk));
    }
    chat.appendOut(CHAT, runId, events);
    List<UIMessage> folded = ChunkFold.foldTail(parsed);
    assertThat(folded).hasSize(1);
    return folded.get(0);
  }

  /** One whole turn: the user's message, the agent's reply, then {@code completeTurn}. */
  private ChatHistory.TurnCompleted turn(
      ChatHistory history, String runId, List<UIMessage> messages, int n) {
    Sent in = send("u" + n, "question " + n);
    messages.add(in.message());
    messages.add(reply(runId, "a" + n, "topic" + n));
    return history.completeTurn(CHAT, runId, messages, in.eventId());
  }

  private String objectKey() {
    return "packets/"
        + ENV.projectRef()
        + "/"
        + ENV.envSlug()
        + "/sessions/"
        + sessionId
        + "/snapshot.json";
  }

  /** The snapshot object as it is in the bucket, read with the S3 client. */
  private JsonObject storedSnapshot() {
    byte[] bytes = admin.getObjectAsBytes(b -> b.bucket(bucket).key(objectKey())).asByteArray();
    return Json.parseObject(new String(bytes, StandardCharsets.UTF_8));
  }

  private static long number(JsonObject o, String name) {
    return ((JsonNumber) o.get(name)).longValue();
  }

  /** The history replayed from event 0, with no snapshot store at all. */
  private List<UIMessage> replayedFromTheStart() {
    try (var bare = DurableChat.builder().environment(ENV).sessionStore(sessions).build()) {
      ChatHistory.Rebuilt rebuilt = ChatHistory.of(bare).rebuild(CHAT);
      assertThat(rebuilt.source().fromSnapshot()).isFalse();
      return rebuilt.messages();
    }
  }

  // ------------------------------------------------------------------------------------ tests

  @Test
  @DisplayName(
      "seed's check: idle out a run, send another message; the new run reads the snapshot from"
          + " S3, replays the tail and continues seamlessly (H1, H2, H3)")
  void idleOutAndContinue() {
    EnsuredRun first = chat.ensureRun(CHAT, RunReason.INITIAL);
    assertThat(first.started()).isTrue();
    assertThat(first.run().reason()).isEqualTo(RunReason.INITIAL);
    String runA = first.run().runId();

    ChatHistory history = ChatHistory.of(chat);
    var messages = new ArrayList<UIMessage>();
    ChatHistory.TurnCompleted last = null;
    for (int n = 1; n <= 3; n++) {
      last = turn(history, runA, messages, n);
      assertThat(last.snapshotWritten()).as("snapshot of turn %s", n).isTrue();
    }

    // H1: snapshot.json at the seed's key, at the last turn-complete; ours is a manifest (version
    // 2) naming segment objects beside it, which assemble into the history.
    JsonObject snapshot = storedSnapshot();
    long watermark = number(snapshot, "lastOutEventId");
    assertThat(number(snapshot, "version")).isEqualTo(2);
    assertThat(watermark).isEqualTo(last.turnCompleteEventId());
    assertThat(ChatHistory.readSnapshot(snapshots, new SnapshotKey(ENV, sessionId)))
        .hasValueSatisfying(s -> assertThat(s.messages()).isEqualTo(messages));
    assertThat(new SnapshotKey(ENV, sessionId).path()).isEqualTo(objectKey());
    List<UIMessage> beforeIdle = List.copyOf(messages);

    // The run idles out; later the user sends another message and a new run is claimed.
    chat.endRun(CHAT, runA, "idle");
    Sent next = send("u4", "question 4");
    EnsuredRun second = chat.ensureRun(CHAT, RunReason.INITIAL);
    assertThat(second.started()).isTrue();
    SessionRun runB = second.run();
    assertThat(runB.reason()).isEqualTo(RunReason.CONTINUATION);
    assertThat(runB.previousRunId()).isEqualTo(runA);
    assertThat(chat.runs(CHAT))
        .filteredOn(r -> r.runId().equals(runA))
        .singleElement()
        .extracting(SessionRun::endReason)
        .isEqualTo("idle");

    // A new process has a fresh ChatHistory: it knows nothing but what S3 and H2 hold (H2).
    ChatHistory fresh = ChatHistory.of(chat);
    ChatHistory.Rebuilt boot = fresh.rebuild(CHAT);
    assertThat(boot.source().fromSnapshot()).isTrue();
    assertThat(boot.source().snapshotOutEventId()).isEqualTo(watermark);
    assertThat(boot.source().snapshotProblem()).isNull();
    assertThat(boot.messages()).isEqualTo(beforeIdle);
    assertThat(boot.partialReply()).isFalse();
    assertThat(boot.pending())
        .singleElement()
        .satisfies(
            p -> {
              assertThat(p.eventId()).isEqualTo(next.eventId());
              assertThat(p.event().payload().message().id()).isEqualTo("u4");
            });

    // The continuation run answers the pending message (merged by id, H3) and completes the turn.
    var continued = new ArrayList<>(boot.messages());
    continued.add(boot.pending().get(0).event().payload().message());
    continued.add(reply(runB.runId(), "a4", "topic4"));
    ChatHistory.TurnCompleted done =
        fresh.completeTurn(CHAT, runB.runId(), continued, next.eventId());
    assertThat(done.snapshotWritten()).isTrue();

    JsonObject moved = storedSnapshot();
    assertThat(number(moved, "lastOutEventId"))
        .isGreaterThan(watermark)
        .isEqualTo(done.turnCompleteEventId());
    assertThat(number(moved, "lastInEventId")).isEqualTo(next.eventId());

    // Seamless: the next boot sees all four turns once, the same as a replay from event 0.
    ChatHistory.Rebuilt after = ChatHistory.of(chat).rebuild(CHAT);
    assertThat(after.source().fromSnapshot()).isTrue();
    assertThat(after.messages()).isEqualTo(continued).hasSize(8);
    assertThat(after.messages()).extracting(UIMessage::id).doesNotHaveDuplicates();
    assertThat(after.pending()).isEmpty();
    assertThat(replayedFromTheStart()).isEqualTo(continued);
  }

  @Test
  @DisplayName(
      "S3 stopped mid-run: the turn completes without a snapshot, a rebuild replays the stream,"
          + " and after a restart the next turn writes the snapshot again (H1, H2)")
  void s3StoppedMidRun() {
    String run = chat.ensureRun(CHAT, RunReason.INITIAL).run().runId();
    ChatHistory history = ChatHistory.of(chat);
    var messages = new ArrayList<UIMessage>();
    turn(history, run, messages, 1);
    ChatHistory.TurnCompleted second = turn(history, run, messages, 2);
    assertThat(second.snapshotWritten()).isTrue();
    long watermark = second.turnCompleteEventId();

    server.stop();
    ChatHistory.TurnCompleted third = turn(history, run, messages, 3);
    assertThat(third.snapshotWritten()).isFalse();
    List<StreamRecord<OutEvent>> out = chat.readOut(CHAT, watermark, 1000);
    assertThat(out.get(out.size() - 1).eventId()).isEqualTo(third.turnCompleteEventId());
    assertThat(out.get(out.size() - 1).event()).isInstanceOf(OutEvent.TurnComplete.class);

    // The snapshot read fails: the rebuild falls back to replaying out from the start.
    ChatHistory bootedWhileDown = ChatHistory.of(chat);
    ChatHistory.Rebuilt whileDown = bootedWhileDown.rebuild(CHAT);
    assertThat(whileDown.source().fromSnapshot()).isFalse();
    assertThat(whileDown.source().snapshotProblem()).contains("snapshot read failed");
    assertThat(whileDown.messages()).isEqualTo(messages).hasSize(6);
    assertThat(whileDown.pending()).isEmpty();
    assertThat(whileDown.lastOutEventId()).isEqualTo(third.turnCompleteEventId());

    server.restart();
    // Back up, the snapshot is stale (turn 2): the tail after it replays turn 3.
    ChatHistory.Rebuilt stale = ChatHistory.of(chat).rebuild(CHAT);
    assertThat(stale.source().fromSnapshot()).isTrue();
    assertThat(stale.source().snapshotOutEventId()).isEqualTo(watermark);
    assertThat(stale.source().outRecordsReplayed()).isPositive();
    assertThat(stale.messages()).isEqualTo(messages);

    // The same process's next turn writes again, over the version it last wrote.
    ChatHistory.TurnCompleted fourth = turn(history, run, messages, 4);
    assertThat(fourth.snapshotWritten()).isTrue();
    assertThat(number(storedSnapshot(), "lastOutEventId")).isEqualTo(fourth.turnCompleteEventId());
    // A history that booted while S3 was down knows no version: its first write conflicts,
    // re-reads, finds an older watermark and replaces it (invariant 8).
    ChatHistory.TurnCompleted fifth = turn(bootedWhileDown, run, messages, 5);
    assertThat(fifth.snapshotWritten()).isTrue();
    ChatHistory.Rebuilt after = ChatHistory.of(chat).rebuild(CHAT);
    assertThat(after.source().snapshotOutEventId()).isEqualTo(fifth.turnCompleteEventId());
    assertThat(after.messages()).isEqualTo(messages).hasSize(10);
    assertThat(replayedFromTheStart()).isEqualTo(messages);
  }
}
