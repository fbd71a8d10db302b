package dev.durablechat.agent.model;

import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Receives one model call's stream from a framework adapter, from whatever thread the framework
 * calls back on; the {@link ModelLoop} writes the chunks on the turn's own thread. A call ends with
 * exactly one {@link #finish} or {@link #error}; anything after it is ignored.
 */
public final class StepSink {
  sealed interface Event {}

  record TextDelta(String delta) implements Event {}

  record ReasoningDelta(String delta) implements Event {}

  record ToolInputDelta(int index, @Nullable String id, @Nullable String name, String delta)
      implements Event {}

  record ToolCallDone(int index, String id, String name, String arguments) implements Event {}

  record Finished(String finishReason, @Nullable Usage usage) implements Event {}

  record Failed(Throwable error) implements Event {}

  /**
   * Token usage of a call; a null count is unknown.
   *
   * @param inputTokens prompt tokens
   * @param outputTokens completion tokens
   * @param totalTokens both
   */
  public record Usage(
      @Nullable Long inputTokens, @Nullable Long outputTokens, @Nullable Long totalTokens) {}

  private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
  private volatile boolean ended;

  StepSink() {}

  /** A text delta. */
  public void text(String delta) {
    if (!delta.isEmpty()) {
      offer(new TextDelta(delta));
    }
  }

  /** A reasoning (thinking) delta. */
  public void reasoning(String delta) {
    if (!delta.isEmpty()) {
      offer(new ReasoningDelta(delta));
    }
  }

  /**
   * A piece of a tool call's arguments as it streams.
   *
   * @param index the call's position in the step (parallel calls stream interleaved)
   * @param toolCallId the call's id, if known yet
   * @param toolName the tool's name, if known yet
   * @param argumentsDelta the next piece of the arguments' JSON text
   */
  public void toolInput(
      int index, @Nullable String toolCallId, @Nullable String toolName, String argumentsDelta) {
    offer(new ToolInputDelta(index, toolCallId, toolName, argumentsDelta));
  }

  /** A tool call is complete, with all its arguments (JSON text). */
  public void toolCall(int index, String toolCallId, String toolName, String arguments) {
    offer(
        new ToolCallDone(
            index,
            Objects.requireNonNull(toolCallId, "tool call id must not be null"),
            Objects.requireNonNull(toolName, "tool name must not be null"),
            arguments == null || arguments.isBlank() ? "{}" : arguments));
  }

  /**
   * The call finished.
   *
   * @param finishReason the AI SDK's name ({@link #finishReason(String)} maps provider names)
   * @param usage token usage, or null if the model did not report it
   */
  public void finish(String finishReason, @Nullable Usage usage) {
    offer(new Finished(finishReason, usage));
    ended = true;
  }

  /** The call failed (an HTTP error, a broken stream, a timeout). */
  public void error(Throwable error) {
    offer(new Failed(error));
    ended = true;
  }

  private void offer(Event event) {
    if (!ended) {
      events.add(event);
    }
  }

  @Nullable Event poll(long millis) throws InterruptedException {
    return events.poll(millis, TimeUnit.MILLISECONDS);
  }

  /**
   * The AI SDK's finish reason for a provider's: {@code stop}, {@code length}, {@code
   * content-filter}, {@code tool-calls}, {@code error}, {@code other}; null or empty is {@code
   * unknown}. Accepts OpenAI's names ({@code tool_calls}, {@code content_filter}) and framework
   * enum names ({@code TOOL_EXECUTION}, {@code STOP}) alike.
   */
  public static String finishReason(@Nullable String providerReason) {
    if (providerReason == null || providerReason.isBlank()) {
      return "unknown";
    }
    return switch (providerReason.toLowerCase(Locale.ROOT).replace('_', '-')) {
      case "stop", "end-turn", "end" -> "stop";
      case "length", "max-tokens" -> "length";
      case "content-filter" -> "content-filter";
      case "tool-calls", "tool-execution", "function-call", "tool-use" -> "tool-calls";
      case "error" -> "error";
      default -> "other";
    };
  }
}
