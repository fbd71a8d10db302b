package dev.durablechat.agent.model;

import dev.durablechat.api.Json;
import dev.durablechat.api.JsonBoolean;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonString;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.UIMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Converts a UI message history to model messages the way the AI SDK's {@code
 * convertToModelMessages} does: the system prompt first; a user message's text and files; an
 * assistant message cut into steps at its {@code step-start} parts, each step one {@link
 * ModelMessage.AssistantOutput} (text, reasoning, tool calls) followed by one {@link
 * ModelMessage.ToolResult} per call that has an output, an error or a denial. Tool calls still
 * waiting for an output or an approval are left out (a model refuses a call without a result). Data
 * parts are dropped unless a {@link DataParts} hook maps them; transient data is never in the
 * history (F5), so it never reaches the model.
 */
public final class ModelHistory {
  /** What the AI SDK's OpenAI provider tells a model whose tool call was denied without reason. */
  public static final String DENIED = "Tool execution denied.";

  /** Maps a data part ({@code data-*}) to content the model sees; empty drops it (the default). */
  @FunctionalInterface
  public interface DataParts {
    /** The content for the part, or empty to drop it. */
    Optional<ModelMessage.Content> map(UIMessage message, JsonObject part);
  }

  private ModelHistory() {}

  /**
   * The model messages for the history.
   *
   * @param systemPrompt the agent's instructions, or null for none
   * @param messages the history, oldest first (system messages in it become system prompts)
   * @param dataParts maps data parts; {@code (m, p) -> Optional.empty()} drops them
   */
  public static List<ModelMessage> convert(
      @Nullable String systemPrompt, List<UIMessage> messages, DataParts dataParts) {
    var out = new ArrayList<ModelMessage>();
    if (systemPrompt != null && !systemPrompt.isEmpty()) {
      out.add(new ModelMessage.SystemPrompt(systemPrompt));
    }
    for (UIMessage m : messages) {
      switch (m.role()) {
        case "system" -> {
          String text = m.text();
          if (!text.isEmpty()) {
            out.add(new ModelMessage.SystemPrompt(text));
          }
        }
        case "user" -> user(m, dataParts, out);
        case "assistant" -> assistant(m, dataParts, out);
        default -> {
          // An unknown role says nothing the model could read.
        }
      }
    }
    return out;
  }

  private static void user(UIMessage m, DataParts dataParts, List<ModelMessage> out) {
    var content = new ArrayList<ModelMessage.Content>();
    for (JsonObject part : m.parts()) {
      String type = part.string("type").orElse("");
      if (type.equals("text")) {
        content.add(new ModelMessage.Text(part.string("text").orElse("")));
      } else if (type.equals("file")) {
        content.add(
            new ModelMessage.File(
                part.string("mediaType").orElse("application/octet-stream"),
                part.string("url").orElse(""),
                part.string("filename").orElse(null)));
      } else if (type.startsWith("data-")) {
        dataParts.map(m, part).ifPresent(content::add);
      }
    }
    if (!content.isEmpty()) {
      out.add(new ModelMessage.UserInput(content));
    }
  }

  private static void assistant(UIMessage m, DataParts dataParts, List<ModelMessage> out) {
    var step = new Step();
    for (JsonObject part : m.parts()) {
      String type = part.string("type").orElse("");
      if (type.equals("step-start")) {
        step.flush(out);
        step = new Step();
      } else if (type.equals("text")) {
        step.text.append(part.string("text").orElse(""));
      } else if (type.equals("reasoning")) {
        step.reasoning.append(part.string("text").orElse(""));
      } else if (type.startsWith("tool-") || type.equals("dynamic-tool")) {
        step.tool(type, part);
      } else if (type.startsWith("data-")) {
        if (dataParts.map(m, part).orElse(null) instanceof ModelMessage.Text t) {
          step.text.append(t.text());
        }
      }
    }
    step.flush(out);
  }

  /** The name of a tool part's tool: {@code tool-NAME}, or a dynamic tool's {@code toolName}. */
  static String toolName(String type, JsonObject part) {
    return type.equals("dynamic-tool")
        ? part.string("toolName").orElse("")
        : type.substring("tool-".length());
  }

  /** The text a model reads for a tool output: a string as it is, other JSON as JSON text. */
  public static String outputText(@Nullable JsonValue output) {
    if (output == null) {
      return "null";
    }
    return output instanceof JsonString s ? s.value() : Json.write(output);
  }

  private static final class Step {
    final StringBuilder text = new StringBuilder();
    final StringBuilder reasoning = new StringBuilder();
    final List<ModelMessage.ToolCall> calls = new ArrayList<>();
    final List<ModelMessage.ToolResult> results = new ArrayList<>();

    void tool(String type, JsonObject part) {
      if (part.get("providerExecuted") instanceof JsonBoolean executed && executed.value()) {
        return; // the provider ran it; the provider keeps its result
      }
      String state = part.string("state").orElse("");
      String id = part.string("toolCallId").orElse("");
      String name = toolName(type, part);
      ModelMessage.ToolResult result =
          switch (state) {
            case "output-available" ->
                new ModelMessage.ToolResult(id, name, outputText(part.get("output")), false);
            case "output-error" ->
                new ModelMessage.ToolResult(id, name, part.string("errorText").orElse(""), true);
            case "output-denied" -> new ModelMessage.ToolResult(id, name, denial(part), true);
            default -> null;
          };
      if (result == null) {
        return;
      }
      JsonValue input = part.get("input");
      calls.add(new ModelMessage.ToolCall(id, name, input == null ? "{}" : Json.write(input)));
      results.add(result);
    }

    void flush(List<ModelMessage> out) {
      if (text.length() > 0 || reasoning.length() > 0 || !calls.isEmpty()) {
        out.add(new ModelMessage.AssistantOutput(text.toString(), reasoning.toString(), calls));
        out.addAll(results);
      }
    }
  }

  /** The denial reason the model reads (AI SDK: the approval's reason, else {@link #DENIED}). */
  static String denial(JsonObject part) {
    if (part.get("approval") instanceof JsonObject approval
        && approval.get("reason") instanceof JsonString reason) {
      return reason.value();
    }
    return DENIED;
  }
}
