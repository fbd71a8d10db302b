package dev.durablechat.agent.model;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A tool as the {@link ModelLoop} sees it: the name the model calls it by, how to run it on the
 * server (none for a client-side tool, whose output the client sends back), and whether a call
 * needs the user's approval first. The adapters build these from the frameworks' own tools; the
 * model learns the tool's schema from the framework.
 *
 * @param name the tool's name
 * @param executor runs the tool on the server; null for a client-side tool
 * @param needsApproval whether a call waits for the user's approval ({@code tool-approval-request})
 */
public record ModelTool(String name, @Nullable Executor executor, boolean needsApproval) {

  /** Runs a tool on the server. */
  @FunctionalInterface
  public interface Executor {
    /**
     * Runs the call.
     *
     * @param toolCallId the call's id
     * @param arguments the call's arguments as JSON text
     * @return the result: JSON text is passed on as JSON, any other text as a string
     * @throws Exception if the tool failed; its message becomes the call's error text
     */
    String execute(String toolCallId, String arguments) throws Exception;
  }

  /** Checks the name. */
  public ModelTool {
    Objects.requireNonNull(name, "tool name must not be null");
    if (name.isBlank()) {
      throw new IllegalArgumentException("tool name [" + name + "] must not be blank");
    }
  }

  /** A server tool. */
  public static ModelTool server(String name, Executor executor) {
    return new ModelTool(
        name, Objects.requireNonNull(executor, "executor must not be null"), false);
  }

  /** A client-side tool: a call ends the turn in {@code input-available}. */
  public static ModelTool client(String name) {
    return new ModelTool(name, null, false);
  }

  /** The same tool, needing the user's approval before it runs. */
  public ModelTool withApproval() {
    return new ModelTool(name, executor, true);
  }
}
