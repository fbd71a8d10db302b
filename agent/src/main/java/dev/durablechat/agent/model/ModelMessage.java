package dev.durablechat.agent.model;

import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One message of a model's input, independent of any model framework: what the UI message history
 * says to the model ({@link ModelHistory}). Each framework adapter maps these to its own types.
 */
public sealed interface ModelMessage {

  /** The agent's instructions (the system prompt). */
  record SystemPrompt(String text) implements ModelMessage {
    /** Checks the text. */
    public SystemPrompt {
      Objects.requireNonNull(text, "system prompt must not be null");
    }
  }

  /** A user message: text and files, in order. */
  record UserInput(List<Content> content) implements ModelMessage {
    /** Copies the content. */
    public UserInput {
      content = List.copyOf(content);
    }

    /** The text parts, joined. */
    public String text() {
      var sb = new StringBuilder();
      for (Content c : content) {
        if (c instanceof Text t) {
          sb.append(t.text());
        }
      }
      return sb.toString();
    }
  }

  /** Content of a user message. */
  sealed interface Content {}

  /** Text. */
  record Text(String text) implements Content {
    /** Checks the text. */
    public Text {
      Objects.requireNonNull(text, "text must not be null");
    }
  }

  /** A file by URL (often a {@code data:} URL), with its media type. */
  record File(String mediaType, String url, @Nullable String filename) implements Content {
    /** Checks the fields. */
    public File {
      Objects.requireNonNull(mediaType, "media type must not be null");
      Objects.requireNonNull(url, "url must not be null");
    }
  }

  /**
   * One step of an assistant message: its text, its reasoning (empty if none; frameworks that
   * cannot carry it drop it) and the tool calls it made, in order.
   */
  record AssistantOutput(String text, String reasoning, List<ToolCall> toolCalls)
      implements ModelMessage {
    /** Copies the calls. */
    public AssistantOutput {
      Objects.requireNonNull(text, "text must not be null");
      Objects.requireNonNull(reasoning, "reasoning must not be null");
      toolCalls = List.copyOf(toolCalls);
    }
  }

  /** A tool call: its id, the tool's name, and its arguments as JSON text. */
  record ToolCall(String id, String name, String arguments) {
    /** Checks the fields. */
    public ToolCall {
      Objects.requireNonNull(id, "tool call id must not be null");
      Objects.requireNonNull(name, "tool name must not be null");
      Objects.requireNonNull(arguments, "tool arguments must not be null");
    }
  }

  /**
   * A tool's result as the model reads it: the output (a string output as it is, any other JSON as
   * JSON text), the error text of a failed call, or the reason of a denied one ({@code Tool
   * execution denied.} without one), as the AI SDK's OpenAI provider writes it.
   *
   * @param isError whether the call failed or was denied
   */
  record ToolResult(String toolCallId, String toolName, String content, boolean isError)
      implements ModelMessage {
    /** Checks the fields. */
    public ToolResult {
      Objects.requireNonNull(toolCallId, "tool call id must not be null");
      Objects.requireNonNull(toolName, "tool name must not be null");
      Objects.requireNonNull(content, "tool result must not be null");
    }
  }
}
