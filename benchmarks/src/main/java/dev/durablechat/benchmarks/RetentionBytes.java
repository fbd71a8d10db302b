package dev.durablechat.benchmarks;

import dev.durablechat.api.Environment;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.api.WirePayload;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoreConfig;
import dev.durablechat.core.CreateSessionRequest;
import dev.durablechat.core.DurableChat;
import dev.durablechat.core.RetentionPolicy;
import dev.durablechat.storage.jdbc.JdbcStores;
import java.io.PrintStream;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

/**
 * A size measurement (not timing): the bytes one session holds on PostgreSQL after N turns, with
 * trimming off (the default) and on ({@link RetentionPolicy#withTrimOut} and {@link
 * RetentionPolicy#withTrimIn}, H5). Each turn is a user text message (12–31 words) and a streamed
 * text reply of 20–39 deltas of 2–6 words (start, text-start, deltas, text-end, finish), appended
 * as an agent does: {@code in}, the reply's chunks in one batch, {@code turn-complete}, then the
 * snapshot ({@code ChatHistory.completeTurn}, snapshots in {@code dc_snapshots} of the same
 * database).
 *
 * <p>Bytes are {@code pg_column_size} of the session's own rows (the stored, possibly compressed,
 * size of each row: TOASTed values count as stored), summed per table: {@code dc_records}, {@code
 * dc_sessions}, {@code dc_session_runs} and its {@code dc_snapshots} row. Index and page overhead
 * is not counted (it is shared with every other session in the tables).
 *
 * <p>Run: {@code PG_JDBC_URL='jdbc:postgresql://host:port/db?user=postgres' java -cp
 * benchmarks/target/benchmarks.jar dev.durablechat.benchmarks.RetentionBytes [turns]} (default
 * 1000).
 */
public final class RetentionBytes {
  private static final String[] WORDS = {
    "the",
    "session",
    "stream",
    "agent",
    "replay",
    "snapshot",
    "turn",
    "message",
    "tool",
    "result",
    "database",
    "query",
    "returns",
    "rows",
    "for",
    "customer",
    "order",
    "invoice",
    "shipped",
    "pending",
    "we",
    "found",
    "three",
    "matching",
    "records",
    "and",
    "a",
    "summary",
    "of",
    "latest"
  };

  private RetentionBytes() {}

  /** What one run measured. */
  record Measured(
      String mode,
      int turns,
      long inRecords,
      long outRecords,
      long recordBytes,
      long snapshotBytes,
      long sessionAndRunBytes) {
    long total() {
      return recordBytes + snapshotBytes + sessionAndRunBytes;
    }
  }

  public static void main(String[] args) throws Exception {
    int turns = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
    String url = System.getenv("PG_JDBC_URL");
    if (url == null || url.isBlank()) {
      throw new IllegalStateException("set PG_JDBC_URL to a PostgreSQL JDBC URL");
    }
    PrintStream out = System.out;
    List<Measured> results = new ArrayList<>();
    results.add(run(url, turns, false));
    results.add(run(url, turns, true));
    out.printf(
        "%-9s %6s %8s %8s %14s %14s %14s %14s%n",
        "trimming",
        "turns",
        "in rows",
        "out rows",
        "records B",
        "snapshot B",
        "session+runs B",
        "total B");
    for (Measured m : results) {
      out.printf(
          "%-9s %6d %8d %8d %14d %14d %14d %14d%n",
          m.mode(),
          m.turns(),
          m.inRecords(),
          m.outRecords(),
          m.recordBytes(),
          m.snapshotBytes(),
          m.sessionAndRunBytes(),
          m.total());
    }
  }

  static Measured run(String url, int turns, boolean trim) throws SQLException {
    Environment env =
        new Environment("bench", "bytes-" + UUID.randomUUID().toString().substring(0, 8));
    RetentionPolicy policy = RetentionPolicy.none().withTrimOut(trim).withTrimIn(trim);
    SessionStore sessions = JdbcStores.openSessionStore(new StoreConfig(url, Map.of()));
    SnapshotStore snapshots = JdbcStores.openSnapshotStore(new StoreConfig(url, Map.of()));
    try (sessions;
        snapshots;
        DurableChat chat =
            DurableChat.builder()
                .environment(env)
                .sessionStore(sessions)
                .snapshotStore(snapshots)
                .retention(policy)
                .build()) {
      String chatId = "chat-bytes";
      String sessionId =
          chat.createSession(CreateSessionRequest.builder("bench").externalId(chatId).build())
              .session()
              .friendlyId();
      String run = chat.ensureRun(chatId, RunReason.INITIAL).run().runId();
      var history = new ArrayList<UIMessage>();
      for (int t = 0; t < turns; t++) {
        Random r = new Random(20_261_201L * 31 + t);
        UIMessage user = UIMessage.userText("u-" + t, sentence(r, 12 + r.nextInt(20)));
        long in =
            chat.appendIn(chatId, new InEvent.Message(WirePayload.submit(chatId, user)), null)
                .lastEventId();
        var chunks = new ArrayList<OutEvent>();
        StringBuilder text = new StringBuilder();
        chunks.add(chunk("{\"type\":\"start\",\"messageId\":\"a-" + t + "\"}"));
        chunks.add(chunk("{\"type\":\"text-start\",\"id\":\"t" + t + "\"}"));
        int deltas = 20 + r.nextInt(20);
        for (int d = 0; d < deltas; d++) {
          String delta = sentence(r, 2 + r.nextInt(5)) + " ";
          text.append(delta);
          chunks.add(
              chunk(
                  JsonObject.builder()
                      .put("type", "text-delta")
                      .put("id", "t" + t)
                      .put("delta", delta)
                      .build()));
        }
        chunks.add(chunk("{\"type\":\"text-end\",\"id\":\"t" + t + "\"}"));
        chunks.add(chunk("{\"type\":\"finish\"}"));
        chat.appendOut(chatId, run, chunks);
        history.add(user);
        history.add(
            UIMessage.of(
                "a-" + t,
                "assistant",
                List.of(
                    JsonObject.builder()
                        .put("type", "text")
                        .put("text", text.toString())
                        .build())));
        chat.history().completeTurn(chatId, run, history, in);
      }
      try (Connection conn = DriverManager.getConnection(url)) {
        return new Measured(
            trim ? "on" : "off",
            turns,
            count(conn, sessionId, StreamKind.IN),
            count(conn, sessionId, StreamKind.OUT),
            sum(
                conn,
                "SELECT sum(pg_column_size(r.*)) FROM dc_records r WHERE session_id = ?",
                sessionId),
            sum(
                conn,
                // snapshot.json and its segments (H1): every key in the session's folder
                "SELECT sum(pg_column_size(s.*)) FROM dc_snapshots s"
                    + " WHERE snapshot_key LIKE ? ESCAPE '!'",
                new SnapshotKey(env, sessionId).folder().replace("_", "!_") + "%"),
            sum(
                    conn,
                    "SELECT sum(pg_column_size(s.*)) FROM dc_sessions s WHERE friendly_id = ?",
                    sessionId)
                + sum(
                    conn,
                    "SELECT sum(pg_column_size(r.*)) FROM dc_session_runs r WHERE session_id = ?",
                    sessionId));
      }
    }
  }

  private static OutEvent chunk(String json) {
    return new OutEvent.Chunk(UIMessageChunk.parse(json), null);
  }

  private static OutEvent chunk(JsonObject json) {
    return chunk(dev.durablechat.api.Json.write(json));
  }

  private static long count(Connection conn, String sessionId, StreamKind kind)
      throws SQLException {
    try (PreparedStatement ps =
        conn.prepareStatement(
            "SELECT count(*) FROM dc_records WHERE session_id = ? AND stream = ?")) {
      ps.setString(1, sessionId);
      ps.setString(2, kind.wireName());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  private static long sum(Connection conn, String sql, String key) throws SQLException {
    try (PreparedStatement ps = conn.prepareStatement(sql)) {
      ps.setString(1, key);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  private static String sentence(Random r, int words) {
    var b = new StringBuilder();
    for (int i = 0; i < words; i++) {
      if (i > 0) {
        b.append(' ');
      }
      b.append(WORDS[r.nextInt(WORDS.length)]);
    }
    return b.toString();
  }
}
