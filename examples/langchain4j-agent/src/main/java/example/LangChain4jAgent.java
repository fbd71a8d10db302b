package example;

import dev.durablechat.agent.AgentChat;
import dev.durablechat.agent.AgentRuntime;
import dev.durablechat.agent.ChatAgent;
import dev.durablechat.agent.Reply;
import dev.durablechat.api.Environment;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoreLoader;
import dev.durablechat.core.DurableChat;
import dev.durablechat.model.langchain4j.LangChain4jModel;
import dev.langchain4j.agent.tool.P;
import dev.langchain4j.agent.tool.Tool;
import dev.langchain4j.http.client.jdk.JdkHttpClient;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import java.time.Duration;
import java.util.Optional;

/**
 * A ChatAgent answered by LangChain4j's OpenAI client, with one server-side {@code @Tool}, in
 * memory (sessions, streams, snapshots): one session, one question, the reply printed as it
 * streams. The model is {@code OPENAI_BASE_URL} / {@code OPENAI_API_KEY} / {@code OPENAI_MODEL},
 * else the example's scripted loopback endpoint. Fails (non-zero exit) when no reply arrives.
 */
public final class LangChain4jAgent {
  private static final Duration WAIT = Duration.ofSeconds(60);

  /** The agent's tool: LangChain4j describes it to the model, the adapter runs it. */
  static final class WordTools {
    @Tool(name = "word_count", value = "Counts the words of a text")
    int wordCount(@P("the text") String text) {
      return text.isBlank() ? 0 : text.trim().split("\\s+").length;
    }
  }

  public static void main(String[] args) throws Exception {
    String baseUrl = System.getenv("OPENAI_BASE_URL");
    ScriptedOpenAi scripted = null;
    if (baseUrl == null || baseUrl.isBlank()) {
      scripted = new ScriptedOpenAi();
      baseUrl = scripted.baseUrl();
      System.out.println(
          "OPENAI_BASE_URL is not set: using the example's SCRIPTED endpoint at "
              + baseUrl
              + " (canned replies, not a model)");
    }
    var openAi =
        OpenAiStreamingChatModel.builder()
            .httpClientBuilder(JdkHttpClient.builder())
            .baseUrl(baseUrl)
            .apiKey(Optional.ofNullable(System.getenv("OPENAI_API_KEY")).orElse("no-key"))
            .modelName(Optional.ofNullable(System.getenv("OPENAI_MODEL")).orElse("gpt-4o-mini"))
            .timeout(WAIT)
            .build();
    LangChain4jModel model =
        LangChain4jModel.builder(openAi)
            .systemPrompt("You are a helpful assistant. Count words with the word_count tool.")
            .tools(new WordTools())
            .maxSteps(5)
            .build();
    try (SessionStore store = StoreLoader.openSessionStore("memory:");
        SnapshotStore snapshots = StoreLoader.openSnapshotStore("memory:");
        DurableChat chat =
            DurableChat.builder()
                .environment(new Environment("langchain4j-example", "dev"))
                .sessionStore(store)
                .snapshotStore(snapshots)
                .build();
        AgentRuntime runtime =
            AgentRuntime.builder(chat)
                .register(ChatAgent.builder("assistant").run(model::respond).build())
                .build()) {
      AgentChat user = AgentChat.builder(runtime, "assistant").chatId("chat-1").build();
      System.out.println("session " + user.start().sessionId());
      String question = "How many words are in \"" + ScriptedOpenAi.COUNTED + "\"?";
      System.out.println("user> " + question);
      var text = new StringBuilder();
      String toolOutput = null;
      try (Reply reply = user.sendMessage(question)) {
        for (var r = reply.next(WAIT); r.isPresent(); r = reply.next(WAIT)) {
          if (!(r.get().event() instanceof OutEvent.Chunk c)) {
            continue;
          }
          JsonObject json = c.chunk().json();
          switch (c.chunk().type()) {
            case "text-start" -> System.out.print("assistant> ");
            case "text-delta" -> {
              String delta = json.string("delta").orElse("");
              text.append(delta);
              System.out.print(delta); // as it streams
              System.out.flush();
            }
            case "text-end" -> System.out.println();
            case "tool-input-available" ->
                System.out.println(
                    "tool call> " + json.string("toolName").orElse("") + " " + json.get("input"));
            case "tool-output-available" -> {
              toolOutput = String.valueOf(json.get("output"));
              System.out.println("tool result> " + toolOutput);
            }
            case "error" -> System.out.println("error> " + json.string("errorText").orElse(""));
            default -> {}
          }
        }
      }
      user.close();
      // Checked here so that a broken build fails the example (CI runs it).
      if (text.toString().isBlank()) {
        throw new IllegalStateException("no reply arrived");
      }
      if (scripted != null
          && (!"6".equals(toolOutput)
              || !text.toString().equals(String.join("", ScriptedOpenAi.ANSWER)))) {
        throw new IllegalStateException(
            "scripted run: expected word_count [6] and the canned answer, got tool ["
                + toolOutput
                + "] text ["
                + text
                + "]");
      }
      System.out.println(
          "ok: the reply arrived" + (scripted != null ? " (scripted endpoint)" : ""));
    } finally {
      if (scripted != null) {
        scripted.close();
      }
    }
  }
}
