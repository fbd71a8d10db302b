package dev.durablechat.cli;

import static dev.durablechat.agent.model.Completions.answer;
import static dev.durablechat.agent.model.Completions.call;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.durablechat.agent.AgentRuntime;
import dev.durablechat.agent.ChatAgent;
import dev.durablechat.agent.model.LoopbackOpenAi;
import dev.durablechat.api.Environment;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonString;
import dev.durablechat.core.DurableChat;
import dev.durablechat.http.HttpAdapter;
import dev.durablechat.model.langchain4j.LangChain4jModel;
import dev.durablechat.storage.memory.MemorySessionStore;
import dev.durablechat.storage.memory.MemorySnapshotStore;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.http.client.jdk.JdkHttpClient;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end: the published {@code @trigger.dev/sdk} {@code TriggerChatTransport} (under Node,
 * {@code clients/model-chat.mjs}) against {@code serve --model-base-url}, whose demo agent answers
 * through the LangChain4j adapter from a loopback chat-completions server scripted here. Needs node
 * and npm; runs {@code npm ci} in {@code clients/} when its dependencies are missing.
 */
@DisplayName("serve --model-base-url end to end with the real TriggerChatTransport")
class ServeModelNodeTest {
  private static final Path CLIENTS = Path.of("").toAbsolutePath().getParent().resolve("clients");
  private static final String KEY = "tr_dev_durablechat-model-node-test";

  @Test
  @DisplayName(
      "the question, a word_count call with its output and the streamed answer; a reload"
          + " mid-answer that resumes; a stop mid-answer that keeps a prefix and lets the next"
          + " message through")
  void transportAgainstAModel(@TempDir Path data) throws Exception {
    installClientsIfMissing();
    try (var model = new LoopbackOpenAi();
        RunningServe serve =
            RunningServe.start(
                Map.of(),
                "--port",
                "0",
                "--data",
                data.toString(),
                "--secret-key",
                KEY,
                "--model-base-url",
                model.baseUrl(),
                "--model",
                "loopback-model")) {
      model.enqueue(
          call("call_1", "word_count", "{\"text\":", "\"three little words\"}"),
          answer(10, 5, "That is ", "3 words."),
          answer(5, 12, pieces(12)).paced(100),
          answer(5, 20, pieces(20)).paced(150),
          answer(5, 1, "after"));
      ProcessBuilder pb =
          new ProcessBuilder("node", "model-chat.mjs", "tool-answer", "reload", "stop")
              .directory(CLIENTS.toFile())
              .redirectErrorStream(true);
      pb.environment().put("TRIGGER_API_URL", serve.base.toString());
      pb.environment().put("TRIGGER_SECRET_KEY", KEY);
      pb.environment().put("ECHO_AGENT", ServeCommand.AGENT_ID);
      pb.environment().put("CHAT_PREFIX", "model-" + ProcessHandle.current().pid());
      Result result = run(pb, 240);
      Map<String, JsonObject> scenarios = new LinkedHashMap<>();
      for (String line : result.output().split("\n")) {
        if (line.startsWith("{\"scenario\"")) {
          JsonObject o = Json.parseObject(line);
          scenarios.put(o.string("scenario").orElseThrow(), o);
        }
      }
      assertThat(scenarios.keySet())
          .as("model-chat.mjs output:\n%s\nserve:\n%s", result.output(), serve)
          .containsExactly("tool-answer", "reload", "stop");
      scenarios.forEach(
          (name, o) ->
              assertThat(o.get("ok"))
                  .as("scenario [%s]: %s", name, o)
                  .isEqualTo(dev.durablechat.api.JsonValue.of(true)));
      assertThat(result.exit()).as(result.output()).isZero();
      // The model read the tool's output before answering, and the stop closed its stream.
      List<JsonObject> second = model.requests().get(1).messages();
      assertThat(second.get(second.size() - 1).string("content"))
          .contains("{\"words\":3,\"characters\":18}");
      // The model server sees the closed connection at its next paced write, after the script may
      // have ended: wait for it rather than read the events at once.
      await()
          .atMost(java.time.Duration.ofSeconds(30))
          .untilAsserted(() -> assertThat(model.events()).contains("client-closed"));
    }
  }

  @Test
  @DisplayName(
      "an approval round trip: tool-approval-request ends the turn; the transport sends the"
          + " approval back (slimmed to the advanced tool part, H6); the tool runs and the model"
          + " answers in the same message")
  void approvalRoundTrip() throws Exception {
    installClientsIfMissing();
    try (var model = new LoopbackOpenAi();
        var store = new MemorySessionStore();
        var snapshots = new MemorySnapshotStore()) {
      DurableChat chat =
          DurableChat.builder()
              .environment(new Environment("proj", "approval"))
              .sessionStore(store)
              .snapshotStore(snapshots)
              .build();
      var openAi =
          OpenAiStreamingChatModel.builder()
              .httpClientBuilder(JdkHttpClient.builder())
              .baseUrl(model.baseUrl())
              .apiKey("sk-loopback")
              .modelName("loopback-model")
              .build();
      LangChain4jModel adapter =
          LangChain4jModel.builder(openAi)
              .tool(
                  ToolSpecification.builder()
                      .name("delete_file")
                      .parameters(
                          JsonObjectSchema.builder()
                              .addStringProperty("path")
                              .required("path")
                              .build())
                      .build(),
                  (id, arguments) ->
                      "deleted " + ((JsonString) Json.parseObject(arguments).get("path")).value())
              .needsApproval("delete_file")
              .build();
      try (var runtime =
              AgentRuntime.builder(chat)
                  .register(ChatAgent.builder("approver").run(adapter::respond).build())
                  .build();
          var http =
              HttpAdapter.builder(runtime).host("127.0.0.1").port(0).secretKeys(KEY).start()) {
        model.enqueue(
            call("call_d", "delete_file", "{\"path\":", "\"a.txt\"}"), answer(3, 2, "Deleted."));
        ProcessBuilder pb =
            new ProcessBuilder("node", "model-chat.mjs", "approval")
                .directory(CLIENTS.toFile())
                .redirectErrorStream(true);
        pb.environment().put("TRIGGER_API_URL", http.baseUri().toString());
        pb.environment().put("TRIGGER_SECRET_KEY", KEY);
        pb.environment().put("ECHO_AGENT", "approver");
        pb.environment().put("CHAT_PREFIX", "approval-" + ProcessHandle.current().pid());
        Result result = run(pb, 120);
        assertThat(result.output()).contains("{\"scenario\":\"approval\",\"ok\":true");
        assertThat(result.exit()).as(result.output()).isZero();
        // The model read the tool's result after the approval, with the call's input intact.
        List<JsonObject> second = model.requests().get(1).messages();
        assertThat(second.get(second.size() - 2).toString()).contains("a.txt");
        assertThat(second.get(second.size() - 1).string("content")).contains("deleted a.txt");
      } finally {
        chat.close();
      }
    }
  }

  /** "w0 ", "w1 ", ..., ending without the space: words(n) of lib.mjs. */
  private static String[] pieces(int n) {
    var out = new ArrayList<String>();
    for (int i = 0; i < n; i++) {
      out.add("w" + i + (i < n - 1 ? " " : ""));
    }
    return out.toArray(String[]::new);
  }

  private static void installClientsIfMissing() throws Exception {
    if (Files.isDirectory(CLIENTS.resolve("node_modules/@trigger.dev/sdk"))) {
      return;
    }
    Result npm =
        run(
            new ProcessBuilder(List.of("npm", "ci", "--no-audit", "--no-fund"))
                .directory(CLIENTS.toFile())
                .redirectErrorStream(true),
            300);
    assertThat(npm.exit()).as("npm ci in [" + CLIENTS + "] failed:\n" + npm.output()).isZero();
  }

  private record Result(int exit, String output) {}

  private static Result run(ProcessBuilder pb, int timeoutSeconds) throws Exception {
    Path log = Files.createTempFile("durablechat-serve-model-", ".log");
    try {
      pb.redirectOutput(log.toFile());
      Process p = pb.start();
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        return new Result(-1, "timed out after " + timeoutSeconds + " s\n" + read(log));
      }
      return new Result(p.exitValue(), read(log));
    } finally {
      Files.deleteIfExists(log);
    }
  }

  private static String read(Path log) throws IOException {
    return Files.readString(log, StandardCharsets.UTF_8);
  }
}
