package dev.durablechat.agent.model;

import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonNull;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** Builds {@code chat.completion.chunk} objects as OpenAI streams them. */
public final class Completions {
  private Completions() {}

  private static JsonObject chunk(JsonValue delta, @Nullable String finishReason) {
    return JsonObject.builder()
        .put("id", "chatcmpl-loopback")
        .put("object", "chat.completion.chunk")
        .put("created", 1_700_000_000L)
        .put("model", "loopback-model")
        .put(
            "choices",
            JsonArray.of(
                JsonObject.builder()
                    .put("index", 0)
                    .put("delta", delta)
                    .put(
                        "finish_reason",
                        finishReason == null ? JsonNull.INSTANCE : JsonValue.of(finishReason))
                    .build()))
        .build();
  }

  /** The first chunk: the assistant role, empty content. */
  public static JsonObject role() {
    return chunk(JsonObject.builder().put("role", "assistant").put("content", "").build(), null);
  }

  /** A text delta. */
  public static JsonObject text(String delta) {
    return chunk(JsonObject.builder().put("content", delta).build(), null);
  }

  /** The first delta of a tool call: its id and name, no arguments yet. */
  public static JsonObject toolStart(int index, String id, String name) {
    return chunk(
        JsonObject.builder()
            .put(
                "tool_calls",
                JsonArray.of(
                    JsonObject.builder()
                        .put("index", index)
                        .put("id", id)
                        .put("type", "function")
                        .put(
                            "function",
                            JsonObject.builder().put("name", name).put("arguments", "").build())
                        .build()))
            .build(),
        null);
  }

  /** A piece of a tool call's arguments. */
  public static JsonObject toolArgs(int index, String piece) {
    return chunk(
        JsonObject.builder()
            .put(
                "tool_calls",
                JsonArray.of(
                    JsonObject.builder()
                        .put("index", index)
                        .put("function", JsonObject.builder().put("arguments", piece).build())
                        .build()))
            .build(),
        null);
  }

  /** The last chunk of the choice, with its finish reason. */
  public static JsonObject finish(String reason) {
    return chunk(JsonObject.empty(), reason);
  }

  /** The usage chunk ({@code stream_options.include_usage}): no choices. */
  public static JsonObject usage(long prompt, long completion) {
    return JsonObject.builder()
        .put("id", "chatcmpl-loopback")
        .put("object", "chat.completion.chunk")
        .put("created", 1_700_000_000L)
        .put("model", "loopback-model")
        .put("choices", JsonArray.of())
        .put(
            "usage",
            JsonObject.builder()
                .put("prompt_tokens", prompt)
                .put("completion_tokens", completion)
                .put("total_tokens", prompt + completion)
                .build())
        .build();
  }

  /** A whole streamed response. */
  public static LoopbackOpenAi.Stream stream(JsonObject... chunks) {
    return new LoopbackOpenAi.Stream(List.of(chunks), -1, -1);
  }

  /** A text answer cut into the pieces, ending {@code stop}, with usage. */
  public static LoopbackOpenAi.Stream answer(long prompt, long completion, String... pieces) {
    var chunks = new ArrayList<JsonObject>();
    chunks.add(role());
    for (String p : pieces) {
      chunks.add(text(p));
    }
    chunks.add(finish("stop"));
    chunks.add(usage(prompt, completion));
    return new LoopbackOpenAi.Stream(chunks, -1, -1);
  }

  /**
   * One tool call whose arguments arrive in the given pieces, ending {@code tool_calls}, with
   * usage.
   */
  public static LoopbackOpenAi.Stream call(String id, String name, String... argumentPieces) {
    var chunks = new ArrayList<JsonObject>();
    chunks.add(role());
    chunks.add(toolStart(0, id, name));
    for (String p : argumentPieces) {
      chunks.add(toolArgs(0, p));
    }
    chunks.add(finish("tool_calls"));
    chunks.add(usage(10, 5));
    return new LoopbackOpenAi.Stream(chunks, -1, -1);
  }
}
