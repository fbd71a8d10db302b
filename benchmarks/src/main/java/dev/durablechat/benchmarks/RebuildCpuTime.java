package dev.durablechat.benchmarks;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Locale;

/**
 * {@link RebuildBenchmark}'s {@code snapshotPlusTail} against its {@code jacksonStreamingWalk}, in
 * the CPU time of the measuring thread rather than wall-clock time (a main, not JMH): on a busy
 * machine the wall clock counts the time other processes held the cores, the thread's CPU time does
 * not, so the ratio stays readable where JMH's error bars swallow it. It is a cross-check of the
 * JMH figure on a loaded machine, not a replacement for it on a quiet one.
 *
 * <p>Run: {@code benchmarks/run rebuild-cpu --main dev.durablechat.benchmarks.RebuildCpuTime 100
 * 1000}. Prints, per history length, the median over eight rounds of each and their ratio.
 */
public final class RebuildCpuTime {
  private static final int ROUNDS = 8;

  private RebuildCpuTime() {}

  public static void main(String[] args) {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    String[] lengths = args.length == 0 ? new String[] {"100", "1000"} : args;
    for (String length : lengths) {
      var bench = new RebuildBenchmark();
      try {
        bench.turns = Integer.parseInt(length);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("turns must be a whole number, got [" + length + "]");
      }
      bench.setUp();
      try {
        int reps = Math.max(1, 10_000 / bench.turns);
        double[] rebuild = new double[ROUNDS + 2];
        double[] walk = new double[ROUNDS + 2];
        // Two rounds more than counted: the first two warm the JIT up and are dropped.
        for (int round = 0; round < ROUNDS + 2; round++) {
          long t0 = threads.getCurrentThreadCpuTime();
          for (int i = 0; i < reps; i++) {
            bench.snapshotPlusTail();
          }
          long t1 = threads.getCurrentThreadCpuTime();
          for (int i = 0; i < reps; i++) {
            bench.jacksonStreamingWalk();
          }
          long t2 = threads.getCurrentThreadCpuTime();
          rebuild[round] = (t1 - t0) / 1e6 / reps;
          walk[round] = (t2 - t1) / 1e6 / reps;
        }
        double r = median(rebuild);
        double w = median(walk);
        System.out.printf(
            Locale.ROOT,
            "turns=%d rebuild %.2f ms walk %.2f ms ratio %.2f (thread cpu time, median of %d)%n",
            bench.turns,
            r,
            w,
            r / w,
            ROUNDS);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      } finally {
        bench.tearDown();
      }
    }
  }

  private static double median(double[] all) {
    double[] counted = java.util.Arrays.copyOfRange(all, 2, all.length);
    java.util.Arrays.sort(counted);
    return (counted[counted.length / 2 - 1] + counted[counted.length / 2]) / 2;
  }
}
