package dev.durablechat.benchmarks;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.Snapshot;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.api.WirePayload;
import dev.durablechat.api.spi.StoredSnapshot;
import dev.durablechat.core.ChatHistory;
import dev.durablechat.core.DurableChat;
import dev.durablechat.core.internal.SnapshotCodec;
import dev.durablechat.core.internal.SnapshotManifest;
import dev.durablechat.storage.memory.MemorySessionStore;
import dev.durablechat.storage.memory.MemorySnapshotStore;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Benchmark 4: rebuilding a session's history at boot (PROTOCOL H2) when the snapshot covers all
 * turns but the last (a one-turn tail). Three ways over the same memory-backed streams: {@code
 * snapshotPlusTail} ({@link ChatHistory#rebuild} with the snapshot store: decode the snapshot, fold
 * the last turn's chunks), {@code fullFold} (the same rebuild with no snapshot store: fold the
 * whole {@code out} stream), and two floors over the same snapshot bytes with no history built:
 * {@code jacksonSnapshotTree} (Jackson parsing them into a tree) and {@code jacksonStreamingWalk}
 * (Jackson's streaming parser visiting every token and materialising every string, the least any
 * rebuild that reads the whole snapshot can do). The memory backend keeps storage I/O out, so this
 * is the engine's own cost. Targets: ≤ 1.0× the streaming walk at 1,000 turns (issue: messages kept
 * as their JSON bytes), ≥ 20× faster than the full fold at 1,000 turns.
 *
 * <p>{@code snapshot=segmented} (the default) rebuilds from the manifest and segments that writing
 * a snapshot after every turn left; {@code snapshot=full} from one version 1 document of the same
 * history (the seed's layout). The bound: segmented ≤ 1.5× full. {@link #main} prints the
 * bytes each reads.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar RebuildBenchmark -f 1 -wi 2 -w 2s -i 3
 * -r 2s -p snapshot=segmented,full}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx1g")
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class RebuildBenchmark {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  /** History length in turns; the snapshot covers all but the last. */
  @Param({"10", "100", "1000"})
  public int turns;

  /**
   * The snapshot's layout (H1): {@code segmented}, a manifest and the segments left by writing a
   * snapshot after every turn, as the engine does; or {@code full}, one version 1 document of the
   * same history (the seed's layout, still read). The bound: segmented ≤ 1.5× full.
   */
  @Param({"segmented", "full"})
  public String snapshot = "segmented";

  private Fixture.Engine engine;
  private DurableChat noSnapshots;
  private ChatHistory withSnapshot;
  private ChatHistory fullReplay;
  private byte[] snapshotBytes;
  private long storedBytes;
  private int segments;
  private List<UIMessage> expected;

  /**
   * Writes {@code turns} turns (in record, out chunks, turn-complete), and the snapshot after turn
   * {@code turns - 1} as {@link ChatHistory#completeTurn} writes it; checks that both rebuilds give
   * the corpus's messages.
   */
  @Setup(Level.Trial)
  public void setUp() {
    var sessions = new MemorySessionStore();
    var snapshots = new MemorySnapshotStore();
    SnapshotKey key;
    DurableChat chat =
        DurableChat.builder()
            .environment(Fixture.ENV)
            .sessionStore(sessions)
            .snapshotStore(snapshots)
            .build();
    engine = Fixture.Engine.on(chat);
    key = new SnapshotKey(Fixture.ENV, engine.sessionId);
    withSnapshot = ChatHistory.of(chat);
    noSnapshots = DurableChat.builder().environment(Fixture.ENV).sessionStore(sessions).build();
    fullReplay = ChatHistory.of(noSnapshots);
    List<ChatCorpus.Turn> all = ChatCorpus.turns(turns);
    var history = new ArrayList<UIMessage>();
    for (ChatCorpus.Turn t : all) {
      long in =
          chat.appendIn(
                  engine.sessionId,
                  new InEvent.Message(WirePayload.submit(WireSize.CHAT_ID, t.user())),
                  null)
              .lastEventId();
      var out = new ArrayList<OutEvent>(t.chunks().size());
      for (UIMessageChunk c : t.chunks()) {
        out.add(OutEvent.Chunk.of(c));
      }
      chat.appendOut(engine.sessionId, engine.runId, out);
      history.add(t.user());
      history.add(t.assistant());
      long turnComplete;
      if (t.index() <= turns - 2 && snapshot.equals("segmented")) {
        turnComplete =
            withSnapshot
                .completeTurn(engine.sessionId, engine.runId, history, in)
                .turnCompleteEventId();
      } else {
        turnComplete =
            chat.appendOut(engine.sessionId, engine.runId, new OutEvent.TurnComplete(in))
                .lastEventId();
      }
      if (t.index() == turns - 2) {
        // The floors parse one full document of the history the snapshot covers, either way;
        // with snapshot=full it is the stored snapshot.
        snapshotBytes =
            SnapshotCodec.encode(
                new Snapshot(Snapshot.CURRENT_VERSION, Instant.EPOCH, history, turnComplete, in));
        if (snapshot.equals("full")) {
          snapshots.write(key, snapshotBytes, null);
        } else if (!snapshot.equals("segmented")) {
          throw new IllegalArgumentException(
              "snapshot [" + snapshot + "] must be segmented or full");
        }
      }
    }
    expected = List.copyOf(history);
    storedBytes = 0;
    Optional<StoredSnapshot> stored = snapshots.read(key);
    if (stored.isEmpty()) {
      throw new IllegalStateException("no snapshot was written");
    }
    storedBytes += stored.get().content().length;
    if (SnapshotManifest.isManifest(stored.get().content())) {
      SnapshotManifest manifest = SnapshotManifest.decode(stored.get().content());
      segments = manifest.segments().size();
      for (SnapshotManifest.Segment s : manifest.segments()) {
        storedBytes += s.bytes();
      }
    } else {
      segments = 0;
    }
    check("snapshot + tail", snapshotPlusTail());
    check("full fold", fullFold());
    try {
      jacksonStreamingWalk(); // the floor reads the same bytes: a document it refuses fails here
    } catch (IOException e) {
      throw new IllegalStateException("jackson refuses the snapshot bytes: " + e.getMessage(), e);
    }
  }

  private void check(String what, ChatHistory.Rebuilt rebuilt) {
    if (!rebuilt.messages().equals(expected)) {
      throw new IllegalStateException(
          what
              + " rebuild differs from the corpus: ["
              + rebuilt.messages().size()
              + "] messages, expected ["
              + expected.size()
              + "]");
    }
  }

  /** Closes both engines. */
  @TearDown(Level.Trial)
  public void tearDown() {
    noSnapshots.close();
    engine.close();
  }

  /** Ours: the snapshot, then the one-turn tail of {@code out}. */
  @Benchmark
  public ChatHistory.Rebuilt snapshotPlusTail() {
    return withSnapshot.rebuild(engine.sessionId);
  }

  /** Without a snapshot: fold the whole {@code out} stream. */
  @Benchmark
  public ChatHistory.Rebuilt fullFold() {
    return fullReplay.rebuild(engine.sessionId);
  }

  /** The floor: Jackson parsing the snapshot's bytes into a tree. */
  @Benchmark
  public JsonNode jacksonSnapshotTree() throws IOException {
    return MAPPER.readTree(snapshotBytes);
  }

  /**
   * The floor a rebuild that reads every byte cannot go under: Jackson's streaming parser visits
   * every token and materialises every string value and name (as a rebuild must to compare or keep
   * them), building nothing.
   */
  @Benchmark
  public long jacksonStreamingWalk() throws IOException {
    long tokens = 0;
    long chars = 0;
    try (JsonParser parser = MAPPER.getFactory().createParser(snapshotBytes)) {
      JsonToken token;
      while ((token = parser.nextToken()) != null) {
        tokens++;
        if (token == JsonToken.VALUE_STRING || token == JsonToken.FIELD_NAME) {
          chars += parser.getText().length();
        }
      }
    }
    return tokens + chars;
  }

  /**
   * Prints what a rebuild reads with segmented snapshots (H1) against one full snapshot of the same
   * history, at 10, 100 and 1,000 turns: the objects and their bytes (exact, not timed).
   */
  public static void main(String[] args) {
    System.out.println("turns  segments  segmented_bytes_read  full_snapshot_bytes  ratio");
    for (int n : new int[] {10, 100, 1000}) {
      var bench = new RebuildBenchmark();
      bench.turns = n;
      bench.snapshot = "segmented";
      bench.setUp();
      try {
        System.out.printf(
            "%5d  %8d  %20d  %19d  %5.3f%n",
            n,
            bench.segments(),
            bench.storedBytes(),
            bench.snapshotBytes(),
            (double) bench.storedBytes() / bench.snapshotBytes());
      } finally {
        bench.tearDown();
      }
    }
  }

  /** The size of one full snapshot of the covered history, for the README. */
  int snapshotBytes() {
    return snapshotBytes.length;
  }

  /** The bytes a rebuild reads from the store: snapshot.json and its segments. */
  long storedBytes() {
    return storedBytes;
  }

  /** How many segments the manifest names (0 for a full snapshot). */
  int segments() {
    return segments;
  }

  /** The rebuild the setup checked, for tests. */
  List<UIMessage> expected() {
    return expected;
  }
}
