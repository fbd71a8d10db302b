package dev.durablechat.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.core.fold.TailFold;
import dev.durablechat.core.internal.JsonCodec;
import dev.durablechat.core.internal.OutRecords;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Benchmark 3: chunks per second through the fold against Jackson's raw parse ({@code
 * ObjectMapper.readTree}) of the same chunk JSON. The fold is the one a replay runs: the segmenter
 * {@link TailFold} with the partial cleanup (H2, H4), over {@link
 * dev.durablechat.core.fold.ChunkFold}. The input is ten turns of the corpus as stored {@code out}
 * records (UTF-8 JSON, {@code {"data":<chunk>}}): {@code parseAndFold} parses and decodes each
 * record with the engine's codec ({@link OutRecords}) and folds it, which is what a replay does;
 * {@code foldParsed} folds chunks already parsed (the fold alone); {@code jacksonReadTree} is the
 * floor. Scores are replays of the ten turns per second; the README multiplies by {@link #CHUNKS}
 * for chunks per second.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar FoldBenchmark -f 1 -wi 2 -w 2s -i 3 -r
 * 2s}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class FoldBenchmark {
  static final int TURNS = 10;

  /** The number of chunks in {@link #TURNS} turns of the corpus (checked in setup). */
  static final int CHUNKS = countChunks();

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private List<byte[]> records;
  private List<UIMessageChunk> chunks;

  static int countChunks() {
    int n = 0;
    for (ChatCorpus.Turn t : ChatCorpus.turns(TURNS)) {
      n += t.chunks().size();
    }
    return n;
  }

  /** Encodes the corpus's chunks as stored records. */
  @Setup(Level.Trial)
  public void setUp() {
    records = new ArrayList<>();
    chunks = new ArrayList<>();
    for (ChatCorpus.Turn t : ChatCorpus.turns(TURNS)) {
      for (UIMessageChunk c : t.chunks()) {
        chunks.add(c);
        records.add(OutRecords.encode(OutEvent.Chunk.of(c)).getBytes(StandardCharsets.UTF_8));
      }
    }
    if (chunks.size() != CHUNKS) {
      throw new IllegalStateException(
          "expected [" + CHUNKS + "] chunks, got [" + chunks.size() + "]");
    }
  }

  /** Parse each stored record with our codec, then fold: a replay's work per chunk. */
  @Benchmark
  public List<UIMessage> parseAndFold() {
    var parsed = new ArrayList<UIMessageChunk>(records.size());
    for (byte[] r : records) {
      JsonObject record = JsonCodec.parseObject(r);
      parsed.add(((OutEvent.Chunk) OutRecords.decode(record)).chunk());
    }
    return TailFold.messages(null, parsed, TailFold.Unfinished.PARTIAL);
  }

  /** The fold alone, over chunks already parsed. */
  @Benchmark
  public List<UIMessage> foldParsed() {
    return TailFold.messages(null, chunks, TailFold.Unfinished.PARTIAL);
  }

  /** The floor: Jackson parsing the same records into trees. */
  @Benchmark
  public void jacksonReadTree(Blackhole bh) throws IOException {
    for (byte[] r : records) {
      JsonNode node = MAPPER.readTree(r);
      bh.consume(node);
    }
  }
}
