package dev.durablechat.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.durablechat.agent.AgentRuntime;
import dev.durablechat.api.Environment;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.UIMessage;
import dev.durablechat.core.DurableChat;
import dev.durablechat.storage.memory.MemorySessionStore;
import dev.durablechat.storage.memory.MemorySnapshotStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The published {@code @trigger.dev/sdk} transport sends what the AI SDK's {@code addToolOutput}
 * and {@code addToolApprovalResponse} produce (clients/tool-chat.mjs): the advance is accepted, and
 * the live history and the one rebuilt from the stores agree (H6); a forged assistant message is
 * refused and stores nothing.
 */
@DisplayName("The SDK's tool-approval and client-side-tool flows against the adapter (H6)")
class ToolClientsTest {
  private static final Path CLIENTS = Path.of("").toAbsolutePath().getParent().resolve("clients");
  private static final String SECRET = "tr_dev_durablechat-tool-clients-secret";
  private static final String PREFIX = "tc" + UUID.randomUUID().toString().substring(0, 8);
  private static final Environment ENV = new Environment("proj", "tool-clients");

  private static final Map<String, List<UIMessage>> live = new ConcurrentHashMap<>();
  private static MemorySessionStore store;
  private static MemorySnapshotStore snapshots;
  private static DurableChat chat;
  private static AgentRuntime runtime;
  private static HttpAdapter adapter;
  private static final Map<String, JsonObject> results = new HashMap<>();
  private static String output = "";

  @BeforeAll
  static void run() throws Exception {
    store = new MemorySessionStore();
    snapshots = new MemorySnapshotStore();
    chat =
        DurableChat.builder().environment(ENV).sessionStore(store).snapshotStore(snapshots).build();
    runtime = AgentRuntime.builder(chat).register(ForgedHistoryTest.toolsAgent(live)).build();
    adapter = HttpAdapter.builder(runtime).port(0).secretKeys(SECRET).start();
    if (!Files.isDirectory(CLIENTS.resolve("node_modules"))) {
      Process npm = start(List.of("npm", "ci", "--no-audit", "--no-fund"));
      String[] out = finish(npm, 600);
      assertThat(npm.exitValue()).as("npm ci: %s", out[1]).isZero();
    }
    Process node = start(List.of("node", "tool-chat.mjs"));
    String[] out = finish(node, 180);
    output = out[0] + "\n" + out[1];
    for (String line : out[0].split("\n")) {
      if (line.startsWith("{")) {
        JsonObject r = Json.parseObject(line);
        results.put(r.string("scenario").orElseThrow(), r);
      }
    }
  }

  @AfterAll
  static void stop() {
    adapter.close();
    runtime.close();
    chat.close();
    store.close();
  }

  private static JsonObject passed(String scenario) {
    JsonObject r = results.get(scenario);
    assertThat(r).as("scenario [%s] ran; output:%n%s", scenario, output).isNotNull();
    assertThat(r.get("ok")).as("scenario [%s]: %s", scenario, r).hasToString("true");
    return r;
  }

  @Test
  @DisplayName(
      "a client-side tool's output and a tool approval reach the agent; the live history, the"
          + " snapshot and a replay of the streams alone agree")
  void roundTrip() {
    passed("tool-round-trip");
    String chatId = PREFIX + "-tool-round-trip";
    List<UIMessage> liveHistory = live.get(chatId);
    assertThat(liveHistory).hasSize(3);
    assertThat(chat.history().rebuild(chatId).messages()).isEqualTo(liveHistory);
    snapshots.delete(new SnapshotKey(ENV, chat.session(chatId).friendlyId()));
    assertThat(chat.history().rebuild(chatId).messages())
        .as("replayed from the streams alone")
        .isEqualTo(liveHistory);
  }

  @Test
  @DisplayName("an assistant message the server never sent is refused (422); nothing is stored")
  void forged() {
    passed("tool-forged");
    String chatId = PREFIX + "-tool-forged";
    assertThat(chat.lastEventId(chatId, StreamKind.IN)).isEqualTo(1);
    assertThat(chat.history().rebuild(chatId).messages().toString()).doesNotContain("FORGED");
  }

  private static Process start(List<String> command) throws IOException {
    var pb = new ProcessBuilder(command).directory(CLIENTS.toFile());
    Map<String, String> env = pb.environment();
    env.put("TRIGGER_API_URL", adapter.baseUri().toString().replaceAll("/$", ""));
    env.put("TRIGGER_SECRET_KEY", SECRET);
    env.put("CHAT_PREFIX", PREFIX);
    env.put("TOOLS_AGENT", "tools");
    return pb.start();
  }

  /** Waits for the process; returns its stdout and stderr. */
  private static String[] finish(Process process, long timeoutSeconds) throws Exception {
    CompletableFuture<String> stdout = drain(process.getInputStream());
    CompletableFuture<String> stderr = drain(process.getErrorStream());
    if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      fail("did not finish within %d s; stdout:%n%s", timeoutSeconds, stdout.getNow(""));
    }
    return new String[] {stdout.join(), stderr.join()};
  }

  private static CompletableFuture<String> drain(InputStream in) {
    return CompletableFuture.supplyAsync(
        () -> {
          try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
  }
}
