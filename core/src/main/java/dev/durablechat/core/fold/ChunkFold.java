package dev.durablechat.core.fold;

import dev.durablechat.api.Json;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonString;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Folds AI SDK UI message chunks into one UI message, exactly as the AI SDK's {@code
 * readUIMessageStream} does (PROTOCOL F1–F6; checked chunk by chunk against the {@code ai} package
 * by a differential test, see {@code docs/fold-compat.md}).
 *
 * <p>Use it incrementally for a live stream ({@link #accept} each chunk, {@link #message} whenever
 * the current state is wanted) or all at once for a replay ({@link #foldTail}, {@link TailFold}).
 * Folding keeps mutable builders (text is appended, not rebuilt), and the immutable message is
 * built on read, reusing every part that did not change since the last read.
 *
 * <p>Not thread-safe: one fold belongs to one reader.
 */
public final class ChunkFold {
  private static final JsonString EMPTY_ID = new JsonString("");
  private static final JsonString ASSISTANT = new JsonString("assistant");
  private static final JsonString STREAMING = new JsonString("streaming");
  private static final JsonString DONE = new JsonString("done");
  private static final JsonString STEP_START = new JsonString("step-start");

  private final long baseIndex;
  private long nextIndex;

  // The message: its own members in order ("parts" marks where the parts go), and the parts.
  private LinkedHashMap<String, JsonValue> fields = new LinkedHashMap<>();
  private ArrayList<Part> parts = new ArrayList<>();
  private HashMap<String, Part> activeText = new HashMap<>();
  private HashMap<String, Part> activeReasoning = new HashMap<>();
  private HashMap<String, PartialToolCall> partialToolCalls = new HashMap<>();

  // What readUIMessageStream last yielded: nothing until the first change that writes, then the
  // message with the parts that existed at that write (a trailing step-start is not yet shown).
  private boolean written;
  private int visibleParts;
  private @Nullable UIMessage snapshot;

  private boolean finished;
  private @Nullable JsonValue finishReason;
  private final List<String> errors = new ArrayList<>();

  /** A fold whose chunk indexes (in errors) start at {@code baseIndex}; see {@link TailFold}. */
  ChunkFold(@Nullable UIMessage lastMessage, long baseIndex) {
    this.baseIndex = baseIndex;
    JsonValue id = lastMessage == null ? EMPTY_ID : lastMessage.json().get("id");
    reset(lastMessage, id == null ? EMPTY_ID : id);
  }

  /** A fold that starts a new assistant message (its id comes from the {@code start} chunk). */
  public static ChunkFold create() {
    return new ChunkFold(null, 0);
  }

  /**
   * A fold that continues {@code lastMessage} if it is an assistant message, else starts a new one
   * (F2). As in the AI SDK, a {@code start} chunk that names a different message id starts over
   * with a new message, and a non-assistant last message lends its id to the new message until a
   * {@code start} chunk names one.
   */
  public static ChunkFold continuing(@Nullable UIMessage lastMessage) {
    return new ChunkFold(lastMessage, 0);
  }

  /**
   * Folds all chunks of a replayed {@code out} tail into messages as a continuation does (H2, H4):
   * {@link TailFold} with {@link TailFold.Unfinished#PARTIAL}, so a segment with no {@code finish}
   * is cleaned up as a partial reply (see {@link #partial}).
   *
   * @param lastMessage the last message of the history the tail continues, or null
   * @throws ChunkFoldException on the first chunk that cannot be folded; its index is the chunk's
   *     position in {@code chunks}
   */
  public static List<UIMessage> foldTail(
      @Nullable UIMessage lastMessage, List<UIMessageChunk> chunks) {
    return TailFold.messages(lastMessage, chunks, TailFold.Unfinished.PARTIAL);
  }

  /** {@link #foldTail(UIMessage, List)} with no history before the tail. */
  public static List<UIMessage> foldTail(List<UIMessageChunk> chunks) {
    return foldTail(null, chunks);
  }

  /**
   * Folds the next chunk. Unknown chunk types change nothing (as in the AI SDK), so do {@code
   * abort}, {@code start-step}'s invisible bookkeeping and transient data parts.
   *
   * @return this fold
   * @throws ChunkFoldException if the chunk refers to a text, reasoning or tool input that is not
   *     streaming, or to a tool call the message does not hold (as the AI SDK fails), or if a
   *     {@code start} chunk's {@code messageId} is not a string (which the SDK would carry into an
   *     invalid message); the fold is then unchanged
   */
  public ChunkFold accept(UIMessageChunk chunk) {
    long index = baseIndex + nextIndex++;
    JsonObject c = chunk.json();
    String type = chunk.type();
    switch (type) {
      case "text-start" -> {
        Part part =
            Part.streamingText(
                "type", new JsonString("text"), "providerMetadata", c.get("providerMetadata"));
        part.set("state", STREAMING);
        activeText.put(Js.key(c.get("id")), part);
        parts.add(part);
        write();
      }
      case "text-delta", "text-end" -> {
        Part part = activeText.get(Js.key(c.get("id")));
        if (part == null) {
          throw missing(index, type, "text", c.get("id"), "text-start");
        }
        if (type.equals("text-delta")) {
          part.appendText(Js.string(c.get("delta")));
        } else {
          part.set("state", DONE);
          activeText.remove(Js.key(c.get("id")));
        }
        part.set(
            "providerMetadata",
            Js.coalesce(c.get("providerMetadata"), part.get("providerMetadata")));
        write();
      }
      case "reasoning-start" -> {
        Part part =
            Part.streamingText(
                "type",
                new JsonString("reasoning"),
                "id",
                c.get("id"),
                "providerMetadata",
                c.get("providerMetadata"));
        part.set("state", STREAMING);
        activeReasoning.put(Js.key(c.get("id")), part);
        parts.add(part);
        write();
      }
      case "reasoning-delta", "reasoning-end" -> {
        Part part = activeReasoning.get(Js.key(c.get("id")));
        if (part == null) {
          throw missing(index, type, "reasoning", c.get("id"), "reasoning-start");
        }
        if (type.equals("reasoning-delta")) {
          part.appendText(Js.string(c.get("delta")));
        } else {
          part.set("state", DONE);
          activeReasoning.remove(Js.key(c.get("id")));
        }
        part.set(
            "providerMetadata",
            Js.coalesce(c.get("providerMetadata"), part.get("providerMetadata")));
        write();
      }
      case "file" -> {
        JsonValue providerMetadata = c.get("providerMetadata");
        parts.add(
            Part.create(
                "type",
                new JsonString("file"),
                "mediaType",
                c.get("mediaType"),
                "url",
                c.get("url"),
                "providerMetadata",
                Js.present(providerMetadata) ? providerMetadata : null));
        write();
      }
      case "source-url" -> {
        parts.add(
            Part.create(
                "type", new JsonString("source-url"),
                "sourceId", c.get("sourceId"),
                "url", c.get("url"),
                "title", c.get("title"),
                "providerMetadata", c.get("providerMetadata")));
        write();
      }
      case "source-document" -> {
        parts.add(
            Part.create(
                "type", new JsonString("source-document"),
                "sourceId", c.get("sourceId"),
                "mediaType", c.get("mediaType"),
                "title", c.get("title"),
                "filename", c.get("filename"),
                "providerMetadata", c.get("providerMetadata")));
        write();
      }
      case "tool-input-start" -> toolInputStart(c);
      case "tool-input-delta" -> toolInputDelta(index, c);
      case "tool-input-available" -> {
        var u = new ToolUpdate(c.get("toolCallId"), c.get("toolName"), "input-available");
        u.input = c.get("input");
        u.providerExecuted = c.get("providerExecuted");
        u.providerMetadata = c.get("providerMetadata");
        u.title = c.get("title");
        u.toolMetadata = c.get("toolMetadata");
        update(Js.truthy(c.get("dynamic")), u, null);
        write();
      }
      case "tool-input-error" -> toolInputError(c);
      case "tool-approval-request" -> {
        Part part = toolInvocation(index, type, c.get("toolCallId"));
        part.set("state", new JsonString("approval-requested"));
        var approval = new LinkedHashMap<String, JsonValue>();
        putIfDefined(approval, "id", c.get("approvalId"));
        if (Js.present(c.get("approvalDescriptor"))) {
          approval.put("descriptor", c.get("approvalDescriptor"));
        }
        putIfDefined(approval, "inputSchemaInput", c.get("inputSchemaInput"));
        if (Js.present(c.get("signature"))) {
          approval.put("signature", c.get("signature"));
        }
        part.set("approval", JsonObject.adopt(approval));
        write();
      }
      case "tool-output-denied" -> {
        Part part = toolInvocation(index, type, c.get("toolCallId"));
        part.set("state", new JsonString("output-denied"));
        write();
      }
      case "tool-output-available", "tool-output-error" -> toolOutput(index, type, c);
      case "start-step" -> parts.add(Part.create("type", STEP_START));
      case "finish-step" -> {
        // ai 6 forgets the streaming text and reasoning parts at a step's end (ai 7 does not).
        activeText = new HashMap<>();
        activeReasoning = new HashMap<>();
      }
      case "start" -> {
        JsonValue messageId = c.get("messageId");
        if (Js.present(messageId) && !(messageId instanceof JsonString)) {
          // ai would carry any value; a UIMessage id is a string, so refuse it here rather than
          // fail later on every read
          throw new ChunkFoldException(
              index,
              type,
              "messageId must be a string, got " + Json.kindOf(messageId) + " [" + messageId + "]");
        }
        boolean reset = Js.present(messageId) && !Js.strictEquals(messageId, fields.get("id"));
        if (reset) {
          reset(null, messageId);
        }
        if (Js.present(messageId)) {
          fields.put("id", messageId);
        }
        JsonValue metadata = c.get("messageMetadata");
        updateMetadata(metadata);
        if (reset || Js.present(messageId) || Js.present(metadata)) {
          write();
        }
      }
      case "finish" -> {
        finished = true;
        if (Js.present(c.get("finishReason"))) {
          finishReason = c.get("finishReason");
        }
        updateMetadata(c.get("messageMetadata"));
        if (Js.present(c.get("messageMetadata"))) {
          write();
        }
      }
      case "message-metadata" -> {
        updateMetadata(c.get("messageMetadata"));
        if (Js.present(c.get("messageMetadata"))) {
          write();
        }
      }
      case "error" -> {
        JsonValue text = c.get("errorText");
        errors.add(text == null ? "" : Js.string(text));
      }
      default -> {
        if (type.startsWith("data-")) {
          data(c, type);
        }
        // any other type (abort, and types this SDK version does not know) changes nothing
      }
    }
    return this;
  }

  /** Folds each chunk in order; see {@link #accept}. */
  public ChunkFold acceptAll(Iterable<UIMessageChunk> chunks) {
    for (UIMessageChunk chunk : chunks) {
      accept(chunk);
    }
    return this;
  }

  /**
   * The message as {@code readUIMessageStream} last yielded it: empty while no chunk has changed
   * anything visible (a bare {@code start}, {@code start-step}, {@code finish} without metadata). A
   * {@code step-start} part shows once a later chunk changes the message, as in the SDK.
   */
  public Optional<UIMessage> message() {
    if (!written) {
      return Optional.empty();
    }
    UIMessage message = snapshot;
    if (message == null) {
      var elements = new ArrayList<JsonValue>(visibleParts);
      for (int i = 0; i < visibleParts; i++) {
        elements.add(parts.get(i).json());
      }
      var json = new LinkedHashMap<String, JsonValue>(fields);
      json.put("parts", JsonArray.adopt(elements));
      message = new UIMessage(JsonObject.adopt(json));
      snapshot = message;
    }
    return Optional.of(message);
  }

  /**
   * The message cleaned up as a partial reply (H4): tool parts still in an {@code input-*} state
   * are dropped, streaming text and reasoning are marked {@code done}, and the message is dropped
   * (empty) if nothing but step markers is left.
   */
  public Optional<UIMessage> partial() {
    Optional<UIMessage> current = message();
    if (current.isEmpty()) {
      return current;
    }
    UIMessage message = current.get();
    var kept = new ArrayList<JsonValue>();
    boolean content = false;
    for (JsonObject part : message.parts()) {
      String type = part.string("type").orElse("");
      boolean tool = type.startsWith("tool-") || type.equals("dynamic-tool");
      if (tool && part.string("state").orElse("").startsWith("input-")) {
        continue;
      }
      if ((type.equals("text") || type.equals("reasoning"))
          && part.string("state").orElse("").equals("streaming")) {
        part = part.with("state", DONE);
      }
      content |= !type.equals("step-start");
      kept.add(part);
    }
    if (!content) {
      return Optional.empty();
    }
    return Optional.of(new UIMessage(message.json().with("parts", JsonArray.adopt(kept))));
  }

  /** Whether a {@code finish} chunk has been folded (since the last message start-over). */
  public boolean finished() {
    return finished;
  }

  /** The {@code finishReason} of the last {@code finish} chunk that had one. */
  public Optional<JsonValue> finishReason() {
    return Optional.ofNullable(finishReason);
  }

  /** The texts of the {@code error} chunks folded so far, in order (they change no message). */
  public List<String> errors() {
    return List.copyOf(errors);
  }

  /** How many chunks this fold has been given. */
  public long chunkCount() {
    return nextIndex;
  }

  // ---------------------------------------------------------------------------------------------

  private void write() {
    written = true;
    visibleParts = parts.size();
    snapshot = null;
  }

  private void reset(@Nullable UIMessage lastMessage, JsonValue messageId) {
    fields = new LinkedHashMap<>();
    parts = new ArrayList<>();
    activeText = new HashMap<>();
    activeReasoning = new HashMap<>();
    partialToolCalls = new HashMap<>();
    finished = false;
    finishReason = null;
    if (lastMessage != null && lastMessage.role().equals("assistant")) {
      fields.putAll(lastMessage.json().members());
      for (JsonObject part : lastMessage.parts()) {
        parts.add(Part.of(part));
      }
      resumeStreamingToolCalls();
    } else {
      fields.put("id", messageId);
      fields.put("role", ASSISTANT);
      fields.put("parts", JsonArray.of());
    }
  }

  /** Tool inputs of the last step that were still streaming keep streaming (F2). */
  private void resumeStreamingToolCalls() {
    for (int i = currentStepStart(); i < parts.size(); i++) {
      Part part = parts.get(i);
      if (!part.isTool()
          || !(part.get("state") instanceof JsonString s)
          || !s.value().equals("input-streaming")) {
        continue;
      }
      boolean dynamic = part.isDynamicTool();
      JsonValue rawInput = part.get("rawInput");
      var call =
          new PartialToolCall(
              Js.present(rawInput) ? Js.string(rawInput) : "",
              part.get("inputEncoding"),
              dynamic ? part.get("toolName") : new JsonString(staticToolName(part)),
              dynamic ? JsonValue.of(true) : null,
              part.get("title"),
              part.get("toolMetadata"));
      partialToolCalls.put(Js.key(part.get("toolCallId")), call);
    }
  }

  private int currentStepStart() {
    int i = parts.size() - 1;
    while (i >= 0 && !parts.get(i).type().equals("step-start")) {
      i--;
    }
    return i + 1;
  }

  private static String staticToolName(Part part) {
    String type = part.type();
    int dash = type.indexOf('-');
    return dash < 0 ? "" : type.substring(dash + 1);
  }

  private void updateMetadata(@Nullable JsonValue metadata) {
    if (!Js.present(metadata)) {
      return;
    }
    JsonValue current = fields.get("metadata");
    fields.put("metadata", Js.present(current) ? Js.mergeObjects(current, metadata) : metadata);
  }

  private void toolInputStart(JsonObject c) {
    partialToolCalls.put(
        Js.key(c.get("toolCallId")),
        new PartialToolCall(
            "",
            c.get("inputEncoding"),
            c.get("toolName"),
            c.get("dynamic"),
            c.get("title"),
            c.get("toolMetadata")));
    var u = new ToolUpdate(c.get("toolCallId"), c.get("toolName"), "input-streaming");
    u.inputEncoding = c.get("inputEncoding");
    u.providerExecuted = c.get("providerExecuted");
    u.title = c.get("title");
    u.toolMetadata = c.get("toolMetadata");
    u.providerMetadata = c.get("providerMetadata");
    update(Js.truthy(c.get("dynamic")), u, null);
    write();
  }

  private void toolInputDelta(long index, JsonObject c) {
    PartialToolCall call = partialToolCalls.get(Js.key(c.get("toolCallId")));
    if (call == null) {
      throw missing(
          index, "tool-input-delta", "tool input", c.get("toolCallId"), "tool-input-start");
    }
    call.text.append(Js.string(c.get("inputTextDelta")));
    String text = call.text.toString();
    boolean plain = call.inputEncoding instanceof JsonString e && e.value().equals("text");
    var u = new ToolUpdate(c.get("toolCallId"), call.toolName, "input-streaming");
    u.inputEncoding = call.inputEncoding;
    u.input = plain ? new JsonString(text) : PartialJson.parse(text);
    u.rawInput = new JsonString(text);
    u.title = call.title;
    u.toolMetadata = call.toolMetadata;
    update(Js.truthy(call.dynamic), u, null);
    write();
  }

  private void toolInputError(JsonObject c) {
    JsonValue toolCallId = c.get("toolCallId");
    Part existing = null;
    for (int i = currentStepStart(); i < parts.size(); i++) {
      Part part = parts.get(i);
      if (part.isTool() && Js.strictEquals(part.get("toolCallId"), toolCallId)) {
        existing = part;
        break;
      }
    }
    boolean dynamic = existing != null ? existing.isDynamicTool() : Js.truthy(c.get("dynamic"));
    var u = new ToolUpdate(toolCallId, c.get("toolName"), "output-error");
    if (dynamic) {
      u.input = c.get("input");
    } else {
      // ai 6 keeps the unparsable input as rawInput of a static tool (ai 7 keeps it as input)
      u.rawInput = c.get("input");
    }
    u.errorText = c.get("errorText");
    u.providerExecuted = c.get("providerExecuted");
    u.providerMetadata = c.get("providerMetadata");
    u.toolMetadata = c.get("toolMetadata");
    update(dynamic, u, null);
    write();
  }

  private void toolOutput(long index, String type, JsonObject c) {
    Part part = toolInvocation(index, type, c.get("toolCallId"));
    boolean dynamic = part.isDynamicTool();
    boolean available = type.equals("tool-output-available");
    var u =
        new ToolUpdate(
            c.get("toolCallId"),
            dynamic ? part.get("toolName") : new JsonString(staticToolName(part)),
            available ? "output-available" : "output-error");
    u.input = part.get("input");
    if (available) {
      u.output = c.get("output");
      u.preliminary = c.get("preliminary");
    } else {
      u.errorText = c.get("errorText");
      if (!dynamic) {
        u.rawInput = part.get("rawInput");
      }
    }
    u.providerExecuted = c.get("providerExecuted");
    u.providerMetadata = c.get("providerMetadata");
    u.title = part.get("title");
    u.toolMetadata = Js.coalesce(c.get("toolMetadata"), part.get("toolMetadata"));
    update(dynamic, u, part);
    write();
  }

  /** The tool part of the call: in the current step first, else the latest in the message. */
  private Part toolInvocation(long index, String chunkType, @Nullable JsonValue toolCallId) {
    for (int i = currentStepStart(); i < parts.size(); i++) {
      Part part = parts.get(i);
      if (part.isTool() && Js.strictEquals(part.get("toolCallId"), toolCallId)) {
        return part;
      }
    }
    for (int i = parts.size() - 1; i >= 0; i--) {
      Part part = parts.get(i);
      if (part.isTool() && Js.strictEquals(part.get("toolCallId"), toolCallId)) {
        return part;
      }
    }
    throw new ChunkFoldException(
        index,
        chunkType,
        "no tool call with toolCallId ["
            + Js.string(toolCallId)
            + "] in the message (expected a tool-input-start or tool-input-available for it"
            + " first)");
  }

  /** The SDK's updateToolPart / updateDynamicToolPart. */
  private void update(boolean dynamic, ToolUpdate u, @Nullable Part existing) {
    Part part = existing;
    if (part == null) {
      for (int i = currentStepStart(); i < parts.size(); i++) {
        Part candidate = parts.get(i);
        boolean kind = dynamic ? candidate.isDynamicTool() : candidate.isStaticTool();
        if (kind && Js.strictEquals(candidate.get("toolCallId"), u.toolCallId)) {
          part = candidate;
          break;
        }
      }
    }
    boolean result = u.state.equals("output-available") || u.state.equals("output-error");
    JsonValue providerMetadata = Js.present(u.providerMetadata) ? u.providerMetadata : null;
    JsonValue inputEncoding = Js.present(u.inputEncoding) ? u.inputEncoding : null;
    JsonString state = new JsonString(u.state);
    if (part != null) {
      part.set("state", state);
      if (dynamic) {
        part.set("toolName", u.toolName);
      } else {
        part.set("type", new JsonString("tool-" + Js.string(u.toolName)));
      }
      part.set("input", u.input);
      part.set("output", u.output);
      part.set("errorText", u.errorText);
      part.set("rawInput", u.rawInput);
      part.set("inputEncoding", inputEncoding);
      part.set("preliminary", u.preliminary);
      if (u.title != null) {
        part.set("title", u.title);
      }
      if (u.toolMetadata != null) {
        part.set("toolMetadata", u.toolMetadata);
      }
      part.set("providerExecuted", Js.coalesce(u.providerExecuted, part.get("providerExecuted")));
      if (providerMetadata != null) {
        part.set(result ? "resultProviderMetadata" : "callProviderMetadata", providerMetadata);
      }
    } else if (dynamic) {
      parts.add(
          Part.create(
              "type", new JsonString("dynamic-tool"),
              "toolName", u.toolName,
              "toolCallId", u.toolCallId,
              "state", state,
              "input", u.input,
              "inputEncoding", inputEncoding,
              "output", u.output,
              "errorText", u.errorText,
              "preliminary", u.preliminary,
              "providerExecuted", u.providerExecuted,
              "title", u.title,
              "toolMetadata", u.toolMetadata,
              "resultProviderMetadata", result ? providerMetadata : null,
              "callProviderMetadata", result ? null : providerMetadata));
    } else {
      parts.add(
          Part.create(
              "type", new JsonString("tool-" + Js.string(u.toolName)),
              "toolCallId", u.toolCallId,
              "state", state,
              "title", u.title,
              "toolMetadata", u.toolMetadata,
              "input", u.input,
              "inputEncoding", inputEncoding,
              "output", u.output,
              "rawInput", u.rawInput,
              "errorText", u.errorText,
              "providerExecuted", u.providerExecuted,
              "preliminary", u.preliminary,
              "resultProviderMetadata", result ? providerMetadata : null,
              "callProviderMetadata", result ? null : providerMetadata));
    }
  }

  private void data(JsonObject c, String type) {
    if (Js.truthy(c.get("transient"))) {
      return;
    }
    JsonValue id = c.get("id");
    if (Js.present(id)) {
      for (Part part : parts) {
        if (part.type().equals(type) && Js.strictEquals(part.get("id"), id)) {
          part.set("data", c.get("data"));
          write();
          return;
        }
      }
    }
    parts.add(Part.of(c));
    write();
  }

  private static void putIfDefined(
      LinkedHashMap<String, JsonValue> map, String name, @Nullable JsonValue value) {
    if (value != null) {
      map.put(name, value);
    }
  }

  private static ChunkFoldException missing(
      long index, String chunkType, String what, @Nullable JsonValue id, String expected) {
    return new ChunkFoldException(
        index,
        chunkType,
        "no "
            + what
            + " with id ["
            + Js.string(id)
            + "] is streaming (expected a "
            + expected
            + " for it first)");
  }

  /** The options of one tool part update; null members are undefined. */
  private static final class ToolUpdate {
    final @Nullable JsonValue toolCallId;
    final @Nullable JsonValue toolName;
    final String state;
    @Nullable JsonValue input;
    @Nullable JsonValue inputEncoding;
    @Nullable JsonValue output;
    @Nullable JsonValue rawInput;
    @Nullable JsonValue errorText;
    @Nullable JsonValue providerExecuted;
    @Nullable JsonValue preliminary;
    @Nullable JsonValue title;
    @Nullable JsonValue toolMetadata;
    @Nullable JsonValue providerMetadata;

    ToolUpdate(@Nullable JsonValue toolCallId, @Nullable JsonValue toolName, String state) {
      this.toolCallId = toolCallId;
      this.toolName = toolName;
      this.state = state;
    }
  }

  /** A tool call whose input is streaming: the accumulated text and what its start said. */
  private static final class PartialToolCall {
    final StringBuilder text;
    final @Nullable JsonValue inputEncoding;
    final @Nullable JsonValue toolName;
    final @Nullable JsonValue dynamic;
    final @Nullable JsonValue title;
    final @Nullable JsonValue toolMetadata;

    PartialToolCall(
        String text,
        @Nullable JsonValue inputEncoding,
        @Nullable JsonValue toolName,
        @Nullable JsonValue dynamic,
        @Nullable JsonValue title,
        @Nullable JsonValue toolMetadata) {
      this.text = new StringBuilder(text);
      this.inputEncoding = inputEncoding;
      this.toolName = toolName;
      this.dynamic = dynamic;
      this.title = title;
      this.toolMetadata = toolMetadata;
    }
  }
}
