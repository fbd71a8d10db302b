package dev.durablechat.storage.jdbc;

import dev.durablechat.api.StreamKind;
import dev.durablechat.api.spi.NewRecord;
import dev.durablechat.api.spi.StoredRecord;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The {@code in} and {@code out} streams: the {@code dc_records} rows and each stream's last
 * sequence number, which lives on the session row so that numbering is gapless across nodes. Each
 * method works in the caller's transaction ({@link Database#inTransaction}).
 */
final class StreamRows {
  private final Database db;

  /**
   * The dialect's one-statement append ({@link Dialect#claimAndInsertSql}) by stream, fencing and
   * batch shape ({@link #shape}); null where the dialect has none.
   */
  private final @Nullable String[] claimAndInsertSql = new String[8];

  StreamRows(Database db) {
    this.db = db;
    for (StreamKind stream : StreamKind.values()) {
      for (boolean fenced : new boolean[] {false, true}) {
        for (boolean single : new boolean[] {false, true}) {
          claimAndInsertSql[shape(stream, fenced, single)] =
              db.dialect().claimAndInsertSql(counterColumn(stream), fenced, single);
        }
      }
    }
  }

  private static int shape(StreamKind stream, boolean fenced, boolean single) {
    return (stream == StreamKind.IN ? 4 : 0) + (fenced ? 2 : 0) + (single ? 1 : 0);
  }

  /** Whether {@link #claimAndInsert} is one statement on this database. */
  boolean claimsAndInsertsAtOnce() {
    return claimAndInsertSql[0] != null;
  }

  /** What an append needs from the locked session row. */
  record LockedSession(
      @Nullable String currentRunId,
      long version,
      @Nullable Instant closedAt,
      @Nullable Instant expiresAt,
      long lastSeq) {}

  /**
   * Locks the session row ({@code SELECT ... FOR UPDATE}), serialising appends per session with the
   * status and fencing checks and with run swaps; null if there is no such session.
   */
  @Nullable LockedSession lockSession(Connection conn, String sessionId, StreamKind stream)
      throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "SELECT current_run_id, version, closed_at, expires_at, "
                + counterColumn(stream)
                + " FROM dc_sessions WHERE friendly_id = ? FOR UPDATE")) {
      ps.setString(1, sessionId);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return null;
        }
        return new LockedSession(
            rs.getString(1),
            rs.getLong(2),
            Database.getInstant(rs, "closed_at"),
            Database.getInstant(rs, "expires_at"),
            rs.getLong(5));
      }
    }
  }

  void setLastSeq(Connection conn, String sessionId, StreamKind stream, long lastSeq)
      throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "UPDATE dc_sessions SET "
                + counterColumn(stream)
                + " = ?"
                + Dialect.markUnserved(counterColumn(stream))
                + " WHERE friendly_id = ?")) {
      ps.setLong(1, lastSeq);
      ps.setString(2, sessionId);
      ps.executeUpdate();
    }
  }

  /**
   * One statement moves the counter past the batch if the session is open, unexpired and {@code
   * fencingRunId} is current (taking the row lock that keeps the numbers gapless).
   *
   * @return the batch's new last sequence number, or null (nothing changed) if the session did not
   *     qualify
   */
  @Nullable Long claimSeqs(
      Connection conn,
      String sessionId,
      StreamKind stream,
      int count,
      @Nullable String fencingRunId,
      Instant now)
      throws SQLException {
    try (PreparedStatement ps =
        db.prepare(conn, db.dialect().claimSeqsSql(counterColumn(stream), fencingRunId != null))) {
      ps.setLong(1, count);
      ps.setString(2, sessionId);
      Database.setInstant(ps, 3, now);
      if (fencingRunId != null) {
        ps.setString(4, fencingRunId);
      }
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : null;
      }
    }
  }

  /**
   * The claim of {@link #claimSeqs} and the insert of the records numbered from it in one
   * statement, where the dialect can ({@link Dialect#claimAndInsertSql}).
   *
   * @return the batch's new last sequence number, or null (nothing changed) if the session did not
   *     qualify
   * @throws SQLException a unique violation if the single record's part id is taken (nothing
   *     written; the transaction must be rolled back)
   */
  @Nullable Long claimAndInsert(
      Connection conn,
      String sessionId,
      StreamKind stream,
      List<NewRecord> batch,
      @Nullable String fencingRunId,
      Instant now)
      throws SQLException {
    String sql =
        Objects.requireNonNull(
            claimAndInsertSql[shape(stream, fencingRunId != null, batch.size() == 1)],
            "one-statement append");
    try (PreparedStatement ps = db.prepare(conn, sql)) {
      int i = 1;
      String time = Dialect.timeParameter(now);
      ps.setLong(i++, batch.size());
      ps.setString(i++, sessionId);
      ps.setString(i++, time);
      if (fencingRunId != null) {
        ps.setString(i++, fencingRunId);
      }
      ps.setString(i++, sessionId);
      ps.setString(i++, stream.wireName());
      if (batch.size() == 1) {
        NewRecord record = batch.get(0);
        ps.setString(i++, record.payload());
        ps.setString(i++, record.partId());
        ps.setString(i, time);
      } else {
        ps.setLong(i++, batch.size());
        ps.setString(i++, time);
        var payloads = new String[batch.size()];
        for (int k = 0; k < payloads.length; k++) {
          payloads[k] = batch.get(k).payload();
        }
        ps.setArray(i, conn.createArrayOf("varchar", payloads));
      }
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : null;
      }
    }
  }

  void insert(
      Connection conn,
      String sessionId,
      StreamKind stream,
      List<NewRecord> batch,
      long firstSeq,
      Instant now)
      throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "INSERT INTO dc_records (session_id, stream, seq, payload, part_id, created_at)"
                + " VALUES (?, ?, ?, ?, ?, ?)")) {
      long seq = firstSeq;
      for (NewRecord record : batch) {
        ps.setString(1, sessionId);
        ps.setString(2, stream.wireName());
        ps.setLong(3, seq++);
        ps.setString(4, record.payload());
        ps.setString(5, record.partId());
        Database.setInstant(ps, 6, now);
        if (batch.size() == 1) {
          ps.executeUpdate();
        } else {
          ps.addBatch();
        }
      }
      if (batch.size() > 1) {
        // One round trip: pgjdbc with reWriteBatchedInserts sends one multi-row INSERT.
        ps.executeBatch();
      }
    }
    String partId = batch.get(0).partId();
    if (partId != null && db.dialect().partIdsInOwnTable()) {
      // Only single records carry a part id (JdbcSessionStore.append checks).
      try (PreparedStatement ps =
          db.prepare(
              conn,
              "INSERT INTO dc_record_parts (session_id, stream, part_id, seq)"
                  + " VALUES (?, ?, ?, ?)")) {
        ps.setString(1, sessionId);
        ps.setString(2, stream.wireName());
        ps.setString(3, partId);
        ps.setLong(4, firstSeq);
        ps.executeUpdate();
      }
    }
  }

  /** The sequence number of the record appended with the part id, or null. */
  @Nullable Long findPartId(Connection conn, String sessionId, StreamKind stream, String partId)
      throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "SELECT seq FROM "
                + (db.dialect().partIdsInOwnTable() ? "dc_record_parts" : "dc_records")
                + " WHERE session_id = ? AND stream = ? AND part_id = ?")) {
      ps.setString(1, sessionId);
      ps.setString(2, stream.wireName());
      ps.setString(3, partId);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : null;
      }
    }
  }

  /** Up to {@code limit} records after {@code afterSeq}, in order. */
  List<StoredRecord> read(
      Connection conn, String sessionId, StreamKind stream, long afterSeq, int limit)
      throws SQLException {
    var records = new ArrayList<StoredRecord>(Math.min(limit, 256));
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "SELECT seq, payload, part_id, created_at FROM dc_records"
                + " WHERE session_id = ? AND stream = ? AND seq > ?"
                + " ORDER BY seq FETCH FIRST ? ROWS ONLY")) {
      ps.setString(1, sessionId);
      ps.setString(2, stream.wireName());
      ps.setLong(3, afterSeq);
      ps.setInt(4, limit);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          records.add(
              new StoredRecord(
                  rs.getLong(1),
                  rs.getString(2),
                  rs.getString(3),
                  Objects.requireNonNull(Database.getInstant(rs, "created_at"))));
        }
      }
    }
    return records;
  }

  /**
   * The stream's last sequence number.
   *
   * @throws dev.durablechat.api.NoSuchSessionException if there is no such session
   */
  long lastSeq(Connection conn, String sessionId, StreamKind stream) throws SQLException {
    try (PreparedStatement ps =
        db.prepare(
            conn, "SELECT " + counterColumn(stream) + " FROM dc_sessions WHERE friendly_id = ?")) {
      ps.setString(1, sessionId);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw SessionRows.noSuchSession(sessionId);
        }
        return rs.getLong(1);
      }
    }
  }

  /**
   * Deletes the records through {@code throughSeq}, and their part ids with them (as where the part
   * id lives on the record only); how many records went.
   */
  long trim(Connection conn, String sessionId, StreamKind stream, long throughSeq)
      throws SQLException {
    if (db.dialect().partIdsInOwnTable()) {
      try (PreparedStatement ps =
          db.prepare(
              conn,
              "DELETE FROM dc_record_parts WHERE session_id = ? AND stream = ? AND seq <= ?")) {
        ps.setString(1, sessionId);
        ps.setString(2, stream.wireName());
        ps.setLong(3, throughSeq);
        ps.executeUpdate();
      }
    }
    try (PreparedStatement ps =
        db.prepare(
            conn, "DELETE FROM dc_records WHERE session_id = ? AND stream = ? AND seq <= ?")) {
      ps.setString(1, sessionId);
      ps.setString(2, stream.wireName());
      ps.setLong(3, throughSeq);
      return ps.executeUpdate();
    }
  }

  private static String counterColumn(StreamKind stream) {
    return stream == StreamKind.IN ? "last_in_seq" : "last_out_seq";
  }
}
