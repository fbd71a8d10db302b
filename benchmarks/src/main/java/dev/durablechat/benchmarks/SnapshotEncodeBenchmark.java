package dev.durablechat.benchmarks;

import dev.durablechat.api.Json;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.Snapshot;
import dev.durablechat.api.UIMessage;
import dev.durablechat.core.internal.JsonCodec;
import dev.durablechat.core.internal.SnapshotCodec;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The snapshot written after a turn (H1), encoded from a history of {@code turns} turns: {@code
 * encode} ({@link SnapshotCodec#encode}: the messages' own bytes concatenated), against {@code
 * copyFloor} (one copy of a byte array as long as the snapshot, the least any writer of the whole
 * document does) and {@code encodeTree} (the way before messages were kept as bytes: the whole
 * document as one tree through Jackson's generator, every message re-encoded). Target (issue:
 * messages kept as their JSON bytes): encode time per turn flat in history length apart from the
 * byte copy, i.e. {@code encode / copyFloor} about the same at 10, 100 and 1,000 turns.
 *
 * <p>{@code bindAllParts} is the price of keeping no tree: what a model adapter pays each turn to
 * read every message's parts of the history from their bytes ({@link UIMessage#parts()}), which a
 * history held as trees did not pay (and paid for with 3.5× the heap instead).
 *
 * <p>Run: {@code benchmarks/run encode SnapshotEncodeBenchmark -f 1 -wi 3 -w 1s -i 5 -r 1s}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx1g")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class SnapshotEncodeBenchmark {

  /** History length in turns. */
  @Param({"10", "100", "1000"})
  public int turns;

  private Snapshot snapshot;
  private JsonObject tree;
  private byte[] encoded;

  /** The corpus history, its snapshot, and the same document as one tree of plain objects. */
  @Setup(Level.Trial)
  public void setUp() {
    List<UIMessage> messages = ChatCorpus.messages(ChatCorpus.turns(turns));
    snapshot = new Snapshot(1, Instant.parse("2026-12-01T00:00:00Z"), messages, 5L * turns, turns);
    var trees = new ArrayList<JsonValue>(messages.size());
    // Plain trees, as messages were held before they kept their bytes.
    messages.forEach(m -> trees.add(Json.parse(m.toString())));
    tree =
        JsonObject.builder()
            .put("version", 1)
            .put("savedAt", snapshot.savedAt().toString())
            .put("messages", JsonArray.adopt(trees))
            .put("lastOutEventId", snapshot.lastOutEventId())
            .put("lastInEventId", snapshot.lastInEventId())
            .build();
    encoded = SnapshotCodec.encode(snapshot);
    // The same document, apart from the index of message lengths that ours appends as the last
    // member once the messages reach SnapshotCodec.INDEX_MIN_BYTES (H1): the tree's bytes without
    // their closing brace are a prefix of ours, which then closes or goes on with that member.
    byte[] plain = JsonCodec.writeBytes(tree);
    int open = plain.length - 1;
    boolean same =
        encoded.length >= plain.length
            && Arrays.equals(encoded, 0, open, plain, 0, open)
            && (encoded.length == plain.length
                ? encoded[open] == '}'
                : new String(encoded, open, encoded.length - open, StandardCharsets.UTF_8)
                    .startsWith(",\"messageIndex\":{"));
    if (!same) {
      throw new IllegalStateException("encode and encodeTree disagree");
    }
  }

  /** Ours: the messages' bytes concatenated. */
  @Benchmark
  public byte[] encode() {
    return SnapshotCodec.encode(snapshot);
  }

  /** The floor: one copy of as many bytes. */
  @Benchmark
  public byte[] copyFloor() {
    return Arrays.copyOf(encoded, encoded.length);
  }

  /** A model adapter's read of the whole history: every message's parts bound from its bytes. */
  @Benchmark
  public int bindAllParts() {
    int parts = 0;
    for (UIMessage m : snapshot.messages()) {
      parts += m.parts().size();
    }
    return parts;
  }

  /** Before: the whole document re-encoded from trees. */
  @Benchmark
  public byte[] encodeTree() {
    return JsonCodec.writeBytes(tree);
  }
}
