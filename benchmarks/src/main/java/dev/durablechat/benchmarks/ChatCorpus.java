package dev.durablechat.benchmarks;

import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.core.fold.ChunkFold;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A deterministic, realistic tool-heavy chat: each turn is a user text message and an assistant
 * reply streamed as AI SDK UI message chunks (text deltas of a few words, one to three tool calls
 * with JSON inputs and multi-KB outputs, steps, finish). Turn {@code k} depends only on {@code k}
 * and the seed, so turn 7 of a 10-turn chat is turn 7 of a 1,000-turn chat.
 *
 * <p>The assistant message of a turn is the fold of its chunks ({@link ChunkFold}), so the messages
 * and the chunks the benchmarks use always agree.
 */
final class ChatCorpus {
  static final long SEED = 20_260_501L;

  private static final String[] WORDS = {
    "the",
    "session",
    "stream",
    "agent",
    "replay",
    "snapshot",
    "turn",
    "message",
    "tool",
    "result",
    "database",
    "query",
    "returns",
    "rows",
    "for",
    "customer",
    "order",
    "invoice",
    "shipped",
    "pending",
    "we",
    "found",
    "three",
    "matching",
    "records",
    "and",
    "a",
    "summary",
    "of",
    "latest",
    "deploy",
    "region",
    "eu-west-1",
    "latency",
    "p99",
    "dropped",
    "after",
    "cache",
    "warmup",
    "is",
    "configured",
    "with",
    "retries",
    "timeout",
    "seconds",
    "check",
    "logs",
    "error",
    "rate"
  };
  private static final String[] TOOLS = {"search_docs", "read_file", "run_sql"};

  /** One turn: the user's message, the assistant's chunks, and the message they fold into. */
  record Turn(int index, UIMessage user, List<UIMessageChunk> chunks, UIMessage assistant) {}

  private ChatCorpus() {}

  /** The first {@code count} turns of the chat. */
  static List<Turn> turns(int count) {
    var turns = new ArrayList<Turn>(count);
    for (int i = 0; i < count; i++) {
      turns.add(turn(i));
    }
    return turns;
  }

  /** The messages of the first {@code count} turns, user and assistant alternating. */
  static List<UIMessage> messages(List<Turn> turns) {
    var messages = new ArrayList<UIMessage>(turns.size() * 2);
    for (Turn t : turns) {
      messages.add(t.user());
      messages.add(t.assistant());
    }
    return messages;
  }

  /** Turn {@code index} (0-based). */
  static Turn turn(int index) {
    Random r = new Random(SEED * 31 + index);
    UIMessage user = UIMessage.userText("u-" + index, sentence(r, 12 + r.nextInt(40)));
    String messageId = "a-" + index;
    var chunks = new ArrayList<UIMessageChunk>();
    chunks.add(chunk("start", b -> b.put("messageId", messageId)));
    chunks.add(chunk("start-step", b -> {}));
    text(r, chunks, "t-" + index + "-0", 6 + r.nextInt(10));
    int tools = 1 + r.nextInt(3);
    for (int k = 0; k < tools; k++) {
      String tool = TOOLS[r.nextInt(TOOLS.length)];
      String callId = "call_" + index + "_" + k;
      JsonObject input = toolInput(r, tool);
      chunks.add(chunk("tool-input-start", b -> b.put("toolCallId", callId).put("toolName", tool)));
      chunks.add(
          chunk(
              "tool-input-available",
              b -> b.put("toolCallId", callId).put("toolName", tool).put("input", input)));
      JsonValue output = toolOutput(r, tool);
      chunks.add(
          chunk("tool-output-available", b -> b.put("toolCallId", callId).put("output", output)));
    }
    chunks.add(chunk("finish-step", b -> {}));
    chunks.add(chunk("start-step", b -> {}));
    text(r, chunks, "t-" + index + "-1", 20 + r.nextInt(40));
    chunks.add(chunk("finish-step", b -> {}));
    chunks.add(chunk("finish", b -> b.put("finishReason", "stop")));
    List<UIMessage> folded = ChunkFold.foldTail(chunks);
    if (folded.size() != 1) {
      throw new IllegalStateException(
          "turn [" + index + "] must fold into one message, got [" + folded.size() + "]");
    }
    return new Turn(index, user, List.copyOf(chunks), folded.get(0));
  }

  private interface Fields {
    void put(JsonObject.Builder b);
  }

  private static UIMessageChunk chunk(String type, Fields fields) {
    JsonObject.Builder b = JsonObject.builder().put("type", type);
    fields.put(b);
    return new UIMessageChunk(b.build());
  }

  private static void text(Random r, List<UIMessageChunk> chunks, String id, int deltas) {
    chunks.add(chunk("text-start", b -> b.put("id", id)));
    for (int i = 0; i < deltas; i++) {
      String delta = (i == 0 ? "" : " ") + sentence(r, 3 + r.nextInt(5));
      chunks.add(chunk("text-delta", b -> b.put("id", id).put("delta", delta)));
    }
    chunks.add(chunk("text-end", b -> b.put("id", id)));
  }

  private static JsonObject toolInput(Random r, String tool) {
    switch (tool) {
      case "search_docs":
        return JsonObject.builder()
            .put("query", sentence(r, 4 + r.nextInt(6)))
            .put("limit", 8)
            .put(
                "filters",
                JsonObject.builder().put("lang", "en").put("since", "2025-01-01").build())
            .build();
      case "read_file":
        return JsonObject.builder()
            .put("path", "src/main/java/com/example/" + word(r) + "/" + word(r) + ".java")
            .build();
      default:
        return JsonObject.builder()
            .put(
                "sql",
                "SELECT id, customer, status, total FROM orders WHERE status = '"
                    + word(r)
                    + "' ORDER BY created_at DESC LIMIT 40")
            .build();
    }
  }

  // Outputs of 2–6 KB, shaped like what such tools return.
  private static JsonValue toolOutput(Random r, String tool) {
    switch (tool) {
      case "search_docs":
        {
          var results = new ArrayList<JsonValue>();
          int n = 6 + r.nextInt(6);
          for (int i = 0; i < n; i++) {
            results.add(
                JsonObject.builder()
                    .put("title", sentence(r, 5))
                    .put("url", "https://docs.example.com/" + word(r) + "/" + word(r) + "-" + i)
                    .put("score", JsonValue.of(r.nextInt(1000)))
                    .put("snippet", sentence(r, 40 + r.nextInt(30)))
                    .build());
          }
          return JsonObject.builder().put("results", JsonArray.of(results)).build();
        }
      case "read_file":
        {
          var content = new StringBuilder();
          int lines = 50 + r.nextInt(90);
          for (int i = 0; i < lines; i++) {
            content.append("    ").append(sentence(r, 3 + r.nextInt(8))).append(";\n");
          }
          return JsonObject.builder()
              .put("content", content.toString())
              .put("lines", lines)
              .put("truncated", false)
              .build();
        }
      default:
        {
          var rows = new ArrayList<JsonValue>();
          int n = 45 + r.nextInt(60);
          for (int i = 0; i < n; i++) {
            rows.add(
                JsonArray.of(
                    JsonValue.of(100_000 + r.nextInt(900_000)),
                    JsonValue.of(word(r) + " " + word(r)),
                    JsonValue.of(r.nextBoolean() ? "shipped" : "pending"),
                    JsonValue.of(r.nextInt(100_000))));
          }
          return JsonObject.builder()
              .put(
                  "columns",
                  JsonArray.of(
                      JsonValue.of("id"),
                      JsonValue.of("customer"),
                      JsonValue.of("status"),
                      JsonValue.of("total")))
              .put("rows", JsonArray.of(rows))
              .build();
        }
    }
  }

  private static String sentence(Random r, int words) {
    var s = new StringBuilder();
    for (int i = 0; i < words; i++) {
      if (i > 0) {
        s.append(' ');
      }
      s.append(word(r));
    }
    return s.toString();
  }

  private static String word(Random r) {
    return WORDS[r.nextInt(WORDS.length)];
  }
}
