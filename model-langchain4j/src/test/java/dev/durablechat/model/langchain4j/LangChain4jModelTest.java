package dev.durablechat.model.langchain4j;

import dev.durablechat.agent.model.ModelAdapterContract;
import dev.durablechat.agent.model.ModelLoop;
import dev.langchain4j.agent.tool.P;
import dev.langchain4j.agent.tool.Tool;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.http.client.jdk.JdkHttpClient;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;

/**
 * The model adapter contract on LangChain4j's real {@code OpenAiStreamingChatModel} (JDK HTTP
 * client) against the loopback chat-completions server; tools are {@code @Tool} methods and a
 * {@code ToolSpecification} for the client-side tool.
 */
@DisplayName("LangChain4j: a StreamingChatModel drives the agent's turns")
class LangChain4jModelTest extends ModelAdapterContract {

  /** The test's server tools, as LangChain4j users write them. */
  static final class Tools {
    @Tool(name = "word_count", value = "Counts the words of a text")
    int wordCount(@P("the text") String text) {
      return text.isBlank() ? 0 : text.trim().split("\\s+").length;
    }

    @Tool(name = "delete_file", value = "Deletes a file")
    String deleteFile(@P("the path") String path) {
      return "deleted " + path;
    }
  }

  @Override
  protected ModelLoop loop(String baseUrl, String apiKey, int maxSteps) {
    var openAi =
        OpenAiStreamingChatModel.builder()
            .httpClientBuilder(JdkHttpClient.builder())
            .baseUrl(baseUrl)
            .apiKey(apiKey)
            .modelName("loopback-model")
            .timeout(Duration.ofSeconds(60))
            .build();
    return LangChain4jModel.builder(openAi)
        .systemPrompt(SYSTEM)
        .tools(new Tools())
        .clientTool(
            ToolSpecification.builder().name("pick_color").description("Asks the user").build())
        .needsApproval("delete_file")
        .maxSteps(maxSteps)
        .build()
        .loop();
  }
}
