package dev.durablechat.benchmarks;

import dev.durablechat.core.ChatHistory;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Heap held by one rebuilt history, against its snapshot's JSON bytes (a size measurement, not
 * JMH). For each history length it rebuilds the same chat {@code copies} times (each rebuild parses
 * afresh, so the copies share nothing but interned constants), keeps them all reachable, and
 * divides the GC-settled growth of the used heap by the number of copies. Target (issue: messages
 * kept as their JSON bytes): ≤ 1.3× the JSON bytes at 1,000 turns.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar dev.durablechat.benchmarks.HistoryHeap
 * [turns ...]} (default 100 1000). Prints one line per length.
 */
public final class HistoryHeap {
  private static final int COPIES = 8;
  private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();

  private HistoryHeap() {}

  /** One measured length. */
  record Result(int turns, long snapshotBytes, long heapPerHistory) {
    double ratio() {
      return (double) heapPerHistory / snapshotBytes;
    }

    @Override
    public String toString() {
      return String.format(
          Locale.ROOT,
          "turns=%d snapshot=%d B heap per history=%d B ratio=%.2f",
          turns,
          snapshotBytes,
          heapPerHistory,
          ratio());
    }
  }

  public static void main(String[] args) {
    int[] lengths = args.length == 0 ? new int[] {100, 1000} : parse(args);
    for (int turns : lengths) {
      System.out.println(measure(turns, COPIES));
    }
  }

  private static int[] parse(String[] args) {
    int[] lengths = new int[args.length];
    for (int i = 0; i < args.length; i++) {
      try {
        lengths[i] = Integer.parseInt(args[i]);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("turns must be a whole number, got [" + args[i] + "]");
      }
      if (lengths[i] < 2) {
        throw new IllegalArgumentException("turns must be at least 2, got [" + args[i] + "]");
      }
    }
    return lengths;
  }

  static Result measure(int turns, int copies) {
    var bench = new RebuildBenchmark();
    bench.turns = turns;
    bench.setUp();
    try {
      // One rebuild first so that classes, caches and the corpus are loaded before the baseline.
      bench.snapshotPlusTail();
      long before = settledUsedHeap();
      List<ChatHistory.Rebuilt> kept = new ArrayList<>(copies);
      for (int i = 0; i < copies; i++) {
        kept.add(bench.snapshotPlusTail());
      }
      long after = settledUsedHeap();
      long perHistory = (after - before) / copies;
      if (kept.size() != copies) {
        throw new IllegalStateException("lost a rebuilt history");
      }
      return new Result(turns, bench.snapshotBytes(), perHistory);
    } finally {
      bench.tearDown();
    }
  }

  /**
   * Used heap after full collections have stopped freeing anything: collect until two readings in a
   * row agree within 1 %, at most ten times (System.gc() is a request; a settled reading is what
   * makes the delta mean something).
   */
  private static long settledUsedHeap() {
    long previous = Long.MAX_VALUE;
    for (int i = 0; i < 10; i++) {
      System.gc();
      long used = MEMORY.getHeapMemoryUsage().getUsed();
      if (Math.abs(previous - used) <= used / 100) {
        return used;
      }
      previous = used;
    }
    return previous;
  }
}
