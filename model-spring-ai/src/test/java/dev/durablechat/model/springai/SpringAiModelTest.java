package dev.durablechat.model.springai;

import dev.durablechat.agent.model.ModelAdapterContract;
import dev.durablechat.agent.model.ModelLoop;
import org.junit.jupiter.api.DisplayName;
import org.springframework.ai.openai.OpenAiChatModel;
import org.springframework.ai.openai.OpenAiChatOptions;
import org.springframework.ai.tool.annotation.Tool;
import org.springframework.ai.tool.annotation.ToolParam;
import org.springframework.ai.tool.definition.ToolDefinition;

/**
 * The model adapter contract on Spring AI's real {@code OpenAiChatModel} against the loopback
 * chat-completions server; tools are {@code @Tool} methods and a {@code ToolDefinition} for the
 * client-side tool.
 */
@DisplayName("Spring AI: a ChatModel's stream(Prompt) drives the agent's turns")
class SpringAiModelTest extends ModelAdapterContract {

  /** The test's server tools, as Spring AI users write them. */
  static final class Tools {
    @Tool(name = "word_count", description = "Counts the words of a text")
    int wordCount(@ToolParam(description = "the text") String text) {
      return text.isBlank() ? 0 : text.trim().split("\\s+").length;
    }

    @Tool(name = "delete_file", description = "Deletes a file")
    String deleteFile(@ToolParam(description = "the path") String path) {
      return "deleted " + path;
    }
  }

  /** Spring AI's OpenAiChatModel merges tool-call chunks before stream() hands them over. */
  @Override
  protected boolean streamsToolArguments() {
    return false;
  }

  /**
   * The OpenAI Java client's stream close waits for the blocked read it should interrupt: the
   * adapter disposes off the turn's thread, so the turn stops at once, but the connection stays
   * open until the server sends again.
   */
  @Override
  protected boolean cancelClosesTheConnection() {
    return false;
  }

  @Override
  protected ModelLoop loop(String baseUrl, String apiKey, int maxSteps) {
    var openAi =
        OpenAiChatModel.builder()
            .options(
                OpenAiChatOptions.builder()
                    .baseUrl(baseUrl)
                    .apiKey(apiKey)
                    .model("loopback-model")
                    .maxRetries(0)
                    .build())
            .build();
    return SpringAiModel.builder(openAi)
        .systemPrompt(SYSTEM)
        .tools(new Tools())
        .clientTool(
            ToolDefinition.builder()
                .name("pick_color")
                .description("Asks the user")
                .inputSchema("{\"type\":\"object\",\"properties\":{}}")
                .build())
        .needsApproval("delete_file")
        .maxSteps(maxSteps)
        .build()
        .loop();
  }
}
