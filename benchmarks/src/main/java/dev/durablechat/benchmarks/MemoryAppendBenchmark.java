package dev.durablechat.benchmarks;

import dev.durablechat.api.OutEvent;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.core.internal.OutRecords;
import dev.durablechat.storage.memory.MemorySessionStore;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Benchmark 2a: {@code out} chunk appends on the memory backend through {@code
 * DurableChat.appendOut}, one chunk per call and 16 per call, against the cost of encoding the same
 * chunks alone (what every backend pays before it stores anything). Scores are appends (chunks) per
 * second on one thread; target ≥ 1M/s.
 *
 * <p>The chunks are the text deltas of the corpus's first turn (the most frequent chunk). Every
 * 65,536 records the stream is trimmed, as an agent trims {@code out} after each turn (H5), so the
 * heap stays flat; the trim is part of the measured cost.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar MemoryAppendBenchmark -f 1 -wi 2 -w 2s
 * -i 3 -r 2s}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class MemoryAppendBenchmark {
  static final int BATCH = 16;
  private static final int TRIM_EVERY = 1 << 16;

  private MemorySessionStore store;
  private Fixture.Engine engine;
  private OutEvent one;
  private List<OutEvent> batch;
  private long sinceTrim;

  /** Opens an engine on a fresh memory store with one session and its current run. */
  @Setup(Level.Trial)
  public void setUp() {
    store = new MemorySessionStore();
    engine = Fixture.Engine.open(store);
    batch = new ArrayList<>(BATCH);
    for (UIMessageChunk c : ChatCorpus.turn(0).chunks()) {
      if (c.type().equals("text-delta") && batch.size() < BATCH) {
        batch.add(OutEvent.Chunk.of(c));
      }
    }
    while (batch.size() < BATCH) {
      batch.add(batch.get(batch.size() % 4));
    }
    one = batch.get(0);
  }

  /** Closes the engine. */
  @TearDown(Level.Trial)
  public void tearDown() {
    engine.close();
  }

  private void maybeTrim(int appended) {
    sinceTrim += appended;
    if (sinceTrim >= TRIM_EVERY) {
      sinceTrim = 0;
      store.trim(engine.sessionId, StreamKind.OUT, store.lastSeq(engine.sessionId, StreamKind.OUT));
    }
  }

  /** One chunk per {@code appendOut} call. */
  @Benchmark
  public long appendOne() {
    long seq = engine.chat.appendOut(engine.sessionId, engine.runId, one).lastEventId();
    maybeTrim(1);
    return seq;
  }

  /** Sixteen chunks per {@code appendOut} call; the score is per chunk. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public long appendBatch16() {
    long seq = engine.chat.appendOut(engine.sessionId, engine.runId, batch).lastEventId();
    maybeTrim(BATCH);
    return seq;
  }

  /** The floor: encoding one chunk record to its stored JSON text, as appendOut does. */
  @Benchmark
  public String encodeOne() {
    return OutRecords.encode(one);
  }
}
