package dev.durablechat.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.Environment;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonString;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.Trigger;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.api.WirePayload;
import dev.durablechat.storage.memory.MemorySessionStore;
import dev.durablechat.storage.memory.MemorySnapshotStore;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Generated chats: random turns of user messages, regenerations and tool approvals; replies with
 * steps, text, reasoning and tool calls (partial-JSON input deltas, outputs, errors, approvals,
 * denials), some aborted mid-reply; snapshot writes that randomly fail; and random cut points (the
 * stream cut after an {@code out} record, as a crash there). At every cut, the rebuild from
 * snapshot + tail must equal an oracle the generator keeps itself (it knows which messages it
 * produced), and the rebuild with no snapshot at all must equal it too.
 *
 * <p>Seeds are fixed by default so the build is reproducible; {@code -Dhistory.seed=N} runs other
 * ones, {@code -Dhistory.chats=N} more of them. A failure names the chat's seed.
 */
@DisplayName("History rebuild on generated chats (H1–H6, invariant 8)")
class HistoryPropertyTest {
  private static final Environment ENV = new Environment("proj", "prop");
  private static final String[] WORDS = {
    "hello", "world", "café", "\"quoted\"", "tab\t", "line\n", "😀", "weather", "ok", "<tag>", "\\"
  };

  private static MemorySessionStore store;
  private static CountingSnapshotStore snapshots;
  private static DurableChat chat;
  private static DurableChat bare;
  private static ChatHistory writer;
  private static ChatHistory reader;
  private static ChatHistory replayOnly;

  @BeforeAll
  static void open() {
    store = new MemorySessionStore();
    snapshots = new CountingSnapshotStore(new MemorySnapshotStore());
    chat =
        DurableChat.builder().environment(ENV).sessionStore(store).snapshotStore(snapshots).build();
    bare = DurableChat.builder().environment(ENV).sessionStore(store).build();
    writer = ChatHistory.of(chat);
    reader = ChatHistory.of(chat);
    replayOnly = ChatHistory.of(bare);
  }

  @AfterAll
  static void close() {
    chat.close();
    bare.close();
    store.close();
    snapshots.close();
  }

  @Test
  @DisplayName(
      "at every random cut, snapshot + tail equals the oracle and equals the replay with every"
          + " snapshot deleted")
  void generatedChats() {
    long base = Long.getLong("history.seed", 20261129L);
    int chats = Integer.getInteger("history.chats", 250);
    int cuts = 0;
    int partials = 0;
    int fromSnapshot = 0;
    for (int i = 0; i < chats; i++) {
      long seed = base + i;
      var sim = new Sim(seed);
      try {
        sim.run();
      } catch (AssertionError | RuntimeException e) {
        throw new AssertionError(
            "generated chat failed, seed [" + seed + "]: " + e.getMessage(), e);
      }
      cuts += sim.checks;
      partials += sim.partialChecks;
      fromSnapshot += sim.snapshotChecks;
    }
    // The generator must really reach the cases it is meant to cover.
    assertThat(cuts).isGreaterThan(chats * 3);
    assertThat(partials).isGreaterThan(chats);
    assertThat(fromSnapshot).isGreaterThan(chats);
  }

  /** One generated chat, checked at its cut points. */
  private static final class Sim {
    final long seed;
    final Random rnd;
    final String address;
    String runId = "";
    List<UIMessage> history = new ArrayList<>();
    long lastDispatched;
    long lastTurnComplete;
    final List<Long> pendingIds = new ArrayList<>();
    // the turn in progress
    InEvent.@Nullable Message turnRecord;
    @Nullable Reply reply;
    boolean anyChunk;
    int checks;
    int partialChecks;
    int snapshotChecks;

    Sim(long seed) {
      this.seed = seed;
      this.rnd = new Random(seed);
      this.address = "chat-" + seed;
    }

    void run() {
      chat.createSession(CreateSessionRequest.builder("agent").externalId(address).build());
      runId = chat.ensureRun(address, RunReason.INITIAL).run().runId();
      int turns = 1 + rnd.nextInt(8);
      for (int t = 1; t <= turns; t++) {
        turn(t);
      }
      check();
      String sessionId = chat.session(address).friendlyId();
      snapshots.delete(new SnapshotKey(ENV, sessionId));
      check();
    }

    void turn(int t) {
      UIMessage last = history.isEmpty() ? null : history.get(history.size() - 1);
      JsonObject approvalPart = last == null ? null : approvalRequested(last);
      InEvent.Message record;
      String replyId = "a" + t + "-" + seed;
      boolean continuing = false;
      boolean approved = rnd.nextBoolean();
      if (approvalPart != null && rnd.nextInt(3) > 0) {
        record = new InEvent.Message(WirePayload.submit(address, respond(last, approved)));
        replyId = last.id();
        continuing = true;
      } else if (last != null && last.role().equals("assistant") && rnd.nextInt(8) == 0) {
        record = new InEvent.Message(WirePayload.of(address, Trigger.REGENERATE_MESSAGE));
      } else {
        record =
            new InEvent.Message(
                WirePayload.submit(address, UIMessage.userText("u" + t + "-" + seed, words())));
      }
      long inId = chat.appendIn(address, record, null).eventId();
      pendingIds.add(inId);
      if (rnd.nextInt(6) == 0) {
        chat.appendIn(address, new InEvent.Stop(null), null); // not a turn: never pending
      }
      turnRecord = record;
      anyChunk = false;
      List<UIMessage> applied = apply(history, record);
      reply =
          continuing
              ? Reply.continuing(applied.get(indexOf(applied, replyId)))
              : Reply.fresh(replyId);
      if (rnd.nextInt(10) == 0) {
        emit(new OutEvent.UpgradeRequired());
      }
      List<JsonObject> chunks =
          continuing ? continuation(approvalPart, approved) : freshReply(t, replyId);
      int stopAt = rnd.nextInt(6) == 0 ? rnd.nextInt(chunks.size()) : chunks.size();
      for (int i = 0; i < stopAt; i++) {
        reply.accept(chunks.get(i));
        emit(OutEvent.Chunk.of(new UIMessageChunk(chunks.get(i))));
      }
      // The agent's history after the turn: the reply, cleaned up if it was stopped (L7, H4).
      Optional<UIMessage> answer = reply.finished ? reply.visible() : reply.cleaned();
      history = place(applied, answer);
      snapshots.failWrites = rnd.nextInt(3) == 0;
      ChatHistory.TurnCompleted done;
      try {
        done = writer.completeTurn(address, runId, history, inId);
      } finally {
        snapshots.failWrites = false;
      }
      lastDispatched = inId;
      pendingIds.clear();
      lastTurnComplete = done.turnCompleteEventId();
      turnRecord = null;
      reply = null;
      anyChunk = false;
      maybeCheck();
    }

    void emit(OutEvent event) {
      chat.appendOut(address, runId, event);
      anyChunk |= event instanceof OutEvent.Chunk;
      maybeCheck();
    }

    void maybeCheck() {
      if (rnd.nextInt(100) < 10) {
        check();
      }
    }

    void check() {
      List<UIMessage> expected = history;
      if (anyChunk) {
        expected = place(apply(history, turnRecord), reply.cleaned());
      }
      ChatHistory.Rebuilt withSnapshot = reader.rebuild(address);
      ChatHistory.Rebuilt replayed = replayOnly.rebuild(address);
      for (ChatHistory.Rebuilt r : List.of(withSnapshot, replayed)) {
        assertThat(json(r.messages()))
            .as(
                "messages at out [%s]",
                chat.lastEventId(address, dev.durablechat.api.StreamKind.OUT))
            .isEqualTo(json(expected));
        assertThat(r.lastOutEventId()).as("last out").isEqualTo(lastTurnComplete);
        assertThat(r.lastInEventId()).as("last in").isEqualTo(lastDispatched);
        assertThat(r.pending().stream().map(StreamRecord::eventId).toList())
            .as("pending")
            .isEqualTo(pendingIds);
        assertThat(r.partialReply()).as("partial").isEqualTo(anyChunk);
      }
      assertThat(replayed.source().fromSnapshot()).isFalse();
      checks++;
      partialChecks += anyChunk ? 1 : 0;
      snapshotChecks += withSnapshot.source().fromSnapshot() ? 1 : 0;
    }

    // ------------------------------------------------------------------ generated replies

    List<JsonObject> freshReply(int t, String replyId) {
      var chunks = new ArrayList<JsonObject>();
      chunks.add(chunk("start", "messageId", replyId));
      int steps = 1 + rnd.nextInt(3);
      boolean ended = false;
      for (int s = 0; s < steps && !ended; s++) {
        chunks.add(chunk("start-step"));
        int parts = 1 + rnd.nextInt(3);
        for (int p = 0; p < parts && !ended; p++) {
          String id = t + "-" + s + "-" + p;
          switch (rnd.nextInt(3)) {
            case 0 -> streamed(chunks, "text", "t" + id);
            case 1 -> streamed(chunks, "reasoning", "r" + id);
            default -> ended = tool(chunks, "c" + id + "-" + seed);
          }
        }
        chunks.add(chunk("finish-step"));
      }
      chunks.add(chunk("finish", "finishReason", ended ? "tool-calls" : "stop"));
      return chunks;
    }

    List<JsonObject> continuation(JsonObject approvalPart, boolean approved) {
      var chunks = new ArrayList<JsonObject>();
      String callId = approvalPart.string("toolCallId").orElseThrow();
      chunks.add(chunk("start", "messageId", reply.id));
      chunks.add(chunk("start-step"));
      if (approved) {
        chunks.add(
            chunk("tool-output-available", "toolCallId", callId)
                .with("output", JsonObject.builder().put("ok", true).build()));
      } else {
        chunks.add(chunk("tool-output-denied", "toolCallId", callId));
      }
      if (rnd.nextBoolean()) {
        streamed(chunks, "text", "tc-" + callId);
      }
      chunks.add(chunk("finish-step"));
      chunks.add(chunk("finish", "finishReason", "stop"));
      return chunks;
    }

    void streamed(List<JsonObject> chunks, String kind, String id) {
      chunks.add(chunk(kind + "-start", "id", id));
      int deltas = rnd.nextInt(4);
      for (int i = 0; i < deltas; i++) {
        chunks.add(chunk(kind + "-delta", "id", id).with("delta", JsonValue.of(words())));
      }
      chunks.add(chunk(kind + "-end", "id", id));
    }

    /** A tool call; true if it asks for approval, which ends the reply. */
    boolean tool(List<JsonObject> chunks, String callId) {
      String name = rnd.nextBoolean() ? "search" : "weather";
      JsonObject input =
          JsonObject.builder().put("query", words()).put("limit", rnd.nextInt(100)).build();
      chunks.add(
          chunk("tool-input-start", "toolCallId", callId).with("toolName", JsonValue.of(name)));
      String text = input.toString();
      int at = 0;
      while (at < text.length()) {
        int next = Math.min(text.length(), at + 1 + rnd.nextInt(8));
        chunks.add(
            chunk("tool-input-delta", "toolCallId", callId)
                .with("inputTextDelta", JsonValue.of(text.substring(at, next))));
        at = next;
      }
      chunks.add(
          chunk("tool-input-available", "toolCallId", callId)
              .with("toolName", JsonValue.of(name))
              .with("input", input));
      int outcome = rnd.nextInt(5);
      if (outcome == 0) {
        chunks.add(
            chunk("tool-approval-request", "toolCallId", callId)
                .with("approvalId", JsonValue.of("ap-" + callId)));
        return true;
      }
      if (outcome == 1) {
        chunks.add(
            chunk("tool-output-error", "toolCallId", callId)
                .with("errorText", JsonValue.of("failed: " + words())));
      } else {
        chunks.add(
            chunk("tool-output-available", "toolCallId", callId)
                .with("output", JsonObject.builder().put("result", words()).build()));
      }
      return false;
    }

    String words() {
      var b = new StringBuilder();
      int n = 1 + rnd.nextInt(3);
      for (int i = 0; i < n; i++) {
        b.append(WORDS[rnd.nextInt(WORDS.length)]).append(' ');
      }
      return b.toString();
    }

    // ------------------------------------------------------------------ the oracle's history rules

    /**
     * The assistant message with its approval-requested tool part answered (what a client sends).
     */
    static UIMessage respond(UIMessage message, boolean approved) {
      var parts = new ArrayList<JsonValue>();
      for (JsonObject part : message.parts()) {
        if (part.string("state").orElse("").equals("approval-requested")) {
          JsonObject approval = (JsonObject) part.get("approval");
          part =
              part.with("state", JsonValue.of("approval-responded"))
                  .with("approval", approval.with("approved", JsonValue.of(approved)));
        }
        parts.add(part);
      }
      return new UIMessage(message.json().with("parts", JsonArray.of(parts)));
    }

    static @Nullable JsonObject approvalRequested(UIMessage message) {
      if (!message.role().equals("assistant")) {
        return null;
      }
      for (JsonObject part : message.parts()) {
        if (part.string("state").orElse("").equals("approval-requested")) {
          return part;
        }
      }
      return null;
    }

    static List<UIMessage> apply(List<UIMessage> history, InEvent.Message record) {
      var out = new ArrayList<>(history);
      WirePayload p = record.payload();
      if (p.trigger() == Trigger.REGENERATE_MESSAGE) {
        while (!out.isEmpty() && !out.get(out.size() - 1).role().equals("user")) {
          out.remove(out.size() - 1);
        }
      } else if (p.message() != null) {
        int at = indexOf(out, p.message().id());
        if (at >= 0) {
          out.set(at, p.message());
        } else {
          out.add(p.message());
        }
      }
      return out;
    }

    static List<UIMessage> place(List<UIMessage> history, Optional<UIMessage> message) {
      var out = new ArrayList<>(history);
      if (message.isPresent()) {
        int at = indexOf(out, message.get().id());
        if (at >= 0) {
          out.set(at, message.get());
        } else {
          out.add(message.get());
        }
      }
      return out;
    }

    static int indexOf(List<UIMessage> messages, String id) {
      for (int i = 0; i < messages.size(); i++) {
        if (messages.get(i).id().equals(id)) {
          return i;
        }
      }
      return -1;
    }
  }

  static JsonObject chunk(String type) {
    return JsonObject.builder().put("type", type).build();
  }

  static JsonObject chunk(String type, String name, String value) {
    return JsonObject.builder().put("type", type).put(name, value).build();
  }

  static List<JsonObject> json(List<UIMessage> messages) {
    return messages.stream().map(UIMessage::json).toList();
  }

  /**
   * The oracle's own model of the reply: the parts the generator produced, in the states its chunks
   * put them in, and how many of them the AI SDK would show (a {@code start-step} shows only once a
   * later chunk changes the message).
   */
  private static final class Reply {
    final String id;
    final List<Map<String, JsonValue>> parts = new ArrayList<>();
    final Map<String, Map<String, JsonValue>> byId = new HashMap<>();
    int visible;
    boolean written;
    boolean finished;

    private Reply(String id) {
      this.id = id;
    }

    static Reply fresh(String id) {
      return new Reply(id);
    }

    static Reply continuing(UIMessage base) {
      Reply r = new Reply(base.id());
      for (JsonObject part : base.parts()) {
        var map = new LinkedHashMap<>(part.members());
        r.parts.add(map);
        if (part.get("toolCallId") instanceof JsonString s) {
          r.byId.put(s.value(), map);
        }
      }
      r.visible = r.parts.size();
      return r;
    }

    void accept(JsonObject c) {
      String type = c.string("type").orElseThrow();
      switch (type) {
        case "start" -> write();
        case "start-step" ->
            parts.add(new LinkedHashMap<>(Map.of("type", JsonValue.of("step-start"))));
        case "finish-step" -> {}
        case "finish" -> finished = true;
        case "text-start", "reasoning-start" -> {
          var part = new LinkedHashMap<String, JsonValue>();
          part.put("type", JsonValue.of(type.equals("text-start") ? "text" : "reasoning"));
          if (type.equals("reasoning-start")) {
            part.put("id", c.get("id"));
          }
          part.put("text", JsonValue.of(""));
          part.put("state", JsonValue.of("streaming"));
          parts.add(part);
          byId.put(c.string("id").orElseThrow(), part);
          write();
        }
        case "text-delta", "reasoning-delta" -> {
          var part = byId.get(c.string("id").orElseThrow());
          part.put(
              "text",
              JsonValue.of(
                  ((JsonString) part.get("text")).value() + c.string("delta").orElseThrow()));
          write();
        }
        case "text-end", "reasoning-end" -> {
          byId.get(c.string("id").orElseThrow()).put("state", JsonValue.of("done"));
          write();
        }
        case "tool-input-start" -> {
          var part = new LinkedHashMap<String, JsonValue>();
          part.put("type", JsonValue.of("tool-" + c.string("toolName").orElseThrow()));
          part.put("toolCallId", c.get("toolCallId"));
          part.put("state", JsonValue.of("input-streaming"));
          parts.add(part);
          byId.put(c.string("toolCallId").orElseThrow(), part);
          write();
        }
        case "tool-input-delta" -> write();
        case "tool-input-available" -> {
          var part = byId.get(c.string("toolCallId").orElseThrow());
          part.put("state", JsonValue.of("input-available"));
          part.put("input", c.get("input"));
          write();
        }
        case "tool-output-available" -> {
          var part = byId.get(c.string("toolCallId").orElseThrow());
          part.put("state", JsonValue.of("output-available"));
          part.put("output", c.get("output"));
          write();
        }
        case "tool-output-error" -> {
          var part = byId.get(c.string("toolCallId").orElseThrow());
          part.put("state", JsonValue.of("output-error"));
          part.put("errorText", c.get("errorText"));
          write();
        }
        case "tool-output-denied" -> {
          byId.get(c.string("toolCallId").orElseThrow())
              .put("state", JsonValue.of("output-denied"));
          write();
        }
        case "tool-approval-request" -> {
          var part = byId.get(c.string("toolCallId").orElseThrow());
          part.put("state", JsonValue.of("approval-requested"));
          part.put("approval", JsonObject.builder().put("id", c.get("approvalId")).build());
          write();
        }
        default -> throw new AssertionError("the generator does not produce [" + type + "]");
      }
    }

    private void write() {
      written = true;
      visible = parts.size();
    }

    /** The message as the AI SDK shows it now. */
    Optional<UIMessage> visible() {
      if (!written) {
        return Optional.empty();
      }
      var out = new ArrayList<JsonObject>();
      for (int i = 0; i < visible; i++) {
        out.add(JsonObject.of(parts.get(i)));
      }
      return Optional.of(UIMessage.of(id, "assistant", out));
    }

    /** H4: input-* tool parts dropped, streaming text done, nothing but steps left = nothing. */
    Optional<UIMessage> cleaned() {
      if (!written) {
        return Optional.empty();
      }
      var out = new ArrayList<JsonObject>();
      boolean content = false;
      for (int i = 0; i < visible; i++) {
        JsonObject part = JsonObject.of(parts.get(i));
        String state = part.string("state").orElse("");
        String type = part.string("type").orElse("");
        if (type.startsWith("tool-") && state.startsWith("input-")) {
          continue;
        }
        if (state.equals("streaming")) {
          part = part.with("state", JsonValue.of("done"));
        }
        content |= !type.equals("step-start");
        out.add(part);
      }
      return content ? Optional.of(UIMessage.of(id, "assistant", out)) : Optional.empty();
    }
  }
}
