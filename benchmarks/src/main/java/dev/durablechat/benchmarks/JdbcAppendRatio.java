package dev.durablechat.benchmarks;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * {@link JdbcAppendBenchmark}'s comparison, interleaved: ours and raw take turns in short slices
 * (ours, raw, raw, ours, ...), so that a machine whose load changes from second to second slows
 * both alike, and the ratio of each pair of slices is kept. Prints, per database and shape (16 per
 * call, 1 per call), both rates and the median and quartiles of the per-round ratios ours / raw.
 * JMH runs one benchmark after the other, so on a busy machine its ratio compares different loads;
 * this one does not. The same states and methods as the JMH benchmark, so the same work.
 *
 * <p>{@code java -cp benchmarks/target/benchmarks.jar dev.durablechat.benchmarks.JdbcAppendRatio
 * [rounds] [slice-ms] [db...]} (defaults: 20 rounds, 250 ms, h2; {@code pg} needs {@code
 * PG_JDBC_URL}).
 */
public final class JdbcAppendRatio {
  private JdbcAppendRatio() {}

  interface Op {
    long run() throws SQLException;
  }

  /** Runs the comparison; see the class comment for the arguments. */
  public static void main(String[] args) throws SQLException {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
    long sliceNanos = (args.length > 1 ? Long.parseLong(args[1]) : 250) * 1_000_000L;
    List<String> dbs =
        args.length > 2 ? Arrays.asList(args).subList(2, args.length) : List.of("h2");
    for (String db : dbs) {
      var bench = new JdbcAppendBenchmark();
      bench.db = db;
      bench.setUp();
      try {
        compare(db, "16/call", bench::appendBatch16, bench::rawBatch16, 16, rounds, sliceNanos);
        compare(db, "1/call", bench::appendOne, bench::rawOne, 1, rounds, sliceNanos);
      } finally {
        bench.tearDown();
      }
    }
  }

  private static void compare(
      String db, String shape, Op ours, Op raw, int perCall, int rounds, long sliceNanos)
      throws SQLException {
    // Warm both up: a third of the rounds, not kept.
    for (int r = 0; r < Math.max(2, rounds / 3); r++) {
      rate(ours, perCall, sliceNanos);
      rate(raw, perCall, sliceNanos);
    }
    var ratios = new ArrayList<Double>();
    double oursSum = 0;
    double rawSum = 0;
    for (int r = 0; r < rounds; r++) {
      double o;
      double w;
      if (r % 2 == 0) {
        o = rate(ours, perCall, sliceNanos);
        w = rate(raw, perCall, sliceNanos);
      } else {
        w = rate(raw, perCall, sliceNanos);
        o = rate(ours, perCall, sliceNanos);
      }
      oursSum += o;
      rawSum += w;
      ratios.add(o / w);
    }
    ratios.sort(null);
    System.out.printf(
        Locale.ROOT,
        "%-3s %-8s ours %9.0f rec/s  raw %9.0f rec/s  ours/raw median %.2f (quartiles %.2f-%.2f,"
            + " %d rounds)%n",
        db,
        shape,
        oursSum / rounds,
        rawSum / rounds,
        ratios.get(rounds / 2),
        ratios.get(rounds / 4),
        ratios.get(rounds * 3 / 4),
        rounds);
  }

  /** Records per second of {@code op} over one slice. */
  private static double rate(Op op, int perCall, long sliceNanos) throws SQLException {
    long start = System.nanoTime();
    long end = start + sliceNanos;
    long calls = 0;
    long now;
    do {
      op.run();
      calls++;
      now = System.nanoTime();
    } while (now < end);
    return calls * perCall * 1e9 / (now - start);
  }
}
