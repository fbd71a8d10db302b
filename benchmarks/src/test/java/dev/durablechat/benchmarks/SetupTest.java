package dev.durablechat.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Each benchmark's setup builds the state it claims")
class SetupTest {

  @Test
  @DisplayName(
      "rebuild: snapshot + tail and the full fold both give the corpus's history (H2), from a"
          + " segmented snapshot and from a full one (H1)")
  void rebuild() throws Exception {
    for (String layout : List.of("segmented", "full")) {
      var bench = new RebuildBenchmark();
      bench.turns = 12;
      bench.snapshot = layout;
      bench.setUp();
      try {
        assertThat(bench.snapshotPlusTail().messages()).isEqualTo(bench.expected());
        assertThat(bench.snapshotPlusTail().source().fromSnapshot()).isTrue();
        assertThat(bench.fullFold().source().fromSnapshot()).isFalse();
        assertThat(bench.fullFold().messages()).isEqualTo(bench.expected());
        assertThat(bench.expected()).hasSize(24);
        assertThat(bench.jacksonStreamingWalk()).isGreaterThan(bench.snapshotBytes() / 10);
        if (layout.equals("segmented")) {
          assertThat(bench.segments()).as("a base and deltas").isGreaterThan(1);
          assertThat(bench.storedBytes()).isLessThan((long) (1.5 * bench.snapshotBytes()));
        } else {
          assertThat(bench.segments()).isZero();
          assertThat(bench.storedBytes()).isEqualTo(bench.snapshotBytes());
        }
      } finally {
        bench.tearDown();
      }
    }
  }

  @Test
  @DisplayName(
      "persistence bytes: segmented snapshots write at most 3x the turn's records per turn,"
          + " amortized, over a 200-turn chat (H1)")
  void segmentedSnapshotBytes() {
    PersistBenchmark.Written w = PersistBenchmark.writtenPerTurn(200);
    assertThat(w.worstRatio()).isLessThan(3.0);
    assertThat(w.meanSnapshot(200)).isLessThan(w.meanFull(200) / 10);
  }

  @Test
  @DisplayName("persistence on H2: both stores hold the first turns - 1 turns, and a turn adds one")
  void persist() throws Exception {
    var bench = new PersistBenchmark();
    bench.turns = 3;
    bench.db = "h2";
    bench.setUp();
    try {
      bench.freshSession();
      assertThat(bench.springAiMessages()).isEqualTo(4);
      assertThat(bench.ourInRecords()).isEqualTo(2);
      bench.springAiSaveAll();
      bench.ours();
      assertThat(bench.springAiMessages()).isEqualTo(6);
      assertThat(bench.ourInRecords()).isEqualTo(3);
      // The next iteration starts again from turns - 1 turns, in a session of its own.
      bench.freshSession();
      assertThat(bench.ourInRecords()).isEqualTo(2);
    } finally {
      bench.tearDown();
    }
  }

  @Test
  @DisplayName("memory append: a batch appends sixteen out records")
  void memoryAppend() {
    var bench = new MemoryAppendBenchmark();
    bench.setUp();
    try {
      long first = bench.appendOne();
      assertThat(bench.appendBatch16()).isEqualTo(first + MemoryAppendBenchmark.BATCH);
      assertThat(bench.encodeOne()).startsWith("{\"data\":{\"type\":\"text-delta\"");
    } finally {
      bench.tearDown();
    }
  }

  @Test
  @DisplayName("heap per history: the held copies are measured against the snapshot they came from")
  void historyHeap() {
    HistoryHeap.Result result = HistoryHeap.measure(4, 2);
    assertThat(result.turns()).isEqualTo(4);
    assertThat(result.snapshotBytes()).isGreaterThan(1_000);
  }

  @Test
  @DisplayName("run info names the load, the CPU, the JVM and H2")
  void runInfo() {
    assertThat(RunInfo.collect()).containsKeys("loadAverage", "cpu", "cores", "jvm", "h2");
  }

  @Test
  @DisplayName(
      "SseLoad's readers find each frame's send stamp once, in frames and in the near misses around"
          + " them, fed a byte at a time as reads cut them")
  void stamps() {
    var bytes = new java.io.ByteArrayOutputStream();
    bytes.writeBytes(SseLoad.baselineFrame(1_234_567_890_123L));
    bytes.writeBytes(
        "tt=5; t=; t=x; t=9 t=7;".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    bytes.writeBytes(SseLoad.baselineFrame(42L));
    var stamps = new SseLoad.Stamps();
    var found = new java.util.ArrayList<Long>();
    for (byte b : bytes.toByteArray()) {
      if (stamps.feed(b)) {
        found.add(stamps.stamp);
      }
    }
    assertThat(found).containsExactly(1_234_567_890_123L, 5L, 7L, 42L);
  }
}
