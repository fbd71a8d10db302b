package dev.durablechat.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.Environment;
import dev.durablechat.api.InvalidInputException;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.Snapshot;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.spi.StoredSnapshot;
import dev.durablechat.core.internal.SnapshotCodec;
import dev.durablechat.core.internal.SnapshotManifest;
import dev.durablechat.storage.memory.MemorySessionStore;
import dev.durablechat.storage.memory.MemorySnapshotStore;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Segmented snapshots: a manifest in snapshot.json and immutable segments (H1, S11)")
class SegmentedSnapshotsTest {
  private static final Environment ENV = new Environment("proj", "seg");
  private static final String CHAT = "chat-seg";

  private final MemorySessionStore store = new MemorySessionStore();
  private final CountingSnapshotStore snapshots =
      new CountingSnapshotStore(new MemorySnapshotStore());
  private final DurableChat chat =
      DurableChat.builder().environment(ENV).sessionStore(store).snapshotStore(snapshots).build();
  private final String sessionId =
      chat.createSession(CreateSessionRequest.builder("agent").externalId(CHAT).build())
          .session()
          .friendlyId();
  private final String runId = chat.ensureRun(CHAT, RunReason.INITIAL).run().runId();
  private final SnapshotKey key = new SnapshotKey(ENV, sessionId);

  @AfterEach
  void close() {
    chat.close();
    store.close();
    snapshots.close();
  }

  // ------------------------------------------------------------------------------------ helpers

  private static UIMessage user(int n, String text) {
    return UIMessage.userText("u" + n, text);
  }

  private static UIMessage assistant(String id, String text, String state) {
    return UIMessage.of(
        id,
        "assistant",
        List.of(
            JsonObject.builder().put("type", "text").put("text", text).put("state", "done").build(),
            JsonObject.builder()
                .put("type", "tool-search")
                .put("toolCallId", "call-" + id)
                .put("state", state)
                .put("input", JsonObject.builder().put("query", text).build())
                .build()));
  }

  private static String words(Random rnd, int n) {
    var text = new StringBuilder();
    for (int i = 0; i < n; i++) {
      text.append("word").append(rnd.nextInt(1000)).append(' ');
    }
    return text.toString();
  }

  private ChatHistory.TurnCompleted complete(ChatHistory history, List<UIMessage> messages) {
    return history.completeTurn(CHAT, runId, List.copyOf(messages), 0);
  }

  private SnapshotManifest manifest() {
    byte[] content = snapshots.delegate.read(key).orElseThrow().content();
    assertThat(SnapshotManifest.isManifest(content)).as("snapshot.json is a manifest").isTrue();
    return SnapshotManifest.decode(content);
  }

  /** The history a rebuild from one full (version 1) snapshot of the same history gives. */
  private List<UIMessage> rebuiltFromFullSnapshot() {
    Snapshot assembled =
        new SegmentedSnapshots(snapshots.delegate).read(key).orElseThrow().snapshot();
    try (var full = new MemorySnapshotStore();
        var other =
            DurableChat.builder()
                .environment(ENV)
                .sessionStore(store)
                .snapshotStore(full)
                .build()) {
      full.write(key, SnapshotCodec.encode(assembled), null);
      ChatHistory.Rebuilt rebuilt = ChatHistory.of(other).rebuild(CHAT);
      assertThat(rebuilt.source().fromSnapshot()).isTrue();
      return rebuilt.messages();
    }
  }

  private long bytesOfSegments(SnapshotManifest m) {
    return m.segments().stream().mapToLong(SnapshotManifest.Segment::bytes).sum();
  }

  // -------------------------------------------------------------------------------------- tests

  @Test
  @DisplayName(
      "H1: each turn writes its own messages as a delta and a small manifest; over 300 turns the"
          + " bytes written stay within 5x the messages' own bytes and the manifest names few"
          + " segments")
  void turnsWriteDeltas() {
    ChatHistory history = ChatHistory.of(chat);
    var messages = new ArrayList<UIMessage>();
    var rnd = new Random(17);
    long messageBytes = 0;
    for (int t = 1; t <= 300; t++) {
      UIMessage u = user(t, words(rnd, 10));
      UIMessage a = assistant("a" + t, words(rnd, 40), "output-available");
      messages.add(u);
      messages.add(a);
      messageBytes +=
          SnapshotCodec.encode(new Snapshot(1, Instant.EPOCH, List.of(u, a), 0, 0)).length;
      assertThat(complete(history, messages).snapshotWritten()).isTrue();
    }

    long full = SnapshotCodec.encode(new Snapshot(1, Instant.EPOCH, messages, 0, 0)).length;
    assertThat(snapshots.bytesWritten.get())
        .as("bytes written to the store (a full rewrite per turn would be ~150x the history)")
        .isLessThan(5 * messageBytes)
        .isLessThan(5 * full);
    SnapshotManifest m = manifest();
    assertThat(m.segments().size()).as("segments named").isLessThanOrEqualTo(40);
    assertThat(snapshots.stored())
        .as("nothing but the manifest and its segments is stored")
        .hasSize(m.segments().size() + 1);
    assertThat(ChatHistory.of(chat).rebuild(CHAT).messages()).isEqualTo(messages);
    assertThat(rebuiltFromFullSnapshot()).isEqualTo(messages);
  }

  @Test
  @DisplayName(
      "H1, H3, H6: with edits, regenerations and old tool calls advanced in place, the rebuild from"
          + " manifest + deltas equals the history written and the rebuild from one full snapshot,"
          + " and parses at most 1.5x that snapshot's bytes")
  void differentialAgainstAFullSnapshot() {
    ChatHistory history = ChatHistory.of(chat);
    var rnd = new Random(20261201L);
    var messages = new ArrayList<UIMessage>();
    int next = 0;
    int bases = 0;
    int deltas = 0;
    int indexed = 0;
    for (int step = 0; step < 400; step++) {
      int op = messages.size() < 4 ? 0 : rnd.nextInt(10);
      if (op <= 5) { // a new turn
        next++;
        messages.add(user(next, words(rnd, 1 + rnd.nextInt(20))));
        messages.add(assistant("a" + next, words(rnd, 1 + rnd.nextInt(60)), "input-available"));
      } else if (op == 6) { // regenerate (H6): the last reply replaced
        UIMessage last = messages.remove(messages.size() - 1);
        messages.add(assistant(last.id() + "r", words(rnd, 5), "output-available"));
      } else if (op == 7) { // edit a user message: the history truncated after it
        int at = rnd.nextInt(messages.size() / 2) * 2;
        messages.subList(at, messages.size()).clear();
        next++;
        messages.add(user(next, "edited " + words(rnd, 3)));
      } else if (op == 8) { // a tool call of an old reply advanced in place (H3)
        int at = 1 + rnd.nextInt(messages.size() / 2) * 2;
        if (at < messages.size()) {
          UIMessage old = messages.get(at);
          messages.set(at, assistant(old.id(), "advanced " + step, "output-available"));
        }
      } // op 9: nothing changed, only the watermark moves
      assertThat(complete(history, messages).snapshotWritten()).isTrue();
      SnapshotManifest m = manifest();
      bases += m.segments().size() == 1 ? 1 : 0;
      deltas += m.segments().size() > 1 ? 1 : 0;
      if (step % 10 == 9) {
        ChatHistory.Rebuilt rebuilt = ChatHistory.of(chat).rebuild(CHAT);
        assertThat(rebuilt.source().fromSnapshot()).isTrue();
        assertThat(rebuilt.messages()).as("step %s", step).isEqualTo(messages);
        assertThat(rebuiltFromFullSnapshot()).isEqualTo(messages);
        for (SnapshotManifest.Segment s : m.segments()) {
          byte[] content =
              snapshots.delegate.read(key.withSegment(s.name())).orElseThrow().content();
          assertThat((long) content.length).as("segment [%s] size", s.name()).isEqualTo(s.bytes());
          indexed +=
              new String(content, StandardCharsets.UTF_8).contains("\"messageIndex\"") ? 1 : 0;
        }
        long full = SnapshotCodec.encode(new Snapshot(1, Instant.EPOCH, messages, 0, 0)).length;
        // 1.5x by the live-bytes estimate, plus each segment's own small header.
        assertThat(bytesOfSegments(m))
            .as("segment bytes parsed by a rebuild at step %s", step)
            .isLessThanOrEqualTo((long) (1.5 * full) + 120L * m.segments().size());
      }
    }
    assertThat(indexed).as("segments read through their message index").isPositive();
    assertThat(bases).as("manifests with only a base").isPositive();
    assertThat(deltas).as("manifests with deltas").isGreaterThan(bases);
    assertThat(snapshots.stored()).hasSize(manifest().segments().size() + 1);
  }

  @Test
  @DisplayName(
      "invariant 8: a stale writer never moves the watermark back, and deletes the segment it wrote")
  void staleWriterNeverMovesTheWatermarkBack() {
    ChatHistory a = ChatHistory.of(chat);
    var messages = new ArrayList<UIMessage>(List.of(user(1, "one")));
    complete(a, messages);
    ChatHistory b = ChatHistory.of(chat);
    var bMessages = new ArrayList<>(b.rebuild(CHAT).messages());
    long aTurn =
        chat.appendOut(CHAT, runId, new dev.durablechat.api.OutEvent.TurnComplete(0)).eventId();
    bMessages.add(user(3, "three"));
    ChatHistory.TurnCompleted t3 = complete(b, bMessages);
    List<SnapshotKey> before = snapshots.stored();

    messages.add(user(2, "two"));
    boolean written = a.writeSnapshot(sessionId, messages, aTurn, 0);

    assertThat(written).isFalse();
    assertThat(manifest().lastOutEventId()).isEqualTo(t3.turnCompleteEventId());
    assertThat(ChatHistory.of(chat).rebuild(CHAT).messages()).isEqualTo(bMessages);
    assertThat(snapshots.stored()).as("the stale writer's segment is gone").isEqualTo(before);
  }

  @Test
  @DisplayName(
      "H1: messages rebuilt from segments read through their index equal the history written, and"
          + " stay whole (parts, text, bytes) after every stored object of the session is gone")
  void indexedSegmentsOutliveTheirObjects() {
    ChatHistory history = ChatHistory.of(chat);
    var rnd = new Random(3);
    var messages = new ArrayList<UIMessage>();
    for (int t = 1; t <= 30; t++) {
      messages.add(user(t, words(rnd, 20)));
      messages.add(assistant("a" + t, words(rnd, 200), "output-available"));
      complete(history, messages);
    }
    byte[] base =
        snapshots
            .delegate
            .read(key.withSegment(manifest().segments().get(0).name()))
            .orElseThrow()
            .content();
    assertThat(new String(base, StandardCharsets.UTF_8)).contains("\"messageIndex\"");

    List<UIMessage> rebuilt = ChatHistory.of(chat).rebuild(CHAT).messages();
    chat.deleteSession(CHAT);

    assertThat(snapshots.stored()).isEmpty();
    assertThat(rebuilt).isEqualTo(messages);
    for (int i = 0; i < messages.size(); i++) {
      assertThat(rebuilt.get(i).parts()).isEqualTo(messages.get(i).parts());
      assertThat(rebuilt.get(i).toJsonBytes()).isEqualTo(messages.get(i).toJsonBytes());
      assertThat(rebuilt.get(i).hashCode()).isEqualTo(messages.get(i).hashCode());
    }
  }

  @Test
  @DisplayName(
      "H1: a crash between the segment write and the manifest's leaves the previous snapshot"
          + " readable; the next turn writes again, and the orphan goes with the session (S11)")
  void crashBetweenSegmentAndManifest() {
    ChatHistory history = ChatHistory.of(chat);
    var messages = new ArrayList<UIMessage>(List.of(user(1, "one")));
    long t1 = complete(history, messages).turnCompleteEventId();
    messages.add(user(2, "two"));
    snapshots.failSnapshotJsonWrites = true;

    ChatHistory.TurnCompleted t2 = complete(history, messages);

    snapshots.failSnapshotJsonWrites = false;
    assertThat(t2.snapshotWritten()).isFalse();
    assertThat(manifest().lastOutEventId()).isEqualTo(t1);
    assertThat(snapshots.stored()).as("manifest, its base and the orphan").hasSize(3);
    ChatHistory.Rebuilt rebuilt = ChatHistory.of(chat).rebuild(CHAT);
    assertThat(rebuilt.source().fromSnapshot()).isTrue();
    assertThat(rebuilt.source().snapshotOutEventId()).isEqualTo(t1);

    messages.add(user(3, "three"));
    assertThat(complete(history, messages).snapshotWritten()).isTrue();
    assertThat(ChatHistory.of(chat).rebuild(CHAT).messages()).isEqualTo(messages);

    chat.deleteSession(CHAT);
    assertThat(snapshots.stored()).as("no object of the session is left").isEmpty();
  }

  @Test
  @DisplayName(
      "H1: a version 1 snapshot (the seed's layout) is read as it is, and replaced by a manifest"
          + " and a base at the next write")
  void versionOneIsReadAndUpgraded() {
    var messages = new ArrayList<UIMessage>(List.of(user(1, "one")));
    long t1 =
        chat.appendOut(CHAT, runId, new dev.durablechat.api.OutEvent.TurnComplete(0)).eventId();
    snapshots.delegate.write(
        key, SnapshotCodec.encode(new Snapshot(1, Instant.EPOCH, messages, t1, 0)), null);
    ChatHistory history = ChatHistory.of(chat);

    ChatHistory.Rebuilt rebuilt = history.rebuild(CHAT);

    assertThat(rebuilt.source().fromSnapshot()).isTrue();
    assertThat(rebuilt.messages()).isEqualTo(messages);
    messages.add(user(2, "two"));
    assertThat(complete(history, messages).snapshotWritten()).isTrue();
    SnapshotManifest m = manifest();
    assertThat(m.segments()).hasSize(1);
    assertThat(m.segments().get(0).tier()).isEqualTo(SegmentedSnapshots.TIER_BASE);
    assertThat(ChatHistory.of(chat).rebuild(CHAT).messages()).isEqualTo(messages);
  }

  @Test
  @DisplayName(
      "S11: deleting the session deletes the manifest and every segment; a delete the store"
          + " refused is finished by the retention sweep")
  void deletionRemovesEverySegment() {
    ChatHistory history = ChatHistory.of(chat);
    var messages = new ArrayList<UIMessage>();
    for (int t = 1; t <= 12; t++) {
      messages.add(user(t, "q" + t));
      complete(history, messages);
    }
    assertThat(manifest().segments().size()).isGreaterThan(1);
    snapshots.failDeletes = true;

    chat.deleteSession(CHAT);

    assertThat(snapshots.stored()).as("kept while the store refuses").isNotEmpty();
    snapshots.failDeletes = false;
    assertThat(chat.sweepRetention().snapshotsDeleted()).isEqualTo(1);
    assertThat(snapshots.stored()).isEmpty();
  }

  @Test
  @DisplayName(
      "H1 migration back: compactSnapshot rewrites the manifest as one version 1 document that the"
          + " version 1 reader reads, and deletes the segments; a full snapshot is left as it is")
  void compaction() {
    ChatHistory history = ChatHistory.of(chat);
    var messages = new ArrayList<UIMessage>();
    for (int t = 1; t <= 20; t++) {
      messages.add(user(t, "q" + t));
      complete(history, messages);
    }
    long watermark = manifest().lastOutEventId();

    assertThat(ChatHistory.compactSnapshot(snapshots, key)).isTrue();

    StoredSnapshot stored = snapshots.delegate.read(key).orElseThrow();
    Snapshot v1 = SnapshotCodec.decode(stored.content());
    assertThat(v1.version()).isEqualTo(1);
    assertThat(v1.messages()).isEqualTo(messages);
    assertThat(v1.lastOutEventId()).isEqualTo(watermark);
    assertThat(snapshots.stored()).containsExactly(key);
    assertThat(ChatHistory.compactSnapshot(snapshots, key)).as("already full").isFalse();
    assertThat(ChatHistory.of(chat).rebuild(CHAT).messages()).isEqualTo(messages);
    assertThatThrownBy(() -> ChatHistory.compactSnapshot(snapshots, key.withSegment("x")))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("segment");
  }

  @Test
  @DisplayName("the policy: dead deltas are dropped and live bytes follow truncations")
  void policyHelpers() {
    var base = new SnapshotManifest.Segment("b", 0, 10, 1000, 2);
    var d1 = new SnapshotManifest.Segment("d1", 10, 2, 200, 0);
    var d2 = new SnapshotManifest.Segment("d2", 8, 4, 400, 0);

    assertThat(SegmentedSnapshots.dropDead(List.of(base, d1, d2), 12))
        .as("d1 starts after d2's truncation point")
        .containsExactly(base, d2);
    assertThat(SegmentedSnapshots.dropDead(List.of(base, d1, d2), 5)).containsExactly(base);
    assertThat(SegmentedSnapshots.liveEnds(List.of(base, d1, d2)))
        .as("d2 cut the base at 8 and d1 entirely")
        .containsEntry("b", 8)
        .containsEntry("d1", 10)
        .containsEntry("d2", 12);
    assertThat(SegmentedSnapshots.liveBytes(List.of(base.plusDead(150), d2)))
        .isEqualTo(850.0 + 400.0);
    assertThat(
            MessagePrints.firstDifference(
                MessagePrints.of(List.of(user(1, "a"), user(2, "Aa"))),
                MessagePrints.of(List.of(user(1, "a"), user(2, "BB")))))
        .as("equal objects print alike; \"Aa\" and \"BB\" share a String hashCode, not a print")
        .isEqualTo(1);
    assertThat(
            MessagePrints.firstDifference(
                MessagePrints.of(List.of(user(1, "a"))),
                MessagePrints.of(List.of(user(1, "a"), user(2, "b")))))
        .isEqualTo(1);
  }
}
