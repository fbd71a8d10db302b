package dev.durablechat.benchmarks;

import dev.durablechat.api.OutEvent;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.core.internal.OutRecords;
import dev.durablechat.storage.jdbc.JdbcStores;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Benchmark 2b: batched {@code out} appends through {@code DurableChat.appendOut} on the JDBC
 * store, against a raw JDBC batch insert of the same rows (same columns, same primary key, same
 * payload text) into an equivalent table, one transaction per batch on the same pool. Ours also
 * locks the session row (fencing, the gapless counter) and updates the counter: that is the
 * difference measured. Scores are records per second; target ≥ 0.8× raw.
 *
 * <p>Run on H2 (a file database): {@code java -jar benchmarks/target/benchmarks.jar
 * JdbcAppendBenchmark -f 1 -wi 2 -w 2s -i 3 -r 2s}; add PostgreSQL with {@code
 * PG_JDBC_URL=jdbc:postgresql://127.0.0.1:55432/postgres?user=postgres ... -p db=h2,pg}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class JdbcAppendBenchmark {
  static final int BATCH = 16;
  static final String RAW_TABLE =
      "CREATE TABLE IF NOT EXISTS bench_raw_records ("
          + " session_id VARCHAR(160) NOT NULL,"
          + " stream VARCHAR(8) NOT NULL,"
          + " seq BIGINT NOT NULL,"
          + " payload VARCHAR NOT NULL,"
          + " part_id VARCHAR(128),"
          + " created_at TIMESTAMP WITH TIME ZONE NOT NULL,"
          + " PRIMARY KEY (session_id, stream, seq))";

  /** The database: {@code h2}, or {@code pg} (needs {@code PG_JDBC_URL}). */
  @Param({"h2"})
  public String db;

  private Fixture.Database database;
  private SessionStore store;
  private Fixture.Engine engine;
  private List<OutEvent> batch;
  private List<OutEvent> one;
  private List<String> payloads;
  private String rawSession;
  private long rawSeq;

  /** Opens the database, the store, a session with its run, and the raw table. */
  @Setup(Level.Trial)
  public void setUp() throws SQLException {
    database = Fixture.Database.open(db);
    store = JdbcStores.sessionStore(database.dataSource);
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
    one = List.of(batch.get(0));
    payloads = new ArrayList<>();
    for (OutEvent e : batch) {
      payloads.add(OutRecords.encode(e));
    }
    rawSession = "session_raw" + UUID.randomUUID().toString().replace("-", "");
    try (Connection c = database.dataSource.getConnection();
        Statement s = c.createStatement()) {
      s.execute(RAW_TABLE);
    }
  }

  /** Closes the engine, the store and the database. */
  @TearDown(Level.Trial)
  public void tearDown() {
    engine.close();
    store.close();
    database.close();
  }

  /** Ours: sixteen chunks in one {@code appendOut}; the score is per record. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public long appendBatch16() {
    return engine.chat.appendOut(engine.sessionId, engine.runId, batch).lastEventId();
  }

  /** Raw: the same sixteen rows in one JDBC batch and one transaction. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public long rawBatch16() throws SQLException {
    return rawInsert(payloads);
  }

  /** Ours: one chunk per {@code appendOut}. */
  @Benchmark
  public long appendOne() {
    return engine.chat.appendOut(engine.sessionId, engine.runId, one).lastEventId();
  }

  /** Raw: one row per transaction. */
  @Benchmark
  public long rawOne() throws SQLException {
    return rawInsert(payloads.subList(0, 1));
  }

  private long rawInsert(List<String> rows) throws SQLException {
    try (Connection c = database.dataSource.getConnection()) {
      c.setAutoCommit(false);
      try (PreparedStatement ps =
          c.prepareStatement(
              "INSERT INTO bench_raw_records (session_id, stream, seq, payload, part_id,"
                  + " created_at) VALUES (?, ?, ?, ?, ?, ?)")) {
        OffsetDateTime now = OffsetDateTime.ofInstant(Instant.now(), ZoneOffset.UTC);
        for (String payload : rows) {
          ps.setString(1, rawSession);
          ps.setString(2, "out");
          ps.setLong(3, ++rawSeq);
          ps.setString(4, payload);
          ps.setString(5, null);
          ps.setObject(6, now);
          if (rows.size() == 1) {
            ps.executeUpdate();
          } else {
            ps.addBatch();
          }
        }
        if (rows.size() > 1) {
          ps.executeBatch();
        }
      }
      c.commit();
      c.setAutoCommit(true);
      return rawSeq;
    }
  }
}
