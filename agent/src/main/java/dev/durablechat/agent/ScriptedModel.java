package dev.durablechat.agent;

import dev.durablechat.api.JsonValue;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A deterministic stand-in for a model: it plays a fixed script of reasoning, text and tool calls
 * (with their inputs and outputs) through a {@link ChunkWriter}, with a configurable delay before
 * every chunk. No network, no randomness: the same script writes the same chunks every time.
 *
 * <pre>{@code
 * ScriptedModel model = ScriptedModel.builder()
 *     .reasoning("the user wants the weather")
 *     .toolCall("weather", Json.parse("{\"city\":\"Oslo\"}"), Json.parse("{\"tempC\":4}"))
 *     .text("It is 4 °C in Oslo.")
 *     .chunkDelay(Duration.ofMillis(5))
 *     .build();
 * agent.run((turn, out) -> model.play(out));
 * }</pre>
 */
public final class ScriptedModel {
  private final List<Step> steps;
  private final Duration chunkDelay;
  private final @Nullable Sleeper sleeper;

  private ScriptedModel(Builder b) {
    this.steps = List.copyOf(b.steps);
    this.chunkDelay = b.chunkDelay;
    this.sleeper = b.sleeper;
  }

  /** An empty script. */
  public static Builder builder() {
    return new Builder();
  }

  private sealed interface Step {}

  private record Text(String text) implements Step {}

  private record Reasoning(String text) implements Step {}

  private record ToolCall(String name, JsonValue input, JsonValue output) implements Step {}

  /**
   * Writes the script through the writer: text and reasoning as one delta per word, each tool call
   * as {@code tool-input-start}, {@code tool-input-available} and {@code tool-output-available}
   * with the call id {@code call_<n>} (n counts the script's tool calls from 0). Waits {@code
   * chunkDelay} before every chunk.
   *
   * @throws TurnCancelledException if the turn is stopped meanwhile
   */
  public void play(ChunkWriter out) {
    int calls = 0;
    for (Step step : steps) {
      if (step instanceof Text t) {
        delay(out);
        String id = out.textStart();
        for (String word : words(t.text())) {
          delay(out);
          out.textDelta(id, word);
        }
        out.textEnd(id);
      } else if (step instanceof Reasoning r) {
        delay(out);
        String id = out.reasoningStart();
        for (String word : words(r.text())) {
          delay(out);
          out.reasoningDelta(id, word);
        }
        out.reasoningEnd(id);
      } else if (step instanceof ToolCall c) {
        String callId = "call_" + calls++;
        delay(out);
        out.toolInputStart(callId, c.name());
        delay(out);
        out.toolInputAvailable(callId, c.name(), c.input());
        delay(out);
        out.toolOutput(callId, c.output());
      }
    }
  }

  private void delay(ChunkWriter out) {
    if (chunkDelay.isZero()) {
      return;
    }
    if (sleeper == null) {
      out.pause(chunkDelay);
      return;
    }
    out.flush();
    try {
      sleeper.sleep(chunkDelay);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TurnCancelledException(
          "message [" + out.messageId() + "]: interrupted while waiting between chunks");
    }
  }

  /** The text cut after each space, so that the deltas concatenate to the text exactly. */
  static List<String> words(String text) {
    var words = new ArrayList<String>();
    int from = 0;
    for (int i = 0; i < text.length(); i++) {
      if (text.charAt(i) == ' ') {
        words.add(text.substring(from, i + 1));
        from = i + 1;
      }
    }
    if (from < text.length() || words.isEmpty()) {
      words.add(text.substring(from));
    }
    return words;
  }

  /** Builds a {@link ScriptedModel}. */
  public static final class Builder {
    private final List<Step> steps = new ArrayList<>();
    private Duration chunkDelay = Duration.ZERO;
    private @Nullable Sleeper sleeper;

    private Builder() {}

    /** A text part. */
    public Builder text(String text) {
      steps.add(new Text(Objects.requireNonNull(text, "text must not be null")));
      return this;
    }

    /** A reasoning part. */
    public Builder reasoning(String text) {
      steps.add(new Reasoning(Objects.requireNonNull(text, "reasoning must not be null")));
      return this;
    }

    /** A tool call with its input and the output the tool returns. */
    public Builder toolCall(String toolName, JsonValue input, JsonValue output) {
      steps.add(
          new ToolCall(
              Objects.requireNonNull(toolName, "tool name must not be null"),
              Objects.requireNonNull(input, "tool input must not be null"),
              Objects.requireNonNull(output, "tool output must not be null")));
      return this;
    }

    /** The wait before every chunk; default none. */
    public Builder chunkDelay(Duration chunkDelay) {
      if (chunkDelay.isNegative()) {
        throw new IllegalArgumentException("chunk delay [" + chunkDelay + "] must not be negative");
      }
      this.chunkDelay = chunkDelay;
      return this;
    }

    /**
     * How to wait; default: wait on the turn's stop signal (a stop ends the wait at once). A custom
     * sleeper's waits are not cut short by a stop, but the next write still refuses.
     */
    public Builder sleeper(Sleeper sleeper) {
      this.sleeper = Objects.requireNonNull(sleeper, "sleeper must not be null");
      return this;
    }

    /** The model. */
    public ScriptedModel build() {
      return new ScriptedModel(this);
    }
  }
}
