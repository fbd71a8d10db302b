package dev.durablechat.core;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.durablechat.api.Environment;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.api.WirePayload;
import dev.durablechat.core.internal.JsonCodec;
import dev.durablechat.core.internal.SnapshotCodec;
import dev.durablechat.storage.memory.MemorySessionStore;
import dev.durablechat.storage.memory.MemorySnapshotStore;
import java.util.ArrayList;
import java.util.List;

/**
 * A rough, by-hand check of the rebuild's cost at 1,000 turns with a one-turn tail against just
 * parsing the snapshot's bytes (Jackson's tree model, and the engine's own parser). Not a test and
 * not a benchmark (the JMH module is for numbers anyone should quote). Run from {@code core/} after
 * {@code mvn -o test-compile}:
 *
 * <pre>
 * java -cp target/classes:target/test-classes:$(cat cp.txt) dev.durablechat.core.RebuildSpeedCheck
 * </pre>
 *
 * with {@code cp.txt} from {@code mvn -o dependency:build-classpath -Dmdep.outputFile=cp.txt}.
 */
final class RebuildSpeedCheck {
  private RebuildSpeedCheck() {}

  public static void main(String[] args) throws Exception {
    var env = new Environment("proj", "speed");
    var store = new MemorySessionStore();
    var snapshots = new CountingSnapshotStore(new MemorySnapshotStore());
    try (var chat =
        DurableChat.builder()
            .environment(env)
            .sessionStore(store)
            .snapshotStore(snapshots)
            .build()) {
      String id =
          chat.createSession(CreateSessionRequest.builder("a").externalId("c").build())
              .session()
              .friendlyId();
      String run = chat.ensureRun("c", RunReason.INITIAL).run().runId();
      ChatHistory history = ChatHistory.of(chat);
      var messages = new ArrayList<UIMessage>();
      int turns = 1000;
      for (int t = 1; t <= turns; t++) {
        UIMessage user =
            UIMessage.userText("u" + t, "question number " + t + " about the weather in Paris?");
        long in =
            chat.appendIn("c", new InEvent.Message(WirePayload.submit("c", user)), null).eventId();
        String tool = "{\\\"city\\\":\\\"Paris\\\",\\\"days\\\":" + (t % 7) + "}";
        List<String> chunks =
            List.of(
                "{\"type\":\"start\",\"messageId\":\"a" + t + "\"}",
                "{\"type\":\"start-step\"}",
                "{\"type\":\"tool-input-start\",\"toolCallId\":\"c" + t + "\",\"toolName\":\"w\"}",
                "{\"type\":\"tool-input-delta\",\"toolCallId\":\"c"
                    + t
                    + "\",\"inputTextDelta\":\""
                    + tool
                    + "\"}",
                "{\"type\":\"tool-input-available\",\"toolCallId\":\"c"
                    + t
                    + "\",\"toolName\":\"w\",\"input\":{\"city\":\"Paris\",\"days\":"
                    + (t % 7)
                    + "}}",
                "{\"type\":\"tool-output-available\",\"toolCallId\":\"c"
                    + t
                    + "\",\"output\":{\"sky\":\"clear\",\"temp\":21}}",
                "{\"type\":\"finish-step\"}",
                "{\"type\":\"start-step\"}",
                "{\"type\":\"text-start\",\"id\":\"t\"}",
                "{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"It will be clear and 21 degrees"
                    + " in Paris, a fine day for a walk along the river.\"}",
                "{\"type\":\"text-end\",\"id\":\"t\"}",
                "{\"type\":\"finish-step\"}",
                "{\"type\":\"finish\"}");
        var events = new ArrayList<OutEvent>();
        chunks.forEach(c -> events.add(OutEvent.Chunk.of(UIMessageChunk.parse(c))));
        chat.appendOut("c", run, events);
        messages.add(user);
        messages.add(
            UIMessage.of(
                "a" + t,
                "assistant",
                List.of(
                    JsonObject.builder().put("type", "step-start").build(),
                    JsonObject.builder()
                        .put("type", "tool-w")
                        .put("toolCallId", "c" + t)
                        .put("state", "output-available")
                        .put(
                            "input",
                            JsonCodec.parseObject("{\"city\":\"Paris\",\"days\":" + (t % 7) + "}"))
                        .put("output", JsonCodec.parseObject("{\"sky\":\"clear\",\"temp\":21}"))
                        .build(),
                    JsonObject.builder().put("type", "step-start").build(),
                    JsonObject.builder()
                        .put("type", "text")
                        .put(
                            "text",
                            "It will be clear and 21 degrees in Paris, a fine day for a walk along"
                                + " the river.")
                        .put("state", "done")
                        .build())));
        // the last turn's snapshot write fails: the rebuild has a one-turn tail
        snapshots.failWrites = t == turns;
        history.completeTurn("c", run, messages, in);
      }
      snapshots.failWrites = false;
      // One full document of what the (segmented, H1) snapshot holds: the floors parse it.
      byte[] bytes =
          SnapshotCodec.encode(
              ChatHistory.readSnapshot(snapshots.delegate, new SnapshotKey(env, id)).orElseThrow());
      var mapper = new ObjectMapper();
      ChatHistory reader = ChatHistory.of(chat);
      System.out.printf(
          "snapshot %d bytes, %d messages; tail %d records%n",
          bytes.length,
          reader.rebuild("c").messages().size(),
          reader.rebuild("c").source().outRecordsReplayed());
      for (int round = 0; round < 8; round++) {
        long jackson = time(200, () -> mapper.readTree(bytes).size());
        long ours = time(200, () -> JsonCodec.parse(bytes) != null ? 1 : 0);
        long decode = time(200, () -> SnapshotCodec.decode(bytes).messages().size());
        long rebuild = time(200, () -> reader.rebuild("c").messages().size());
        System.out.printf(
            "jackson readTree %.2f ms, engine parse %.2f ms, snapshot decode %.2f ms, rebuild %.2f"
                + " ms (%.2fx jackson)%n",
            jackson / 1e6, ours / 1e6, decode / 1e6, rebuild / 1e6, (double) rebuild / jackson);
      }
    }
  }

  interface Work {
    int run() throws Exception;
  }

  private static long time(int rounds, Work work) throws Exception {
    long sink = 0;
    long start = System.nanoTime();
    for (int i = 0; i < rounds; i++) {
      sink += work.run();
    }
    long per = (System.nanoTime() - start) / rounds;
    if (sink == 42) {
      System.out.print("");
    }
    return per;
  }
}
