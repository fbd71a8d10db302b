package dev.durablechat.benchmarks;

import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.storage.jdbc.JdbcStores;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@link PersistBenchmark}'s question for our side, interleaved: does persisting one turn cost more
 * when the chat is longer? A long session is built once ({@code long} turns); each round builds a
 * fresh short session ({@code short} turns, not timed), then times persisting one turn on each, in
 * alternating order, so that a machine whose load changes from second to second slows both alike.
 * The long history grows by one turn a round; the short one is always {@code short} turns. Prints
 * the median time per turn of each and the median and quartiles of the per-round ratios long /
 * short (the target: ≤ 1.2).
 *
 * <p>{@code java -cp benchmarks/target/benchmarks.jar dev.durablechat.benchmarks.PersistRatio [db]
 * [short] [long] [rounds]} (defaults: pg, 10, 1000, 100; {@code pg} needs {@code PG_JDBC_URL}).
 */
public final class PersistRatio {
  private PersistRatio() {}

  /** Runs the comparison; see the class comment for the arguments. */
  public static void main(String[] args) throws SQLException {
    String db = args.length > 0 ? args[0] : "pg";
    int shortTurns = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    int longTurns = args.length > 2 ? Integer.parseInt(args[2]) : 1000;
    int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 100;
    try (Fixture.Database database = Fixture.Database.open(db);
        SessionStore store = JdbcStores.sessionStore(database.dataSource);
        Fixture.Engine longChat = Fixture.Engine.open(store)) {
      PersistBenchmark.Persisted longTurn = PersistBenchmark.buildHistory(longChat, longTurns);
      PersistBenchmark.settle(database);
      var shortNanos = new ArrayList<Long>();
      var longNanos = new ArrayList<Long>();
      var ratios = new ArrayList<Double>();
      int warmup = Math.max(5, rounds / 5);
      for (int r = 0; r < warmup + rounds; r++) {
        try (Fixture.Engine shortChat = Fixture.Engine.open(store)) {
          PersistBenchmark.Persisted shortTurn =
              PersistBenchmark.buildHistory(shortChat, shortTurns);
          long s;
          long l;
          if (r % 2 == 0) {
            s = time(shortChat, shortTurn);
            l = time(longChat, longTurn);
          } else {
            l = time(longChat, longTurn);
            s = time(shortChat, shortTurn);
          }
          if (r >= warmup) {
            shortNanos.add(s);
            longNanos.add(l);
            ratios.add((double) l / s);
          }
        }
      }
      System.out.printf(
          Locale.ROOT,
          "%s: one turn at %d turns %.2f ms, at %d+ turns %.2f ms (medians); long/short median"
              + " %.2f (quartiles %.2f-%.2f, %d rounds)%n",
          db,
          shortTurns,
          median(shortNanos) / 1e6,
          longTurns,
          median(longNanos) / 1e6,
          quantile(ratios, 2),
          quantile(ratios, 1),
          quantile(ratios, 3),
          rounds);
    }
  }

  private static long time(Fixture.Engine engine, PersistBenchmark.Persisted turn) {
    long start = System.nanoTime();
    PersistBenchmark.persistOurs(engine, turn);
    return System.nanoTime() - start;
  }

  private static double median(List<Long> values) {
    var sorted = new ArrayList<>(values);
    sorted.sort(null);
    return sorted.get(sorted.size() / 2);
  }

  private static double quantile(List<Double> values, int quarter) {
    var sorted = new ArrayList<>(values);
    sorted.sort(null);
    return sorted.get(Math.min(sorted.size() - 1, sorted.size() * quarter / 4));
  }
}
