package dev.durablechat.benchmarks;

import dev.durablechat.api.InEvent;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.WirePayload;
import dev.durablechat.core.internal.JsonCodec;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Benchmark 1, a size measurement (not timing): the body of one {@code in/append} per turn over a
 * 50-turn tool-heavy chat ({@link ChatCorpus}), ours (one message, PROTOCOL W3) against the body
 * the old wire sent ({@code payload.messages} = the whole history plus the new message). Prints one
 * line per turn, the median and max/min of ours, and the turn at which the full-history body passes
 * the 512 KiB append cap (W4), following the chat past 50 turns if needed.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar dev.durablechat.benchmarks.WireSize
 * [turns] [json-out]}, e.g. {@code ... WireSize 50 benchmarks/results/wire-size.json}; the JSON is
 * what {@link Plots} draws.
 */
public final class WireSize {
  static final int CAP = 512 * 1024;
  static final String CHAT_ID = "chat-bench-1";

  private WireSize() {}

  /** The bytes of our body for a turn's user message. */
  static int ours(UIMessage message) {
    return JsonCodec.writeBytes(new InEvent.Message(WirePayload.submit(CHAT_ID, message)).toJson())
        .length;
  }

  /** The bytes of the old full-history body: every prior message plus the new one. */
  static int fullHistory(List<UIMessage> history, UIMessage message) {
    var all = new ArrayList<JsonValue>(history.size() + 1);
    history.forEach(m -> all.add(m.json()));
    all.add(message.json());
    JsonObject payload =
        JsonObject.builder()
            .put("messages", JsonArray.of(all))
            .put("chatId", CHAT_ID)
            .put("trigger", "submit-message")
            .build();
    return JsonCodec.writeBytes(
            JsonObject.builder().put("kind", "message").put("payload", payload).build())
        .length;
  }

  /** Per-turn sizes: {@code [turn][0]} ours, {@code [turn][1]} full history. */
  static int[][] measure(int turns) {
    int[][] sizes = new int[turns][2];
    var history = new ArrayList<UIMessage>();
    for (int i = 0; i < turns; i++) {
      ChatCorpus.Turn t = ChatCorpus.turn(i);
      sizes[i][0] = ours(t.user());
      sizes[i][1] = fullHistory(history, t.user());
      history.add(t.user());
      history.add(t.assistant());
    }
    return sizes;
  }

  /** The 1-based turn whose full-history body first exceeds the cap, or -1 within {@code max}. */
  static int turnPassingCap(int max) {
    // Re-encoding the whole history each turn is quadratic: the body is a fixed envelope, the
    // prior messages each followed by a comma, and the new message.
    long prior = 0;
    for (int i = 0; i < max; i++) {
      ChatCorpus.Turn t = ChatCorpus.turn(i);
      int user = JsonCodec.writeBytes(t.user().json()).length;
      long envelope = fullHistory(List.of(), t.user()) - user;
      if (envelope + prior + user > CAP) {
        return i + 1;
      }
      prior += user + 1 + JsonCodec.writeBytes(t.assistant().json()).length + 1;
    }
    return -1;
  }

  static double median(int[] values) {
    int[] v = values.clone();
    Arrays.sort(v);
    int n = v.length;
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
  }

  /**
   * Prints the table and the summary; writes the JSON series if a path is given.
   *
   * @param args {@code [turns (default 50)] [json output path]}
   */
  public static void main(String[] args) throws IOException {
    int turns = args.length > 0 ? Integer.parseInt(args[0]) : 50;
    int[][] sizes = measure(turns);
    PrintStream out = System.out;
    out.println("turn  ours_bytes  full_history_bytes");
    int[] ours = new int[turns];
    var json = new StringBuilder("{\"turns\":[");
    for (int i = 0; i < turns; i++) {
      ours[i] = sizes[i][0];
      out.printf("%4d  %10d  %18d%n", i + 1, sizes[i][0], sizes[i][1]);
      json.append(i == 0 ? "" : ",")
          .append("{\"turn\":")
          .append(i + 1)
          .append(",\"ours\":")
          .append(sizes[i][0])
          .append(",\"fullHistory\":")
          .append(sizes[i][1])
          .append('}');
    }
    int min = Arrays.stream(ours).min().orElse(0);
    int max = Arrays.stream(ours).max().orElse(0);
    int passes = turnPassingCap(5_000);
    out.printf(
        "ours: median %.0f B, min %d B, max %d B, max/min %.2f%n",
        median(ours), min, max, (double) max / min);
    out.printf(
        "full history: turn %d %d B; passes 512 KiB at turn %d%n",
        turns, sizes[turns - 1][1], passes);
    json.append("],\"oursMedian\":")
        .append(median(ours))
        .append(",\"oursMaxOverMin\":")
        .append((double) max / min)
        .append(",\"fullHistoryPassesCapAtTurn\":")
        .append(passes)
        .append('}');
    if (args.length > 1) {
      Path path = Path.of(args[1]);
      if (path.getParent() != null) {
        Files.createDirectories(path.getParent());
      }
      Files.writeString(path, json, StandardCharsets.UTF_8);
    }
  }
}
