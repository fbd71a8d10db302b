package dev.durablechat.cli;

import dev.durablechat.agent.ChatAgent;
import dev.durablechat.api.JsonValue;
import dev.durablechat.model.langchain4j.LangChain4jModel;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.http.client.jdk.JdkHttpClient;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import java.net.URI;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * The demo agent on a real model: any OpenAI-compatible chat-completions endpoint (OpenAI, Ollama,
 * vLLM, llama.cpp's server) through the LangChain4j adapter, with the demo's {@code word_count}
 * tool (input {@code {"text": string}}) offered to the model. A model error (unreachable endpoint,
 * refused key) ends the turn with an {@code error} chunk naming it; the server goes on.
 */
final class ModelAgent {
  static final String OPENAI_API_KEY_ENV = "OPENAI_API_KEY";
  static final String SYSTEM_PROMPT =
      "You are the durablechat demo assistant. When the user asks about the length of a text, call"
          + " the word_count tool with that text. Answer briefly.";

  private ModelAgent() {}

  /**
   * Checks the options: both or neither of the URL and the model name; an absolute http(s) URL.
   *
   * @return the problem, or null if they are fine
   */
  static @Nullable String problem(@Nullable String baseUrl, @Nullable String model) {
    if (baseUrl == null && model == null) {
      return null;
    }
    if (baseUrl == null) {
      return "--model [" + model + "] needs --model-base-url";
    }
    if (model == null || model.isBlank()) {
      return "--model-base-url [" + baseUrl + "] needs --model NAME";
    }
    try {
      URI uri = new URI(baseUrl);
      if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
          || uri.getHost() == null) {
        return "--model-base-url [" + baseUrl + "] must be an absolute http(s) URL";
      }
    } catch (java.net.URISyntaxException e) {
      return "--model-base-url [" + baseUrl + "] is not a URL: " + e.getReason();
    }
    return null;
  }

  /**
   * The demo agent answering with the model.
   *
   * @param apiKey the key, or null for an endpoint that needs none (a placeholder is sent)
   */
  static ChatAgent<JsonValue> agent(String baseUrl, String model, @Nullable String apiKey) {
    var openAi =
        OpenAiStreamingChatModel.builder()
            .httpClientBuilder(JdkHttpClient.builder().connectTimeout(Duration.ofSeconds(10)))
            .baseUrl(baseUrl)
            .apiKey(apiKey == null || apiKey.isEmpty() ? "no-key" : apiKey)
            .modelName(model)
            .timeout(Duration.ofSeconds(120))
            .build();
    LangChain4jModel adapter =
        LangChain4jModel.builder(openAi)
            .systemPrompt(SYSTEM_PROMPT)
            .tool(
                ToolSpecification.builder()
                    .name("word_count")
                    .description("Counts the words and characters of a text")
                    .parameters(
                        JsonObjectSchema.builder()
                            .addStringProperty("text", "the text to count")
                            .required("text")
                            .build())
                    .build(),
                (toolCallId, arguments) -> {
                  String text = text(arguments);
                  return "{\"words\":"
                      + ServeCommand.wordCount(text)
                      + ",\"characters\":"
                      + text.codePointCount(0, text.length())
                      + "}";
                })
            .build();
    return ChatAgent.builder(ServeCommand.AGENT_ID).run(adapter::respond).build();
  }

  /** The {@code text} argument of a word_count call. */
  private static String text(String arguments) {
    if (dev.durablechat.api.Json.parse(arguments) instanceof dev.durablechat.api.JsonObject o
        && o.get("text") instanceof dev.durablechat.api.JsonString s) {
      return s.value();
    }
    throw new IllegalArgumentException("word_count needs {\"text\": string}, got " + arguments);
  }
}
