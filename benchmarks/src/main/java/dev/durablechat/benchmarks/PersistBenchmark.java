package dev.durablechat.benchmarks;

import dev.durablechat.api.InEvent;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.api.WirePayload;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoredSnapshot;
import dev.durablechat.core.DurableChat;
import dev.durablechat.core.internal.JsonCodec;
import dev.durablechat.core.internal.OutRecords;
import dev.durablechat.core.internal.SnapshotManifest;
import dev.durablechat.storage.jdbc.JdbcStores;
import dev.durablechat.storage.memory.MemorySessionStore;
import dev.durablechat.storage.memory.MemorySnapshotStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
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
import org.openjdk.jmh.infra.BenchmarkParams;
import org.springframework.ai.chat.memory.repository.jdbc.H2ChatMemoryRepositoryDialect;
import org.springframework.ai.chat.memory.repository.jdbc.JdbcChatMemoryRepository;
import org.springframework.ai.chat.memory.repository.jdbc.JdbcChatMemoryRepositoryDialect;
import org.springframework.ai.chat.memory.repository.jdbc.PostgresChatMemoryRepositoryDialect;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.UserMessage;

/**
 * Benchmark 5: persisting one turn of a chat that already has {@code turns - 1} turns, on the same
 * database. Ours appends the turn's {@code in} record, its {@code out} chunks (one batched append)
 * and its {@code turn-complete}: work that does not depend on the history's length. Spring AI's
 * {@code JdbcChatMemoryRepository.saveAll} (the real artifact, {@code
 * spring-ai-model-chat-memory-repository-jdbc}) is given the conversation at that turn and, as its
 * contract says, replaces it: it deletes the conversation's rows and inserts every message again.
 *
 * <p>Same messages: each Spring AI message's text is the JSON of the corpus's UI message, so both
 * store the same bytes per message (Spring AI's rows keep only text and type, so tool calls could
 * not survive otherwise). Not timed: our per-turn snapshot write (H1), which is off the turn's
 * critical path; the bytes table ({@link #main}) counts it, segments and manifest, per turn.
 *
 * <p>Run on H2: {@code java -jar benchmarks/target/benchmarks.jar PersistBenchmark}; add PostgreSQL
 * with {@code PG_JDBC_URL=... -p db=h2,pg}. Keep the class's short iterations (200 ms): each starts
 * from a fresh session of {@code turns - 1} turns, and a longer one would measure a longer history.
 * Bytes per turn: {@code java -cp benchmarks/target/benchmarks.jar
 * dev.durablechat.benchmarks.PersistBenchmark}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 200, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 5, time = 200, timeUnit = TimeUnit.MILLISECONDS)
public class PersistBenchmark {
  /** History length in turns, including the turn being persisted. */
  @Param({"10", "100", "1000"})
  public int turns;

  /** The database: {@code h2}, or {@code pg} (needs {@code PG_JDBC_URL}). */
  @Param({"h2"})
  public String db;

  private Fixture.Database database;
  private SessionStore store;
  private Fixture.Engine engine; // null until the first iteration
  private JdbcChatMemoryRepository springAi;
  private String conversationId;
  private Persisted turn;
  private List<Message> conversation;

  /** One turn as our engine persists it. */
  record Persisted(byte[] inBody, List<OutEvent> out, OutEvent turnComplete) {
    static Persisted of(ChatCorpus.Turn t, long lastInEventId) {
      byte[] body =
          JsonCodec.writeBytes(
              new InEvent.Message(WirePayload.submit(WireSize.CHAT_ID, t.user())).toJson());
      var out = new ArrayList<OutEvent>(t.chunks().size());
      for (UIMessageChunk c : t.chunks()) {
        out.add(OutEvent.Chunk.of(c));
      }
      return new Persisted(body, out, new OutEvent.TurnComplete(lastInEventId));
    }

    /** Bytes of the stored payloads: the in body, each out record, the turn-complete. */
    long bytes() {
      long n = inBody.length;
      for (OutEvent e : out) {
        n += OutRecords.encode(e).getBytes(StandardCharsets.UTF_8).length;
      }
      return n + OutRecords.encode(turnComplete).getBytes(StandardCharsets.UTF_8).length;
    }
  }

  /** Spring AI messages with the same content: the UI message JSON as the text. */
  static List<Message> springMessages(List<ChatCorpus.Turn> turns) {
    var messages = new ArrayList<Message>(turns.size() * 2);
    for (UIMessage m : ChatCorpus.messages(turns)) {
      String text = JsonCodec.write(m.json());
      messages.add(m.role().equals("user") ? new UserMessage(text) : new AssistantMessage(text));
    }
    return messages;
  }

  /** Opens the database and both stores, and writes the first {@code turns - 1} turns to each. */
  @Setup(Level.Trial)
  public void setUp() throws SQLException {
    database = Fixture.Database.open(db);
    store = JdbcStores.sessionStore(database.dataSource);
    JdbcChatMemoryRepositoryDialect dialect =
        db.equals("pg")
            ? new PostgresChatMemoryRepositoryDialect()
            : new H2ChatMemoryRepositoryDialect();
    createSpringAiSchema(db.equals("pg") ? "postgresql" : "h2");
    springAi =
        JdbcChatMemoryRepository.builder().dataSource(database.dataSource).dialect(dialect).build();
    conversationId = UUID.randomUUID().toString();
    conversation = springMessages(ChatCorpus.turns(turns));
    springAi.saveAll(conversationId, conversation.subList(0, conversation.size() - 2));
  }

  /**
   * Before each iteration, a fresh session with the first {@code turns - 1} turns: every turn an
   * iteration persists makes the history one turn longer, so without this a run at 10 turns would
   * be measured at hundreds or thousands of turns (an iteration persists one turn every few
   * milliseconds). Then, on PostgreSQL, the setup's own aftermath is settled (a checkpoint and a
   * vacuum of what it wrote), so that the background writes of thousands of setup rows do not land
   * in the measurement of the longer histories only.
   */
  @Setup(Level.Iteration)
  public void freshSession(BenchmarkParams params) throws SQLException {
    if (params.getBenchmark().endsWith("springAiSaveAll")) {
      return; // Spring AI's side replaces its rows each time: its history does not grow
    }
    freshSession();
  }

  /** {@link #freshSession(BenchmarkParams)} for our side. */
  void freshSession() throws SQLException {
    if (engine != null) {
      engine.close();
    }
    engine = Fixture.Engine.open(store);
    turn = buildHistory(engine, turns);
    settle(database);
  }

  /** Writes the first {@code turns - 1} turns; the turn left to persist. */
  static Persisted buildHistory(Fixture.Engine engine, int turns) {
    List<ChatCorpus.Turn> all = ChatCorpus.turns(turns);
    long lastIn = 0;
    for (int i = 0; i < turns - 1; i++) {
      lastIn = persistOurs(engine, Persisted.of(all.get(i), lastIn));
    }
    return Persisted.of(all.get(turns - 1), lastIn + 1);
  }

  /** On PostgreSQL: a checkpoint (if allowed) and {@code VACUUM ANALYZE} of the written tables. */
  static void settle(Fixture.Database database) throws SQLException {
    if (!database.kind.equals("pg")) {
      return;
    }
    try (Connection c = database.dataSource.getConnection();
        Statement s = c.createStatement()) {
      s.execute("VACUUM ANALYZE dc_records, dc_sessions");
      try {
        s.execute("CHECKPOINT");
      } catch (SQLException e) {
        // Not a superuser (or pg_checkpoint): the vacuum alone has to do.
      }
    }
  }

  private void createSpringAiSchema(String name) throws SQLException {
    String path = "org/springframework/ai/chat/memory/repository/jdbc/schema-" + name + ".sql";
    String sql;
    try (InputStream in =
        JdbcChatMemoryRepository.class.getClassLoader().getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException("spring ai schema [" + path + "] is not on the classpath");
      }
      sql = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try (Connection c = database.dataSource.getConnection();
        Statement s = c.createStatement()) {
      for (String statement : sql.split(";")) {
        if (!statement.isBlank()) {
          s.execute(statement);
        }
      }
    }
  }

  static long persistOurs(Fixture.Engine engine, Persisted p) {
    long in = engine.chat.appendIn(engine.sessionId, p.inBody(), null).lastEventId();
    engine.chat.appendOut(engine.sessionId, engine.runId, p.out());
    engine.chat.appendOut(engine.sessionId, engine.runId, new OutEvent.TurnComplete(in));
    return in;
  }

  /** How many messages Spring AI's table holds for the conversation (for tests). */
  int springAiMessages() {
    return springAi.findByConversationId(conversationId).size();
  }

  /** How many records our {@code in} stream holds (for tests). */
  long ourInRecords() {
    return engine.chat.lastEventId(engine.sessionId, StreamKind.IN);
  }

  /** Closes everything. */
  @TearDown(Level.Trial)
  public void tearDown() {
    if (engine != null) {
      engine.close();
    }
    store.close();
    database.close();
  }

  /** Ours: the turn's in record, its out chunks in one append, its turn-complete. */
  @Benchmark
  public long ours() {
    return persistOurs(engine, turn);
  }

  /** Spring AI: {@code saveAll} of the conversation at this turn (it replaces all rows). */
  @Benchmark
  public int springAiSaveAll() {
    springAi.saveAll(conversationId, conversation);
    return conversation.size();
  }

  /**
   * Prints the bytes each side writes per turn at 10, 100 and 1,000 turns (payload and content
   * columns; the fixed per-row columns are left out on both sides), and the size of a full snapshot
   * at that turn, which the seed's H1 rewrote after each turn. Then the bytes our segmented
   * snapshots (H1) write, measured through a real engine over a 1,000-turn chat: per turn amortized
   * over the chat's first n turns, beside the turn's own record bytes (the bound is 3x).
   */
  public static void main(String[] args) {
    System.out.println("turns  ours_bytes  spring_ai_bytes  ratio  full_snapshot_bytes");
    for (int n : new int[] {10, 100, 1000}) {
      long[] b = bytesPerTurn(n);
      System.out.printf(
          "%5d  %10d  %15d  %5.0f  %19d%n", n, b[0], b[1], (double) b[1] / b[0], b[2]);
    }
    Written w = writtenPerTurn(1000);
    System.out.println();
    System.out.println(
        "turns  records_per_turn  segmented_snapshot_per_turn  snapshot/records"
            + "  records+snapshot_per_turn  full_rewrite_per_turn  spring_ai_per_turn"
            + "  (all amortized over turns 1..n)");
    for (int n : new int[] {10, 100, 1000}) {
      double records = w.meanRecords(n);
      double snapshot = w.meanSnapshot(n);
      System.out.printf(
          "%5d  %16.0f  %27.0f  %16.2f  %25.0f  %21.0f  %18.0f%n",
          n,
          records,
          snapshot,
          snapshot / records,
          records + snapshot,
          records + w.meanFull(n),
          w.meanFull(n));
    }
    System.out.printf(
        "largest amortized snapshot/records ratio over n = 1..1000: %.2f (at n = %d);"
            + " manifest names at most %d segments%n",
        w.worstRatio(), w.worstRatioAt(), w.maxSegments);
  }

  /**
   * What a chat writes per turn through a real engine (memory stores): the turn's records, the
   * snapshot objects its {@code completeTurn} wrote (segments and manifest), and a full snapshot of
   * the history at that turn (what the seed's H1 and Spring AI's {@code saveAll} rewrite).
   *
   * @param records bytes of turn i's records (in, out chunks, turn-complete)
   * @param snapshot bytes written to the snapshot store at turn i
   * @param full bytes of the whole history's messages at turn i
   * @param maxSegments the most segments a manifest named during the chat
   */
  record Written(long[] records, long[] snapshot, long[] full, int maxSegments) {
    double meanRecords(int n) {
      return mean(records, n);
    }

    double meanSnapshot(int n) {
      return mean(snapshot, n);
    }

    double meanFull(int n) {
      return mean(full, n);
    }

    private static double mean(long[] values, int n) {
      long sum = 0;
      for (int i = 0; i < n; i++) {
        sum += values[i];
      }
      return (double) sum / n;
    }

    double worstRatio() {
      return meanSnapshot(worstRatioAt()) / meanRecords(worstRatioAt());
    }

    int worstRatioAt() {
      int at = 1;
      double worst = 0;
      long snap = 0;
      long rec = 0;
      for (int i = 0; i < records.length; i++) {
        snap += snapshot[i];
        rec += records[i];
        if ((double) snap / rec > worst) {
          worst = (double) snap / rec;
          at = i + 1;
        }
      }
      return at;
    }
  }

  /** Runs an {@code n}-turn chat of the corpus through a real engine and counts what it writes. */
  static Written writtenPerTurn(int n) {
    var sessions = new MemorySessionStore();
    var snapshots = new CountingSnapshots(new MemorySnapshotStore());
    var records = new long[n];
    var snapshot = new long[n];
    var full = new long[n];
    int maxSegments = 0;
    try (Fixture.Engine engine =
        Fixture.Engine.on(
            DurableChat.builder()
                .environment(Fixture.ENV)
                .sessionStore(sessions)
                .snapshotStore(snapshots)
                .build())) {
      DurableChat chat = engine.chat;
      SnapshotKey key = new SnapshotKey(Fixture.ENV, engine.sessionId);
      List<ChatCorpus.Turn> all = ChatCorpus.turns(n);
      var messages = new ArrayList<UIMessage>();
      long historyBytes = 0;
      long lastIn = 0;
      for (int i = 0; i < n; i++) {
        ChatCorpus.Turn t = all.get(i);
        Persisted p = Persisted.of(t, lastIn + 1);
        records[i] = p.bytes();
        lastIn = chat.appendIn(engine.sessionId, p.inBody(), null).lastEventId();
        chat.appendOut(engine.sessionId, engine.runId, p.out());
        messages.add(t.user());
        messages.add(t.assistant());
        long before = snapshots.bytes.get();
        if (!chat.history()
            .completeTurn(engine.sessionId, engine.runId, messages, lastIn)
            .snapshotWritten()) {
          throw new IllegalStateException("the snapshot of turn [" + (i + 1) + "] not written");
        }
        snapshot[i] = snapshots.bytes.get() - before;
        historyBytes +=
            JsonCodec.writeBytes(t.user().json()).length
                + JsonCodec.writeBytes(t.assistant().json()).length
                + 2;
        full[i] = historyBytes;
        maxSegments =
            Math.max(
                maxSegments,
                SnapshotManifest.decode(snapshots.read(key).orElseThrow().content())
                    .segments()
                    .size());
      }
    } finally {
      sessions.close();
      snapshots.close();
    }
    return new Written(records, snapshot, full, maxSegments);
  }

  /** A pass-through snapshot store that counts the bytes of the writes it accepted. */
  static final class CountingSnapshots implements SnapshotStore {
    final SnapshotStore delegate;
    final AtomicLong bytes = new AtomicLong();

    CountingSnapshots(SnapshotStore delegate) {
      this.delegate = delegate;
    }

    @Override
    public Optional<StoredSnapshot> read(SnapshotKey key) {
      return delegate.read(key);
    }

    @Override
    public String write(SnapshotKey key, byte[] content, String expectedVersion) {
      String version = delegate.write(key, content, expectedVersion);
      bytes.addAndGet(content.length);
      return version;
    }

    @Override
    public boolean delete(SnapshotKey key) {
      return delegate.delete(key);
    }

    @Override
    public void close() {
      delegate.close();
    }
  }

  /** {@code [ours, spring ai, our snapshot]} bytes written to persist turn {@code n}. */
  static long[] bytesPerTurn(int n) {
    List<ChatCorpus.Turn> all = ChatCorpus.turns(n);
    long ours = Persisted.of(all.get(n - 1), n).bytes();
    long spring = 0;
    for (Message m : springMessages(all)) {
      spring += m.getText().getBytes(StandardCharsets.UTF_8).length;
    }
    long snapshot = 0;
    for (UIMessage m : ChatCorpus.messages(all)) {
      snapshot += JsonCodec.writeBytes(m.json()).length + 1;
    }
    return new long[] {ours, spring, snapshot};
  }
}
