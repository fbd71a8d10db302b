package dev.durablechat.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.durablechat.agent.AgentRuntime;
import dev.durablechat.agent.ChatAgent;
import dev.durablechat.agent.ScriptedModel;
import dev.durablechat.agent.TurnContext;
import dev.durablechat.api.Environment;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonBoolean;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonString;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.Session;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.UIMessage;
import dev.durablechat.core.DurableChat;
import dev.durablechat.storage.memory.MemorySessionStore;
import dev.durablechat.storage.memory.MemorySnapshotStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The published clients of {@code @trigger.dev/sdk} 4.8.3 ({@code TriggerChatTransport} with the AI
 * SDK's {@code readUIMessageStream}, and {@code AgentChat}), unchanged, against an {@link
 * HttpAdapter} over an agent runtime on the memory backend (http.md). The scenarios live in {@code
 * clients/transport.mjs} and {@code clients/agent-chat.mjs}; each script runs once for all its
 * scenarios and prints one JSON line per scenario. Each test here checks one scenario's outcome and
 * what the server stored meanwhile.
 *
 * <p>Needs {@code node} 20+ and {@code npm} on the PATH; runs {@code npm ci} in {@code clients/}
 * when its {@code node_modules} is missing. Without node it fails rather than skips.
 */
@DisplayName("The published @trigger.dev/sdk chat clients work unchanged against the adapter")
class NodeClientsTest {
  private static final Path CLIENTS = Path.of("").toAbsolutePath().getParent().resolve("clients");
  // Not of the SDK's "additional key" form (tr_<env>_sk_ + 24 characters): the SDK signs tokens
  // with a root key itself, after POST /api/v1/auth/jwt/claims.
  private static final String SECRET = "tr_dev_durablechat-node-clients-secret";
  private static final String PREFIX = "nc" + UUID.randomUUID().toString().substring(0, 8);
  private static final Duration WAIT = Duration.ofSeconds(30);

  /** Every scenario of each script, each checked by one test below. */
  private static final Map<String, Set<String>> SCENARIOS =
      Map.of(
          "transport.mjs",
          Set.of(
              "reply",
              "resume-drop",
              "resume-eof",
              "resume-reload",
              "stop",
              "refresh-401",
              "token-from-turn-complete",
              "forbidden-403",
              "long-poll-window",
              "stop-immediately",
              "stop-after-turn",
              "watch",
              "after-idle",
              "agent-error",
              "regenerate",
              "unknown-404",
              "odd-chat-id",
              "too-large-413",
              "closed-409"),
          "agent-chat.mjs",
          Set.of(
              "agentchat",
              "agentchat-stop",
              "agentchat-long-poll",
              "agentchat-reconnect",
              "agentchat-trigger-config",
              "agentchat-hydrated"));

  private static MemorySessionStore store;
  private static DurableChat chat;
  private static AgentRuntime runtime;
  private static HttpAdapter adapter;
  private static final Map<String, ScriptRun> runs = new HashMap<>();

  /** What one script printed: its scenario lines by name, its exit code and its output. */
  private record ScriptRun(
      Map<String, JsonObject> scenarios, int exitCode, String stdout, String stderr) {}

  @BeforeAll
  static void start() throws Exception {
    store = new MemorySessionStore();
    chat =
        DurableChat.builder()
            .environment(new Environment("proj", "node-clients"))
            .sessionStore(store)
            .snapshotStore(new MemorySnapshotStore())
            .build();
    runtime =
        AgentRuntime.builder(chat)
            .register(rich("echo"))
            // One word per 100 ms: "mid-reply" is a real moment for drops, reloads and stops.
            .register(echo("slow", Duration.ofMillis(100), Duration.ofSeconds(60)))
            .register(pausing("pausing", Duration.ofMillis(2500)))
            // Its runs end on idle between two turns of a scenario (L3), so the next send
            // starts a continuation run (S7).
            .register(echo("sleepy", Duration.ZERO, Duration.ofMillis(300)))
            .register(
                ChatAgent.builder("failing")
                    .run(
                        (turn, out) -> {
                          ScriptedModel.builder().text("partial ").build().play(out);
                          out.flush();
                          throw new IllegalStateException("the model is unavailable");
                        })
                    .build())
            .build();
    adapter = HttpAdapter.builder(runtime).port(0).secretKeys(SECRET).start();
    if (!Files.isDirectory(CLIENTS.resolve("node_modules"))) {
      Process npm = start(List.of("npm", "ci", "--no-audit", "--no-fund"));
      Output out = finish(npm, 600, "npm ci");
      if (npm.exitValue() != 0) {
        fail("npm ci in [%s] exited with %d: %s", CLIENTS, npm.exitValue(), out.stderr());
      }
    }
  }

  @AfterAll
  static void stop() {
    if (adapter != null) {
      adapter.close();
    }
    if (runtime != null) {
      runtime.close();
    }
    if (chat != null) {
      chat.close();
    }
    if (store != null) {
      store.close();
    }
  }

  /**
   * Reasons, calls a tool {@code lookup} with {@code {"q":<text>}} (output {@code {"hits":1}}),
   * then replies like {@link #echo}: every kind of part crosses the wire into the AI SDK's fold.
   */
  private static ChatAgent<JsonValue> rich(String id) {
    return ChatAgent.builder(id)
        .idleTimeout(Duration.ofSeconds(60))
        .run(
            (turn, out) ->
                ScriptedModel.builder()
                    .reasoning("the user wants an echo")
                    .toolCall(
                        "lookup",
                        JsonObject.builder().put("q", lastUserText(turn)).build(),
                        JsonObject.builder().put("hits", 1).build())
                    .text("you said " + lastUserText(turn))
                    .build()
                    .play(out))
        .build();
  }

  /**
   * Replies "you said <the user's last text>", one text delta per word, after each delay; its runs
   * end after the idle timeout.
   */
  private static ChatAgent<JsonValue> echo(String id, Duration delay, Duration idleTimeout) {
    return ChatAgent.builder(id)
        .idleTimeout(idleTimeout)
        .run(
            (turn, out) ->
                ScriptedModel.builder()
                    .text("you said " + lastUserText(turn))
                    .chunkDelay(delay)
                    .build()
                    .play(out))
        .build();
  }

  /**
   * Replies like {@link #echo} in two text parts with a pause between them: longer than a 1 s
   * Timeout-Seconds window, so the server ends the window in the middle of the reply.
   */
  private static ChatAgent<JsonValue> pausing(String id, Duration pause) {
    return ChatAgent.builder(id)
        .idleTimeout(Duration.ofSeconds(60))
        .run(
            (turn, out) -> {
              String reply = "you said " + lastUserText(turn);
              int half = reply.length() / 2;
              ScriptedModel.builder().text(reply.substring(0, half)).build().play(out);
              out.pause(pause);
              ScriptedModel.builder().text(reply.substring(half)).build().play(out);
            })
        .build();
  }

  private static String lastUserText(TurnContext<?> turn) {
    List<UIMessage> messages = turn.messages();
    for (int i = messages.size() - 1; i >= 0; i--) {
      if (messages.get(i).role().equals("user")) {
        return messages.get(i).text();
      }
    }
    return "";
  }

  @Test
  @DisplayName("each script ran exactly the scenarios checked here and exited 0")
  void scriptsRanEveryScenario() {
    SCENARIOS.forEach(
        (script, names) -> {
          ScriptRun run = run(script);
          assertThat(run.scenarios().keySet())
              .as("scenarios printed by [node %s]; stderr:%n%s", script, tail(run.stderr()))
              .containsExactlyInAnyOrderElementsOf(names);
          assertThat(run.exitCode())
              .as("exit code of [node %s]; stdout:%n%s", script, run.stdout())
              .isZero();
        });
  }

  // --- TriggerChatTransport ---------------------------------------------------------------------

  @Test
  @DisplayName("preload, then two turns streamed into the AI SDK's fold; turn 2 replays nothing")
  void reply() {
    passed("transport.mjs", "reply");
    assertThat(messagesIn("reply")).containsExactly("hello there", "and again");
    assertThat(turnCompletes("reply")).isEqualTo(2);
  }

  @Test
  @DisplayName("a socket dropped mid-reply: the SDK reconnects with Last-Event-ID, nothing lost")
  void resumeAfterDrop() {
    passed("transport.mjs", "resume-drop");
    assertThat(messagesIn("resume-drop")).hasSize(1);
  }

  @Test
  @DisplayName("a long-poll that ends mid-reply: the transport resubscribes from its cursor")
  void resumeAfterEof() {
    passed("transport.mjs", "resume-eof");
  }

  @Test
  @DisplayName(
      "a page reload: a fresh transport from the persisted {publicAccessToken, lastEventId}"
          + " resumes the reply (X-Peek-Settled), and resumes nothing once the turn is over")
  void resumeAfterReload() {
    passed("transport.mjs", "resume-reload");
    assertThat(messagesIn("resume-reload")).hasSize(2);
  }

  @Test
  @DisplayName("stop mid-reply: a partial reply, a stop record in, and the next turn whole")
  void stopMidReply() {
    passed("transport.mjs", "stop");
    List<InEvent> in = in("stop");
    assertThat(in).anyMatch(e -> e instanceof InEvent.Stop);
    assertThat(messagesIn("stop")).last().isEqualTo("after the stop");
    assertThat(turnCompletes("stop")).isEqualTo(2);
  }

  @Test
  @DisplayName(
      "an expired token: one refresh through the accessToken callback, the append retried with"
          + " the same X-Part-Id and stored once; the SSE likewise")
  void refreshOn401() {
    passed("transport.mjs", "refresh-401");
    assertThat(messagesIn("refresh-401")).containsExactly("with a stale token");
  }

  @Test
  @DisplayName(
      "the token on a turn-complete (public-access-token) replaces the transport's: turn 2 goes"
          + " through after turn 1's token expired, without a refresh")
  void tokenFromTurnComplete() {
    passed("transport.mjs", "token-from-turn-complete");
    assertThat(messagesIn("token-from-turn-complete"))
        .containsExactly("quick", "after the short token expired");
  }

  @Test
  @DisplayName("another chat's token: 403 on append and on the SSE, nothing stored")
  void forbiddenFor403() {
    passed("transport.mjs", "forbidden-403");
    assertThat(in("forbidden-403")).isEmpty();
  }

  @Test
  @DisplayName(
      "Timeout-Seconds: 1 against a longer reply: the server ends each window, the transport"
          + " resubscribes with Last-Event-ID and loses nothing")
  void longPollWindows() {
    passed("transport.mjs", "long-poll-window");
  }

  @Test
  @DisplayName("a stop right after the send: the next message still gets its whole reply (L7, W8)")
  void stopImmediately() {
    passed("transport.mjs", "stop-immediately");
    assertThat(messagesIn("stop-immediately")).last().isEqualTo("next one");
  }

  @Test
  @DisplayName("a stop after the turn ended does not cut the next turn short (L7)")
  void stopAfterTurn() {
    passed("transport.mjs", "stop-after-turn");
  }

  @Test
  @DisplayName(
      "watch mode: one standing subscription sees the turns another tab drives and ends on"
          + " session-closed")
  void watch() {
    passed("transport.mjs", "watch");
    assertThat(chat.session(chatId("watch")).closedReason()).isEqualTo("watched");
  }

  @Test
  @DisplayName("a run that ended on idle: the next send starts a continuation run (S7, L3)")
  void afterIdle() {
    passed("transport.mjs", "after-idle");
    assertThat(chat.runs(chatId("after-idle"))).hasSizeGreaterThanOrEqualTo(2);
    assertThat(messagesIn("after-idle")).containsExactly("before the nap", "after the nap");
  }

  @Test
  @DisplayName("a turn that fails in the agent reaches the client as an error chunk, then ends")
  void agentError() {
    passed("transport.mjs", "agent-error");
    assertThat(turnCompletes("agent-error")).isEqualTo(1);
  }

  @Test
  @DisplayName("regenerate-message carries no message and gets the last answer again")
  void regenerate() {
    passed("transport.mjs", "regenerate");
    List<InEvent> in = in("regenerate");
    assertThat(in).hasSize(2);
    assertThat(((InEvent.Message) in.get(1)).payload().message()).isNull();
    assertThat(turnCompletes("regenerate")).isEqualTo(2);
  }

  @Test
  @DisplayName(
      "a token for a chat the server does not know: 404, the transport recreates the session"
          + " through startSession and retries")
  void unknownSession404() {
    passed("transport.mjs", "unknown-404");
    assertThat(messagesIn("unknown-404")).containsExactly("are you there");
  }

  @Test
  @DisplayName(
      "a chat id with a space, a slash, a plus, a percent sign, a colon and non-ASCII letters,"
          + " and a message with an emoji, come back unchanged (S2, S3)")
  void oddChatId() {
    passed("transport.mjs", "odd-chat-id");
    assertThat(messagesIn("odd id/ü+%:x")).containsExactly("héllo 👋 wörld");
    assertThat(chat.session(chatId("odd id/ü+%:x")).closedReason()).isEqualTo("bye");
  }

  @Test
  @DisplayName("a body over the cap: 413 and nothing stored; the session stays usable")
  void tooLarge413() {
    passed("transport.mjs", "too-large-413");
    assertThat(messagesIn("too-large-413")).containsExactly("small enough");
  }

  @Test
  @DisplayName(
      "after sessions.close: 409 session_closed with the reason, terminal for the transport and"
          + " for sessions.start (no retries)")
  void closed409() {
    passed("transport.mjs", "closed-409");
    Session session = chat.session(chatId("closed-409"));
    assertThat(session.closedAt()).isNotNull();
    assertThat(session.closedReason()).isEqualTo("done");
    assertThat(messagesIn("closed-409")).containsExactly("before the close");
  }

  @Test
  @DisplayName(
      "the adapter closed mid-reply and started again on the same port: the transport rides"
          + " through and gets the whole reply (the store and the runtime live on)")
  void adapterRestart() throws Exception {
    String id = chatId("adapter-restart");
    HttpAdapter first = HttpAdapter.builder(runtime).port(0).secretKeys(SECRET).start();
    int port = first.port();
    HttpAdapter second = null;
    try {
      Process node = start(List.of("node", "transport.mjs", "adapter-restart"), first.baseUri());
      // Mid-reply: a few of the slow agent's chunks are stored, most are still to come.
      awaitTrue("the reply of [adapter-restart] under way", () -> outRecords(id) >= 4);
      first.close();
      assertThat(outRecords(id)).as("out records when the adapter closed").isLessThan(25);
      second = HttpAdapter.builder(runtime).port(port).secretKeys(SECRET).start();
      Output out = finish(node, 120, "node transport.mjs adapter-restart");
      JsonObject result = null;
      for (String line : out.stdout().split("\n")) {
        if (line.startsWith("{")) {
          result = Json.parseObject(line);
        }
      }
      assertThat(result)
          .as(
              "result line of [node transport.mjs adapter-restart]; stderr:%n%s",
              tail(out.stderr()))
          .isNotNull();
      assertThat(result.get("ok"))
          .as("[node transport.mjs adapter-restart]: %s", result)
          .isEqualTo(JsonBoolean.TRUE);
      assertThat(node.exitValue()).isZero();
    } finally {
      first.close();
      if (second != null) {
        second.close();
      }
    }
  }

  // --- AgentChat --------------------------------------------------------------------------------

  @Test
  @DisplayName("AgentChat: preload, two turns, close (the agent closes the session)")
  void agentChat() {
    passed("agent-chat.mjs", "agentchat");
    assertThat(messagesIn("agentchat")).containsExactly("hello agent", "second question");
    awaitTrue(
        "the session of [agentchat] closed after AgentChat.close()",
        () -> chat.session(chatId("agentchat")).closedAt() != null);
  }

  @Test
  @DisplayName("AgentChat.stop() mid-reply: a partial reply, then a whole one for the next message")
  void agentChatStop() {
    passed("agent-chat.mjs", "agentchat-stop");
    assertThat(in("agentchat-stop")).anyMatch(e -> e instanceof InEvent.Stop);
    assertThat(messagesIn("agentchat-stop")).last().isEqualTo("after the stop");
  }

  @Test
  @DisplayName("AgentChat with Timeout-Seconds: 1 resubscribes across windows and gets the reply")
  void agentChatLongPoll() {
    passed("agent-chat.mjs", "agentchat-long-poll");
  }

  @Test
  @DisplayName(
      "AgentChat.reconnect() from a stored cursor resumes a reply mid-way, and returns at once"
          + " after it (X-Peek-Settled)")
  void agentChatReconnect() {
    passed("agent-chat.mjs", "agentchat-reconnect");
  }

  @Test
  @DisplayName("AgentChat's triggerConfig and clientData are stored on the session (S9)")
  void agentChatTriggerConfig() {
    passed("agent-chat.mjs", "agentchat-trigger-config");
    Session session = chat.session(chatId("agentchat-trigger-config"));
    assertThat(session.triggerConfig().machine()).isEqualTo("small-1x");
    assertThat(session.triggerConfig().maxAttempts()).isEqualTo(2);
    assertThat(session.triggerConfig().idleTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(session.triggerConfig().tags()).contains("team:a");
    assertThat(session.clientData()).isEqualTo(Json.parse("{\"userId\":\"u-1\"}"));
  }

  @Test
  @DisplayName("AgentChat rehydrated from another's session cursor continues the conversation")
  void agentChatHydrated() {
    passed("agent-chat.mjs", "agentchat-hydrated");
    assertThat(messagesIn("agentchat-hydrated")).containsExactly("one", "two");
  }

  // --- helpers ----------------------------------------------------------------------------------

  private static String chatId(String scenario) {
    return PREFIX + "-" + scenario;
  }

  private static List<InEvent> in(String scenario) {
    String id = chatId(scenario);
    List<InEvent> events = new ArrayList<>();
    try {
      chat.session(id);
    } catch (NoSuchSessionException e) {
      return events;
    }
    for (StreamRecord<InEvent> r : chat.readIn(id, 0, 10_000)) {
      events.add(r.event());
    }
    return events;
  }

  /** The texts of the submitted messages stored on the chat's in stream, in order. */
  private static List<String> messagesIn(String scenario) {
    List<String> texts = new ArrayList<>();
    for (InEvent e : in(scenario)) {
      if (e instanceof InEvent.Message m && m.payload().message() != null) {
        texts.add(m.payload().message().text());
      }
    }
    return texts;
  }

  /** How many records the chat's out stream holds (0 before the session exists). */
  private static long outRecords(String chatId) {
    try {
      return chat.lastEventId(chatId, StreamKind.OUT);
    } catch (NoSuchSessionException e) {
      return 0;
    }
  }

  private static long turnCompletes(String scenario) {
    return chat.readOut(chatId(scenario), 0, 10_000).stream()
        .filter(r -> r.event() instanceof OutEvent.TurnComplete)
        .count();
  }

  /** Fails unless the script reported the scenario as passed, quoting what it printed. */
  private static void passed(String script, String scenario) {
    ScriptRun run = run(script);
    JsonObject result = run.scenarios().get(scenario);
    if (result == null) {
      fail(
          "[node %s] printed no result for [%s] (exit %d)%nstdout:%n%s%nstderr:%n%s",
          script, scenario, run.exitCode(), run.stdout(), tail(run.stderr()));
    }
    if (!(result.get("ok") instanceof JsonBoolean ok && ok.value())) {
      JsonValue error = result.get("error");
      fail(
          "[node %s %s] failed: %s%nstderr:%n%s",
          script,
          scenario,
          error instanceof JsonString s ? s.value() : String.valueOf(error),
          tail(run.stderr()));
    }
  }

  /** Runs the script once (all its scenarios) and keeps what it printed for every test. */
  private static synchronized ScriptRun run(String script) {
    return runs.computeIfAbsent(
        script,
        s -> {
          try {
            Process node = start(List.of("node", s));
            Output out = finish(node, 300, "node " + s);
            var scenarios = new HashMap<String, JsonObject>();
            for (String line : out.stdout().split("\n")) {
              if (line.startsWith("{")) {
                JsonObject result = Json.parseObject(line);
                if (result.get("scenario") instanceof JsonString name) {
                  scenarios.put(name.value(), result);
                }
              }
            }
            return new ScriptRun(scenarios, node.exitValue(), out.stdout(), out.stderr());
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running [node " + s + "]", e);
          }
        });
  }

  private record Output(String stdout, String stderr) {}

  private static Process start(List<String> command) throws IOException {
    return start(command, adapter.baseUri());
  }

  private static Process start(List<String> command, URI server) throws IOException {
    var pb = new ProcessBuilder(command).directory(CLIENTS.toFile());
    Map<String, String> env = pb.environment();
    env.put("TRIGGER_API_URL", server.toString().replaceAll("/$", ""));
    env.put("TRIGGER_SECRET_KEY", SECRET);
    env.put("CHAT_PREFIX", PREFIX);
    env.put("ECHO_AGENT", "echo");
    env.put("SLOW_AGENT", "slow");
    env.put("PAUSING_AGENT", "pausing");
    env.put("SLEEPY_AGENT", "sleepy");
    env.put("FAILING_AGENT", "failing");
    env.put("REPLY_TEMPLATE", "you said {text}");
    try {
      return pb.start();
    } catch (IOException e) {
      throw new AssertionError(
          "cannot run ["
              + String.join(" ", command)
              + "]: the client tests need node 20+ and npm on the PATH",
          e);
    }
  }

  private static Output finish(Process process, long timeoutSeconds, String what)
      throws InterruptedException {
    CompletableFuture<String> stdout = drain(process.getInputStream());
    CompletableFuture<String> stderr = drain(process.getErrorStream());
    if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      fail("[%s] did not finish within %d s; stdout:%n%s", what, timeoutSeconds, stdout.getNow(""));
    }
    return new Output(stdout.join(), stderr.join());
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

  private static String tail(@Nullable String text) {
    if (text == null) {
      return "";
    }
    return text.length() <= 4000 ? text : "..." + text.substring(text.length() - 4000);
  }

  private static void awaitTrue(String what, java.util.function.BooleanSupplier condition) {
    Awaitility.await(what)
        .atMost(WAIT)
        .pollDelay(Duration.ZERO)
        .pollInterval(Duration.ofMillis(10))
        .until(condition::getAsBoolean);
  }
}
