package dev.durablechat.storage.jdbc;

import dev.durablechat.api.SnapshotConflictException;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoredSnapshot;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * {@link SnapshotStore} in the {@code dc_snapshots} table, so that a user without an object store
 * still gets snapshot + replay. A version is a random token, never reused for a key even after a
 * delete, so a writer that read an old snapshot cannot overwrite a newer one by accident.
 */
final class JdbcSnapshotStore implements SnapshotStore {
  private final Database db;

  JdbcSnapshotStore(Database db) {
    this.db = db;
  }

  @Override
  public Optional<StoredSnapshot> read(SnapshotKey key) {
    Objects.requireNonNull(key, "key");
    return db.inTransaction("read snapshot [" + key.path() + "]", conn -> select(conn, key.path()));
  }

  @Override
  public String write(SnapshotKey key, byte[] content, @Nullable String expectedVersion) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(content, "content");
    String path = key.path();
    byte[] copy = content.clone();
    String version = UUID.randomUUID().toString();
    return db.inTransaction(
        "write snapshot [" + path + "]",
        conn -> {
          if (expectedVersion == null) {
            try (PreparedStatement ps =
                db.prepare(
                    conn,
                    "INSERT INTO dc_snapshots (snapshot_key, content, version, updated_at)"
                        + " VALUES (?, ?, ?, ?)")) {
              ps.setString(1, path);
              ps.setBytes(2, copy);
              ps.setString(3, version);
              Database.setInstant(ps, 4, Instant.now());
              ps.executeUpdate();
            } catch (SQLException e) {
              if (!SqlFailures.isUniqueViolation(e)) {
                throw e;
              }
              conn.rollback();
              throw conflict(conn, path, null);
            }
            return version;
          }
          try (PreparedStatement ps =
              db.prepare(
                  conn,
                  "UPDATE dc_snapshots SET content = ?, version = ?, updated_at = ?"
                      + " WHERE snapshot_key = ? AND version = ?")) {
            ps.setBytes(1, copy);
            ps.setString(2, version);
            Database.setInstant(ps, 3, Instant.now());
            ps.setString(4, path);
            ps.setString(5, expectedVersion);
            if (ps.executeUpdate() != 1) {
              throw conflict(conn, path, expectedVersion);
            }
          }
          return version;
        });
  }

  private SnapshotConflictException conflict(
      Connection conn, String path, @Nullable String expected) throws SQLException {
    String current = select(conn, path).map(StoredSnapshot::version).orElse(null);
    return new SnapshotConflictException(
        "snapshot ["
            + path
            + "]: expected version ["
            + (expected == null ? "none" : expected)
            + "], found ["
            + (current == null ? "none" : current)
            + "]");
  }

  /**
   * {@inheritDoc}
   *
   * <p>Deleting a session's {@code snapshot.json} also deletes every segment row of the session,
   * referenced or not, in the same transaction.
   */
  @Override
  public boolean delete(SnapshotKey key) {
    Objects.requireNonNull(key, "key");
    return db.inTransaction(
        "delete snapshot [" + key.path() + "]",
        conn -> {
          boolean deleted;
          try (PreparedStatement ps =
              db.prepare(conn, "DELETE FROM dc_snapshots WHERE snapshot_key = ?")) {
            ps.setString(1, key.path());
            deleted = ps.executeUpdate() > 0;
          }
          if (!key.isSegment()) {
            // LIKE with '!' escaping the wildcards ('_' is common in session ids). Without a
            // C collation PostgreSQL scans for it; a session is deleted rarely, off any turn.
            String prefix = key.folder() + SnapshotKey.SEGMENT_PREFIX;
            try (PreparedStatement ps =
                db.prepare(conn, "DELETE FROM dc_snapshots WHERE snapshot_key LIKE ? ESCAPE '!'")) {
              ps.setString(
                  1, prefix.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%");
              ps.executeUpdate();
            }
          }
          return deleted;
        });
  }

  private Optional<StoredSnapshot> select(Connection conn, String path) throws SQLException {
    try (PreparedStatement ps =
        db.prepare(conn, "SELECT content, version FROM dc_snapshots WHERE snapshot_key = ?")) {
      ps.setString(1, path);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next()
            ? Optional.of(new StoredSnapshot(rs.getBytes(1), rs.getString(2)))
            : Optional.empty();
      }
    }
  }

  @Override
  public void close() {
    db.close();
  }

  @Override
  public String toString() {
    return "JdbcSnapshotStore[" + db.description() + "]";
  }
}
