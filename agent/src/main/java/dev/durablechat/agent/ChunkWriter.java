package dev.durablechat.agent;

import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.core.DurableChat;
import dev.durablechat.core.fold.ChunkFold;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * Writes one assistant message of a turn as AI SDK UI message chunks (PROTOCOL F1) to the session's
 * {@code out} stream. The message's {@code start} chunk goes out before the first chunk written
 * through this writer; the runtime writes its {@code finish} (or, after a stop, an {@code abort}).
 *
 * <p>Chunks are batched: one {@link DurableChat#appendOut} call (fenced by the run id, invariant 6)
 * carries every chunk written since the last flush. A batch goes out when it holds {@code maxBatch}
 * chunks, when its oldest chunk has waited {@code maxLatency}, on {@link #flush()}, and before
 * every {@link #pause}. Every chunk is also folded in memory (F2–F5), which gives the turn's
 * assistant message for the history without reading the stream back.
 *
 * <p>Not thread-safe: a turn's {@code run} writes from one thread. Once the turn is stopped, every
 * write throws {@link TurnCancelledException}.
 */
public final class ChunkWriter {
  static final int DEFAULT_MAX_BATCH = 32;
  static final Duration DEFAULT_MAX_LATENCY = Duration.ofMillis(50);

  private final DurableChat chat;
  private final String sessionId;
  private final String runId;
  private String messageId;
  private final Cancellation cancellation;
  private final LongSupplier nanoTime;
  private final int maxBatch;
  private final long maxLatencyNanos;
  private ChunkFold fold = ChunkFold.create();
  private @Nullable String finishReason;
  private @Nullable JsonValue finishMetadata;
  private final List<OutEvent> buffer = new ArrayList<>();
  private long bufferedSince;
  private boolean started;
  private boolean ended;
  private int nextPartId;
  private int appends;
  private @Nullable String errorText;

  ChunkWriter(
      DurableChat chat,
      String sessionId,
      String runId,
      String messageId,
      Cancellation cancellation,
      LongSupplier nanoTime,
      int maxBatch,
      Duration maxLatency) {
    this.chat = chat;
    this.sessionId = sessionId;
    this.runId = runId;
    this.messageId = messageId;
    this.cancellation = cancellation;
    this.nanoTime = nanoTime;
    this.maxBatch = maxBatch;
    this.maxLatencyNanos = maxLatency.toNanos();
  }

  /** The id of the assistant message this writer writes (named by its {@code start} chunk). */
  public String messageId() {
    return messageId;
  }

  /**
   * Continues an assistant message of the history instead of starting a new one, as the AI SDK does
   * when a client sends back a tool output or an approval (F2, H6): the {@code start} chunk names
   * the message's id, and the message this writer folds to is {@code message} with the new parts,
   * so the turn's reply replaces it in place (H3). Call it before writing anything.
   *
   * @throws IllegalStateException if a chunk was written already
   * @throws IllegalArgumentException if {@code message} is not an assistant message
   */
  public ChunkWriter continueMessage(UIMessage message) {
    Objects.requireNonNull(message, "message must not be null");
    if (started) {
      throw new IllegalStateException(
          "message [" + messageId + "] already started; continue a message before writing");
    }
    if (!message.role().equals("assistant")) {
      throw new IllegalArgumentException(
          "message [" + message.id() + "] is a [" + message.role() + "] message, not assistant");
    }
    this.fold = ChunkFold.continuing(message);
    this.messageId = message.id();
    return write(chunk("start").put("messageId", messageId).build());
  }

  /**
   * What the {@code finish} chunk the runtime writes at the end of the turn carries: the finish
   * reason ({@code stop}, {@code tool-calls}, ...) and message metadata (deep-merged, F2). A
   * stopped turn ends with {@code abort} and carries neither.
   */
  public ChunkWriter finishWith(@Nullable String finishReason, @Nullable JsonValue metadata) {
    this.finishReason = finishReason;
    this.finishMetadata = metadata;
    return this;
  }

  /** Whether the turn was stopped; writes then throw {@link TurnCancelledException}. */
  public boolean isCancelled() {
    return cancellation.isCancelled();
  }

  /** Writes a whole text part: {@code text-start}, one {@code text-delta}, {@code text-end}. */
  public ChunkWriter text(String text) {
    String id = textStart();
    textDelta(id, text);
    return textEnd(id);
  }

  /** Starts a text part; returns its id for the deltas and the end. */
  public String textStart() {
    String id = "t" + nextPartId++;
    write(chunk("text-start").put("id", id).build());
    return id;
  }

  /** Appends to a streaming text part. */
  public ChunkWriter textDelta(String id, String delta) {
    return write(chunk("text-delta").put("id", id).put("delta", delta).build());
  }

  /** Ends a text part. */
  public ChunkWriter textEnd(String id) {
    return write(chunk("text-end").put("id", id).build());
  }

  /** Writes a whole reasoning part. */
  public ChunkWriter reasoning(String text) {
    String id = reasoningStart();
    reasoningDelta(id, text);
    return reasoningEnd(id);
  }

  /** Starts a reasoning part; returns its id. */
  public String reasoningStart() {
    String id = "r" + nextPartId++;
    write(chunk("reasoning-start").put("id", id).build());
    return id;
  }

  /** Appends to a streaming reasoning part. */
  public ChunkWriter reasoningDelta(String id, String delta) {
    return write(chunk("reasoning-delta").put("id", id).put("delta", delta).build());
  }

  /** Ends a reasoning part. */
  public ChunkWriter reasoningEnd(String id) {
    return write(chunk("reasoning-end").put("id", id).build());
  }

  /** Starts streaming a tool call's input ({@code tool-input-start}). */
  public ChunkWriter toolInputStart(String toolCallId, String toolName) {
    return write(
        chunk("tool-input-start").put("toolCallId", toolCallId).put("toolName", toolName).build());
  }

  /** Appends to a tool call's streaming input text ({@code tool-input-delta}). */
  public ChunkWriter toolInputDelta(String toolCallId, String inputTextDelta) {
    return write(
        chunk("tool-input-delta")
            .put("toolCallId", toolCallId)
            .put("inputTextDelta", inputTextDelta)
            .build());
  }

  /** The tool call's complete input ({@code tool-input-available}). */
  public ChunkWriter toolInputAvailable(String toolCallId, String toolName, JsonValue input) {
    return write(
        chunk("tool-input-available")
            .put("toolCallId", toolCallId)
            .put("toolName", toolName)
            .put("input", input)
            .build());
  }

  /** A whole tool call: {@code tool-input-start}, then {@code tool-input-available}. */
  public ChunkWriter toolCall(String toolCallId, String toolName, JsonValue input) {
    toolInputStart(toolCallId, toolName);
    return toolInputAvailable(toolCallId, toolName, input);
  }

  /** The tool call's output ({@code tool-output-available}). */
  public ChunkWriter toolOutput(String toolCallId, JsonValue output) {
    return write(
        chunk("tool-output-available").put("toolCallId", toolCallId).put("output", output).build());
  }

  /** The tool call failed ({@code tool-output-error}). */
  public ChunkWriter toolError(String toolCallId, String errorText) {
    return write(
        chunk("tool-output-error")
            .put("toolCallId", toolCallId)
            .put("errorText", errorText)
            .build());
  }

  /**
   * A data part (F5): {@code type} must start with {@code data-}; the same type and id replace an
   * earlier part's data.
   */
  public ChunkWriter data(String type, @Nullable String id, JsonValue data) {
    if (!type.startsWith("data-")) {
      throw new IllegalArgumentException("data part type [" + type + "] must start with [data-]");
    }
    return write(
        JsonObject.builder().put("type", type).putIfNotNull("id", id).put("data", data).build());
  }

  /** Writes any chunk as it is (unknown types pass through, F6). */
  public ChunkWriter write(UIMessageChunk chunk) {
    Objects.requireNonNull(chunk, "chunk must not be null");
    if (cancellation.isCancelled()) {
      throw new TurnCancelledException(
          "message [" + messageId + "] of run [" + runId + "]: the turn was stopped");
    }
    if (ended) {
      throw new IllegalStateException(
          "message ["
              + messageId
              + "] is finished; expected no more chunks, got ["
              + chunk.type()
              + "]");
    }
    if (!started && !chunk.type().equals("start")) {
      started = true;
      enqueue(new UIMessageChunk(chunk("start").put("messageId", messageId).build()));
    }
    started = true;
    enqueue(chunk);
    return this;
  }

  private ChunkWriter write(JsonObject chunk) {
    return write(new UIMessageChunk(chunk));
  }

  /** Sends the buffered chunks now, in one append. */
  public ChunkWriter flush() {
    if (!buffer.isEmpty()) {
      chat.appendOut(sessionId, runId, List.copyOf(buffer));
      buffer.clear();
      appends++;
    }
    return this;
  }

  /**
   * Flushes, then waits up to the duration, ending early when the turn is stopped.
   *
   * @throws TurnCancelledException if the turn is stopped before or during the wait
   */
  public void pause(Duration duration) {
    flush();
    if (cancellation.await(duration)) {
      throw new TurnCancelledException(
          "message [" + messageId + "] of run [" + runId + "]: the turn was stopped");
    }
  }

  private void enqueue(UIMessageChunk chunk) {
    // Folding first refuses a chunk the AI SDK would refuse, before it reaches the stream.
    fold.accept(chunk);
    if (chunk.type().equals("error")) {
      errorText = chunk.json().string("errorText").orElse("");
    }
    if (buffer.isEmpty()) {
      bufferedSince = nanoTime.getAsLong();
    }
    buffer.add(OutEvent.Chunk.of(chunk));
    if (buffer.size() >= maxBatch || nanoTime.getAsLong() - bufferedSince >= maxLatencyNanos) {
      flush();
    }
  }

  private static JsonObject.Builder chunk(String type) {
    return JsonObject.builder().put("type", type);
  }

  // ------------------------------------------------------------ runtime side

  /** Writes {@code finish} (only if the message was started) and flushes. */
  void finish() {
    if (started && !ended) {
      enqueue(
          new UIMessageChunk(
              chunk("finish")
                  .putIfNotNull("finishReason", finishReason)
                  .putIfNotNull("messageMetadata", finishMetadata)
                  .build()));
      ended = true;
    }
    flush();
  }

  /**
   * Ends a stopped message (L7): an {@code abort} chunk and no {@code finish}, so a replay cleans
   * it up as a partial exactly as {@link #message()} does here (H4).
   */
  void abort() {
    if (started && !ended) {
      enqueue(new UIMessageChunk(chunk("abort").build()));
      ended = true;
    }
    flush();
  }

  /** Writes an {@code error} chunk for a failed run (the message stays open for finish). */
  void error(String text) {
    if (!ended) {
      enqueue(new UIMessageChunk(chunk("error").put("errorText", text).build()));
    }
  }

  /**
   * The assistant message as written so far: the full fold after {@code finish}, else the H4
   * partial (dangling tool inputs dropped, streaming text marked done, empty if nothing is left).
   */
  Optional<UIMessage> message() {
    return fold.finished() ? fold.message() : fold.partial();
  }

  boolean started() {
    return started;
  }

  int appendCount() {
    return appends;
  }

  @Nullable String errorText() {
    return errorText;
  }
}
