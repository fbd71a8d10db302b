package dev.durablechat.agent.model;

import static dev.durablechat.agent.model.Completions.answer;
import static dev.durablechat.agent.model.Completions.call;
import static dev.durablechat.agent.model.Completions.finish;
import static dev.durablechat.agent.model.Completions.role;
import static dev.durablechat.agent.model.Completions.text;
import static dev.durablechat.agent.model.Completions.toolArgs;
import static dev.durablechat.agent.model.Completions.toolStart;
import static dev.durablechat.agent.model.Completions.usage;
import static dev.durablechat.agent.model.ModelFixture.WAIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.durablechat.agent.AgentChat;
import dev.durablechat.agent.Reply;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.core.fold.ChunkFold;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * What every model adapter must do, checked against the real framework client pointed at a {@link
 * LoopbackOpenAi} server: a subclass builds the {@link ModelLoop} with its framework's own tools —
 * {@code word_count} (server: the number of words of {@code text}), {@code pick_color} (client
 * side: no server implementation) and {@code delete_file} (server, needs approval: returns {@code
 * deleted <path>}) — and the system prompt {@link #SYSTEM}. Every reply's chunks are folded by the
 * real AI SDK ({@link AiSdk}) and must give the expected message.
 */
public abstract class ModelAdapterContract {
  /** The system prompt the subclass's loop must send. */
  protected static final String SYSTEM = "You count words.";

  /** The API key the tests use. */
  protected static final String KEY = "sk-loopback";

  protected final LoopbackOpenAi server = new LoopbackOpenAi();
  private @Nullable ModelFixture fixture;

  /**
   * The adapter's loop on the framework's OpenAI client at {@code baseUrl} with {@code apiKey}, the
   * three tools, the system prompt {@link #SYSTEM} and the step bound; no retries.
   */
  protected abstract ModelLoop loop(String baseUrl, String apiKey, int maxSteps);

  /**
   * Whether the framework hands tool-call arguments over as they stream ({@code tool-input-delta});
   * a framework that merges them first gives whole calls only.
   */
  protected boolean streamsToolArguments() {
    return true;
  }

  /**
   * Whether cancelling the framework's stream closes the connection at once (the server sees the
   * client go away while it holds the response).
   */
  protected boolean cancelClosesTheConnection() {
    return true;
  }

  @AfterEach
  void closeAll() {
    if (fixture != null) {
      fixture.close();
    }
    server.close();
  }

  private ModelFixture fixture(String apiKey, int maxSteps) {
    fixture = new ModelFixture(loop(server.baseUrl(), apiKey, maxSteps));
    return fixture;
  }

  private AgentChat chat() {
    return fixture(KEY, 5).client("chat-1");
  }

  /** A reply read to its end: its chunks and the message they fold to. */
  record Turn(List<UIMessageChunk> chunks, UIMessage message, String errorText) {
    List<String> types() {
      return chunks.stream().map(UIMessageChunk::type).toList();
    }
  }

  private static Turn read(Reply reply, @Nullable UIMessage initial) {
    var chunks = new ArrayList<UIMessageChunk>();
    for (StreamRecord<OutEvent> r : reply.records(WAIT)) {
      if (r.event() instanceof OutEvent.Chunk c) {
        chunks.add(c.chunk());
      }
    }
    List<UIMessage> folded = ChunkFold.foldTail(initial, chunks);
    String error =
        chunks.stream()
            .filter(c -> c.type().equals("error"))
            .map(c -> c.json().string("errorText").orElse(""))
            .collect(Collectors.joining());
    return new Turn(chunks, folded.get(folded.size() - 1), error);
  }

  private static UIMessage expected(String id, String parts, @Nullable String metadata) {
    var json =
        JsonObject.builder().put("id", id).put("role", "assistant").put("parts", Json.parse(parts));
    if (metadata != null) {
      json.put("metadata", Json.parse(metadata));
    }
    return new UIMessage(json.build());
  }

  private static String roles(List<JsonObject> messages) {
    return messages.stream()
        .map(m -> m.string("role").orElse("?"))
        .collect(Collectors.joining(","));
  }

  @Test
  @DisplayName(
      "text deltas stream as text-start/delta/end in one step; finish carries the reason and the"
          + " usage; the AI SDK folds them to the same message")
  void textStreams() {
    server.enqueue(answer(12, 3, "Hel", "lo ", "world"));
    Turn turn = read(chat().sendMessage("hi"), null);

    assertThat(turn.types())
        .containsExactly(
            "start",
            "start-step",
            "text-start",
            "text-delta",
            "text-delta",
            "text-delta",
            "text-end",
            "finish-step",
            "finish");
    UIMessage expected =
        expected(
            turn.message().id(),
            "[{\"type\":\"step-start\"},{\"type\":\"text\",\"text\":\"Hello world\",\"state\":\"done\"}]",
            "{\"finishReason\":\"stop\",\"usage\":{\"inputTokens\":12,\"outputTokens\":3,\"totalTokens\":15}}");
    assertThat(AiSdk.sameJson(turn.message().json(), expected.json()))
        .as("%s", turn.message())
        .isTrue();
    AiSdk.assertFoldsTo(turn.chunks(), null, expected);
    assertThat(turn.chunks().get(turn.chunks().size() - 1).json().string("finishReason"))
        .contains("stop");

    var request = server.requests().get(0);
    assertThat(request.path()).endsWith("/chat/completions");
    assertThat(request.body().get("stream")).isEqualTo(JsonValue.of(true));
    assertThat(roles(request.messages())).isEqualTo("system,user");
    assertThat(request.messages().get(0).string("content")).contains(SYSTEM);
    assertThat(request.messages().get(1).toString()).contains("hi");
  }

  @Test
  @DisplayName(
      "tool arguments split across many chunks stream as tool-input-delta; the server tool runs"
          + " between steps and the model reads its result")
  void toolArgumentsStreamAndTheServerToolRuns() {
    server.enqueue(
        call("call_a", "word_count", "{\"te", "xt\":", " \"one", " two", " three", "\"}"),
        answer(20, 4, "That is ", "3 words."));
    Turn turn = read(chat().sendMessage("count: one two three"), null);

    var expectedTypes = new ArrayList<>(List.of("start", "start-step", "tool-input-start"));
    if (streamsToolArguments()) {
      expectedTypes.addAll(java.util.Collections.nCopies(6, "tool-input-delta"));
    }
    expectedTypes.addAll(
        List.of(
            "tool-input-available",
            "tool-output-available",
            "finish-step",
            "start-step",
            "text-start",
            "text-delta",
            "text-delta",
            "text-end",
            "finish-step",
            "finish"));
    assertThat(turn.types()).containsExactlyElementsOf(expectedTypes);
    if (streamsToolArguments()) {
      String deltas =
          turn.chunks().stream()
              .filter(c -> c.type().equals("tool-input-delta"))
              .map(c -> c.json().string("inputTextDelta").orElse(""))
              .collect(Collectors.joining());
      assertThat(deltas).isEqualTo("{\"text\": \"one two three\"}");
    }
    UIMessage expected =
        expected(
            turn.message().id(),
            "[{\"type\":\"step-start\"},"
                + "{\"type\":\"tool-word_count\",\"toolCallId\":\"call_a\",\"state\":\"output-available\","
                + "\"input\":{\"text\":\"one two three\"},\"output\":3},"
                + "{\"type\":\"step-start\"},"
                + "{\"type\":\"text\",\"text\":\"That is 3 words.\",\"state\":\"done\"}]",
            "{\"finishReason\":\"stop\",\"usage\":{\"inputTokens\":30,\"outputTokens\":9,\"totalTokens\":39}}");
    assertThat(AiSdk.sameJson(turn.message().json(), expected.json()))
        .as("%s", turn.message())
        .isTrue();
    AiSdk.assertFoldsTo(turn.chunks(), null, expected);

    List<JsonObject> second = server.requests().get(1).messages();
    assertThat(roles(second)).isEqualTo("system,user,assistant,tool");
    JsonObject toolCall = (JsonObject) ((JsonArray) second.get(2).get("tool_calls")).get(0);
    assertThat(toolCall.string("id")).contains("call_a");
    JsonObject function = (JsonObject) toolCall.get("function");
    assertThat(function.string("name")).contains("word_count");
    assertThat(Json.parse(function.string("arguments").orElseThrow()))
        .isEqualTo(Json.parse("{\"text\":\"one two three\"}"));
    assertThat(second.get(3).string("tool_call_id")).contains("call_a");
    assertThat(second.get(3).string("content")).contains("3");
  }

  @Test
  @DisplayName(
      "two parallel tool calls (streamed one after the other, as OpenAI does) run in their order")
  void parallelToolCallsKeepTheirOrder() {
    server.enqueue(
        Completions.stream(
            role(),
            toolStart(0, "call_1", "word_count"),
            toolArgs(0, "{\"text\":"),
            toolArgs(0, "\"a b\"}"),
            toolStart(1, "call_2", "word_count"),
            toolArgs(1, "{\"text\":"),
            toolArgs(1, "\"c d e\"}"),
            finish("tool_calls"),
            usage(5, 5)),
        answer(5, 5, "2 and 3"));
    Turn turn = read(chat().sendMessage("two counts"), null);

    List<JsonObject> tools =
        turn.message().parts().stream()
            .filter(p -> p.string("type").orElse("").equals("tool-word_count"))
            .toList();
    assertThat(tools)
        .extracting(p -> p.string("toolCallId").orElse(""))
        .containsExactly("call_1", "call_2");
    assertThat(tools)
        .as("%s", turn.message())
        .extracting(p -> String.valueOf(p.get("output")))
        .containsExactly("2", "3");
    AiSdk.assertFoldsTo(turn.chunks(), null, turn.message());
    List<JsonObject> second = server.requests().get(1).messages();
    assertThat(roles(second)).isEqualTo("system,user,assistant,tool,tool");
    assertThat(second.get(3).string("tool_call_id")).contains("call_1");
    assertThat(second.get(4).string("tool_call_id")).contains("call_2");
  }

  @Test
  @DisplayName(
      "a multi-step tool loop runs step after step and stops at the configured maximum of steps")
  void multiStepLoopStopsAtMaxSteps() {
    fixture(KEY, 2);
    server.enqueue(
        call("call_1", "word_count", "{\"text\":\"a\"}"),
        call("call_2", "word_count", "{\"text\":\"a b\"}"),
        answer(1, 1, "never asked"));
    Turn turn = read(fixture.client("chat-2").sendMessage("loop"), null);

    assertThat(server.requests()).hasSize(2);
    assertThat(turn.types().stream().filter("start-step"::equals)).hasSize(2);
    assertThat(turn.message().parts())
        .extracting(p -> p.string("state").orElse(""))
        .contains("output-available");
    assertThat(turn.chunks().get(turn.chunks().size() - 1).json().string("finishReason"))
        .contains("tool-calls");
    AiSdk.assertFoldsTo(turn.chunks(), null, turn.message());
    // The second call read the first step's call and result.
    assertThat(roles(server.requests().get(1).messages())).isEqualTo("system,user,assistant,tool");
  }

  @Test
  @DisplayName(
      "finish_reason length and content_filter arrive as the AI SDK's length and content-filter")
  void finishReasonsMap() {
    AgentChat chat = chat();
    server.enqueue(
        Completions.stream(role(), text("cut sho"), finish("length"), usage(1, 1)),
        Completions.stream(role(), text("no"), finish("content_filter"), usage(1, 1)));
    Turn length = read(chat.sendMessage("long"), null);
    Turn filtered = read(chat.sendMessage("bad"), null);
    assertThat(length.message().metadata().toString()).contains("\"finishReason\":\"length\"");
    assertThat(filtered.message().metadata().toString())
        .contains("\"finishReason\":\"content-filter\"");
    AiSdk.assertFoldsTo(filtered.chunks(), null, filtered.message());
  }

  @Test
  @DisplayName(
      "an HTTP 500 before the stream ends the turn with an error chunk naming it; the run serves"
          + " the next message")
  void http500IsAnErrorChunkAndTheRunGoesOn() {
    AgentChat chat = chat();
    server.enqueue(new LoopbackOpenAi.Status(500, "the model fell over", "server_error"));
    Turn failed = read(chat.sendMessage("hi"), null);
    assertThat(failed.errorText()).startsWith("model call failed").contains("500");
    assertThat(failed.types()).contains("error").endsWith("finish");
    AiSdk.assertFoldsTo(failed.chunks(), null, failed.message());

    server.enqueue(answer(1, 1, "fine now"));
    assertThat(read(chat.sendMessage("again"), null).message().text()).isEqualTo("fine now");
  }

  @Test
  @DisplayName(
      "a stream cut mid-way ends the turn with an error chunk; the text so far stays; the run goes"
          + " on")
  void cutStreamIsAnError() {
    AgentChat chat = chat();
    server.enqueue(
        new LoopbackOpenAi.Stream(
            List.of(role(), text("partial "), text("answ"), text("er"), finish("stop")), 3, -1));
    Turn cut = read(chat.sendMessage("hi"), null);
    assertThat(cut.errorText()).startsWith("model call failed");
    // What the client parsed before it saw the connection break stays (a client may see the
    // break before the last bytes it received are parsed).
    assertThat("partial answ").startsWith(cut.message().text());
    AiSdk.assertFoldsTo(cut.chunks(), null, cut.message());

    server.enqueue(answer(1, 1, "whole"));
    assertThat(read(chat.sendMessage("again"), null).message().text()).isEqualTo("whole");
  }

  @Test
  @DisplayName(
      "a refused key (401) gives an error chunk naming the cause; the key went out as a bearer"
          + " token; the run goes on")
  void unauthorizedIsAnErrorChunk() {
    AgentChat chat = fixture("sk-wrong", 5).client("chat-401");
    server.enqueue(new LoopbackOpenAi.Status(401, "Incorrect API key provided", "invalid_api_key"));
    Turn refused = read(chat.sendMessage("hi"), null);
    assertThat(refused.errorText()).contains("401");
    assertThat(server.requests().get(0).authorization()).isEqualTo("Bearer sk-wrong");

    server.enqueue(answer(1, 1, "still here"));
    assertThat(read(chat.sendMessage("again"), null).message().text()).isEqualTo("still here");
  }

  @Test
  @DisplayName(
      "a stop cancels the model's stream (the server sees the client go away) and keeps the"
          + " partial reply (L7)")
  void stopCancelsTheStream() {
    AgentChat chat = chat();
    server.enqueue(
        new LoopbackOpenAi.Stream(
            List.of(role(), text("half "), text("an "), text("answer"), finish("stop")), -1, 3));
    Reply reply = chat.sendMessage("hi");
    var seen = new ArrayList<UIMessageChunk>();
    await()
        .atMost(WAIT)
        .until(
            () -> {
              reply
                  .next(WAIT)
                  .ifPresent(
                      r -> {
                        if (r.event() instanceof OutEvent.Chunk c) {
                          seen.add(c.chunk());
                        }
                      });
              return seen.stream().filter(c -> c.type().equals("text-delta")).count() == 2;
            });
    chat.stop();
    // The reply delivers every record it read, those read above included.
    List<UIMessageChunk> all = read(reply, null).chunks();
    assertThat(all).extracting(UIMessageChunk::type).contains("abort").doesNotContain("finish");
    if (cancelClosesTheConnection()) {
      await().atMost(WAIT).until(() -> server.events().contains("client-closed"));
    }
    assertThat(server.events()).doesNotContain("released", "done");
    // The SDK folds the aborted message as it streamed (no H4 cleanup on the client).
    AiSdk.assertFoldsTo(all, null, ChunkFold.create().acceptAll(all).message().orElseThrow());

    server.enqueue(answer(1, 1, "next"));
    Turn next = read(chat.sendMessage("again"), null);
    assertThat(next.message().text()).isEqualTo("next");
    // The partial reply is in the history the model reads next (H4: streaming text marked done).
    List<JsonObject> messages = server.requests().get(1).messages();
    assertThat(roles(messages)).isEqualTo("system,user,assistant,user");
    assertThat(messages.get(2).toString()).contains("half an ");
  }

  @Test
  @DisplayName(
      "a client-side tool ends the turn in input-available; the client's output (H6) continues the"
          + " same message and the model reads it")
  void clientToolContinuesWhenTheOutputArrives() {
    AgentChat chat = chat();
    server.enqueue(call("call_c", "pick_color", "{}"));
    Turn asked = read(chat.sendMessage("pick a color"), null);
    JsonObject part = toolPart(asked.message(), "call_c");
    assertThat(part.string("state")).contains("input-available");
    assertThat(server.requests()).hasSize(1);

    UIMessage answered =
        withPart(
            asked.message(),
            "call_c",
            part.with("state", JsonValue.of("output-available"))
                .with("output", Json.parse("{\"color\":\"teal\"}")));
    server.enqueue(answer(3, 2, "Teal it is."));
    Turn continued = read(chat.sendMessage(slim(answered)), answered);

    assertThat(continued.chunks().get(0).json().string("messageId")).contains(asked.message().id());
    assertThat(continued.message().id()).isEqualTo(asked.message().id());
    assertThat(continued.message().text()).isEqualTo("Teal it is.");
    AiSdk.assertFoldsTo(continued.chunks(), answered, continued.message());
    List<JsonObject> second = server.requests().get(1).messages();
    assertThat(roles(second)).isEqualTo("system,user,assistant,tool");
    assertThat(second.get(3).string("content")).contains("{\"color\":\"teal\"}");
  }

  @Test
  @DisplayName(
      "a tool that needs approval streams tool-approval-request; the approval runs it and the turn"
          + " continues")
  void approvalRunsTheTool() {
    AgentChat chat = chat();
    server.enqueue(call("call_d", "delete_file", "{\"path\":\"a.txt\"}"));
    Turn asked = read(chat.sendMessage("delete a.txt"), null);
    assertThat(asked.types()).contains("tool-approval-request");
    JsonObject part = toolPart(asked.message(), "call_d");
    assertThat(part.string("state")).contains("approval-requested");
    AiSdk.assertFoldsTo(asked.chunks(), null, asked.message());

    JsonObject approval = (JsonObject) part.get("approval");
    UIMessage approved =
        withPart(
            asked.message(),
            "call_d",
            part.with("state", JsonValue.of("approval-responded"))
                .with("approval", approval.with("approved", JsonValue.of(true))));
    server.enqueue(answer(3, 2, "Deleted."));
    Turn done = read(chat.sendMessage(slim(approved)), approved);

    assertThat(done.types()).startsWith("start", "tool-output-available", "start-step");
    assertThat(toolPart(done.message(), "call_d").get("output"))
        .isEqualTo(JsonValue.of("deleted a.txt"));
    AiSdk.assertFoldsTo(done.chunks(), approved, done.message());
    List<JsonObject> second = server.requests().get(1).messages();
    assertThat(second.get(3).string("content")).contains("deleted a.txt");
  }

  @Test
  @DisplayName(
      "a denied approval writes tool-output-denied and the model reads the denial as the AI SDK"
          + " writes it")
  void denialIsReportedToTheModel() {
    AgentChat chat = chat();
    server.enqueue(call("call_d", "delete_file", "{\"path\":\"a.txt\"}"));
    Turn asked = read(chat.sendMessage("delete a.txt"), null);
    JsonObject part = toolPart(asked.message(), "call_d");
    UIMessage denied =
        withPart(
            asked.message(),
            "call_d",
            part.with("state", JsonValue.of("approval-responded"))
                .with(
                    "approval",
                    ((JsonObject) part.get("approval")).with("approved", JsonValue.of(false))));
    server.enqueue(answer(3, 2, "I did not delete it."));
    Turn done = read(chat.sendMessage(slim(denied)), denied);

    assertThat(done.types()).startsWith("start", "tool-output-denied", "start-step");
    assertThat(toolPart(done.message(), "call_d").string("state")).contains("output-denied");
    AiSdk.assertFoldsTo(done.chunks(), denied, done.message());
    List<JsonObject> second = server.requests().get(1).messages();
    assertThat(second.get(3).string("content")).contains(ModelHistory.DENIED);
  }

  @Test
  @DisplayName(
      "a message sent during a step is injected at the next step boundary (L5): the next model"
          + " call reads it and the turn answers it")
  void injectionBetweenSteps() {
    AgentChat chat = chat();
    var first = call("call_1", "word_count", "{\"text\":\"a b\"}");
    server.enqueue(
        new LoopbackOpenAi.Stream(first.chunks(), -1, 2), answer(4, 4, "2 words, and hello"));
    Reply reply = chat.sendMessage("count a b");
    await().atMost(WAIT).until(() -> server.events().contains("held"));
    Reply second = chat.sendMessage("also: hello");
    server.release();
    Turn turn = read(reply, null);
    assertThat(turn.message().text()).isEqualTo("2 words, and hello");
    List<JsonObject> messages = server.requests().get(1).messages();
    assertThat(messages.toString()).contains("also: hello");
    // The injected message is answered by this turn: its reply ends on the same turn-complete,
    // with no turn of its own (that would have asked the server a third time and failed).
    var records = second.records(WAIT);
    assertThat(records.get(records.size() - 1).event()).isInstanceOf(OutEvent.TurnComplete.class);
    assertThat(records)
        .noneMatch(r -> r.event() instanceof OutEvent.Chunk c && c.chunk().type().equals("error"));
    assertThat(server.requests()).hasSize(2);
  }

  @Test
  @DisplayName(
      "a continuation rebuilt from snapshot + replay gives the model the same messages the live"
          + " run had (H2)")
  void continuationGivesTheModelTheSameMessages() {
    AgentChat chat = chat();
    server.enqueue(call("call_a", "word_count", "{\"text\":\"x y\"}"), answer(1, 1, "Two."));
    read(chat.sendMessage("count x y"), null);
    server.enqueue(answer(1, 1, "Live."));
    read(chat.sendMessage("thanks"), null);
    List<JsonObject> live = server.requests().get(2).messages();

    fixture.restart();
    server.enqueue(answer(1, 1, "Rebuilt."));
    read(fixture.client("chat-1").sendMessage(UIMessage.userText("again-id", "thanks")), null);
    List<JsonObject> rebuilt = server.requests().get(3).messages();
    // The rebuilt history holds the live turn too: what the live run sent is a prefix.
    assertThat(rebuilt.subList(0, live.size() - 1)).isEqualTo(live.subList(0, live.size() - 1));
    assertThat(roles(live)).isEqualTo("system,user,assistant,tool,assistant,user");
  }

  /**
   * What the SDK's transport sends for a tool advance: the message's id and role, and only its
   * advanced tool parts with the fields the server overlays (H6).
   */
  private static UIMessage slim(UIMessage message) {
    var parts = new ArrayList<JsonValue>();
    for (JsonObject p : message.parts()) {
      String state = p.string("state").orElse("");
      if (p.string("type").orElse("").startsWith("tool-")
          && (state.startsWith("output-") || state.equals("approval-responded"))) {
        var slim =
            JsonObject.builder()
                .put("type", p.get("type"))
                .put("toolCallId", p.get("toolCallId"))
                .put("state", p.get("state"));
        for (String field : List.of("output", "errorText", "approval")) {
          if (p.get(field) != null) {
            slim.put(field, p.get(field));
          }
        }
        parts.add(slim.build());
      }
    }
    return UIMessage.of(
        message.id(), "assistant", parts.stream().map(JsonObject.class::cast).toList());
  }

  private static JsonObject toolPart(UIMessage message, String toolCallId) {
    return message.parts().stream()
        .filter(p -> p.string("toolCallId").orElse("").equals(toolCallId))
        .findFirst()
        .orElseThrow();
  }

  private static UIMessage withPart(UIMessage message, String toolCallId, JsonObject part) {
    var parts = new ArrayList<JsonValue>();
    for (JsonObject p : message.parts()) {
      parts.add(p.string("toolCallId").orElse("").equals(toolCallId) ? part : p);
    }
    return new UIMessage(message.json().with("parts", JsonArray.of(parts)));
  }
}
