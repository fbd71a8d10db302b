package dev.durablechat.storage.jdbc;

import dev.durablechat.api.StoreUnavailableException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A data source plus the way this module talks to it: short transactions, bounded retries of
 * failures that wrote nothing, and SQL failures turned into the SPI's exceptions.
 */
final class Database implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Database.class);
  private static final int MAX_ATTEMPTS = 4;

  /** One unit of work inside a transaction. */
  interface Work<T> {
    T run(Connection conn) throws SQLException;
  }

  private final DataSource dataSource;
  private final @Nullable AutoCloseable owned;
  private final Dialect dialect;
  private final int queryTimeoutSeconds;
  private final String description;
  private final AtomicBoolean closed = new AtomicBoolean();

  /** Statements prepared in the current thread's transaction; see {@link #inTransaction}. */
  private final ThreadLocal<int[]> prepared = ThreadLocal.withInitial(() -> new int[1]);

  private Database(
      DataSource dataSource,
      @Nullable AutoCloseable owned,
      Dialect dialect,
      int queryTimeoutSeconds,
      String description) {
    this.dataSource = dataSource;
    this.owned = owned;
    this.dialect = dialect;
    this.queryTimeoutSeconds = queryTimeoutSeconds;
    this.description = description;
  }

  /**
   * Connects, finds the dialect and migrates the schema.
   *
   * @param owned closed with this database (a pool we created), or null for the user's data source
   */
  static Database open(
      DataSource dataSource,
      @Nullable AutoCloseable owned,
      int queryTimeoutSeconds,
      String description) {
    Dialect dialect;
    try (Connection conn = dataSource.getConnection()) {
      dialect = Dialect.of(conn);
    } catch (SQLException e) {
      closeQuietly(owned);
      throw SqlFailures.translate("jdbc store [" + description + "]: open", e);
    } catch (RuntimeException e) {
      closeQuietly(owned);
      throw e;
    }
    var db = new Database(dataSource, owned, dialect, queryTimeoutSeconds, description);
    try {
      Schema.migrate(db);
    } catch (RuntimeException e) {
      db.close();
      throw e;
    }
    return db;
  }

  Dialect dialect() {
    return dialect;
  }

  DataSource dataSource() {
    return dataSource;
  }

  String description() {
    return description;
  }

  /** A statement with this store's query timeout. */
  PreparedStatement prepare(Connection conn, String sql) throws SQLException {
    prepared.get()[0]++;
    PreparedStatement ps = conn.prepareStatement(sql);
    if (queryTimeoutSeconds > 0) {
      ps.setQueryTimeout(queryTimeoutSeconds);
    }
    return ps;
  }

  /**
   * Runs {@code work} in one transaction and commits it. A failure before the commit rolls back,
   * and is retried only when the database says nothing was written and running again is safe
   * (serialization failure, deadlock, lock timeout), or when the connection turns out to be dead at
   * the transaction's first statement (a pooled connection that a database restart left behind; an
   * append on PostgreSQL is one statement, so a connection lost during it is retried too: the
   * transaction was never committed). A connection lost later in the transaction fails the call:
   * nothing was written, but the database is evidently in trouble. A failed commit is never
   * retried: its outcome is unknown, so the call fails with {@link StoreUnavailableException}.
   */
  <T> T inTransaction(String what, Work<T> work) {
    checkOpen(what);
    for (int attempt = 1; ; attempt++) {
      Connection conn;
      try {
        conn = dataSource.getConnection();
      } catch (SQLException e) {
        throw new StoreUnavailableException(
            what + " failed: no connection to the database (sqlstate [" + e.getSQLState() + "])",
            e);
      }
      try {
        conn.setAutoCommit(false);
        prepared.get()[0] = 0;
        T result;
        try {
          result = work.run(conn);
        } catch (SQLException e) {
          rollbackQuietly(conn);
          boolean staleConnection = SqlFailures.isBrokenConnection(e) && prepared.get()[0] <= 1;
          if ((SqlFailures.isRetryable(e) || staleConnection) && attempt < MAX_ATTEMPTS) {
            LOG.debug("{}: retrying after [{}] (attempt {})", what, e.getSQLState(), attempt);
            backoff(attempt);
            continue;
          }
          throw SqlFailures.translate(what, e);
        } catch (RuntimeException | Error e) {
          rollbackQuietly(conn);
          throw e;
        }
        try {
          conn.commit();
        } catch (SQLException e) {
          // PostgreSQL reports serialization failures at commit having rolled back; anything
          // else leaves the outcome unknown and must not be retried or reported as success.
          if (("40001".equals(e.getSQLState()) || "40P01".equals(e.getSQLState()))
              && attempt < MAX_ATTEMPTS) {
            backoff(attempt);
            continue;
          }
          throw new StoreUnavailableException(
              what
                  + " failed: commit outcome unknown (sqlstate ["
                  + e.getSQLState()
                  + "]): "
                  + e.getMessage(),
              e);
        }
        return result;
      } catch (SQLException e) {
        // setAutoCommit failed: the connection is broken before anything ran.
        throw SqlFailures.translate(what, e);
      } finally {
        restoreAndClose(conn);
      }
    }
  }

  void checkOpen(String what) {
    if (closed.get()) {
      throw new StoreUnavailableException(what + ": jdbc store [" + description + "] is closed");
    }
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      closeQuietly(owned);
    }
  }

  private static void backoff(int attempt) {
    try {
      Thread.sleep(5L * attempt + (long) (Math.random() * 10));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreUnavailableException("interrupted while retrying a transaction", e);
    }
  }

  private static void rollbackQuietly(Connection conn) {
    try {
      conn.rollback();
    } catch (SQLException e) {
      LOG.debug("rollback failed (the connection is likely gone)", e);
    }
  }

  private static void restoreAndClose(Connection conn) {
    try {
      if (!conn.isClosed() && !conn.getAutoCommit()) {
        conn.setAutoCommit(true);
      }
    } catch (SQLException e) {
      LOG.debug("could not restore auto-commit", e);
    }
    try {
      conn.close();
    } catch (SQLException e) {
      LOG.debug("closing a connection failed", e);
    }
  }

  /**
   * Gives back a connection known to be broken. A pool of ours is told to drop it: the failure may
   * have come through the driver's own API (LISTEN), which the pool's proxy never saw.
   */
  void discard(Connection conn) {
    if (owned instanceof com.zaxxer.hikari.HikariDataSource pool) {
      try {
        pool.evictConnection(conn);
        return;
      } catch (RuntimeException e) {
        LOG.debug("evicting a broken connection failed", e);
      }
    }
    closeQuietly(conn);
  }

  static void closeQuietly(@Nullable AutoCloseable closeable) {
    if (closeable == null) {
      return;
    }
    try {
      closeable.close();
    } catch (Exception e) {
      LOG.warn("closing [{}] failed", closeable.getClass().getSimpleName(), e);
    }
  }

  static void setInstant(PreparedStatement ps, int index, @Nullable Instant instant)
      throws SQLException {
    if (instant == null) {
      ps.setNull(index, java.sql.Types.TIMESTAMP_WITH_TIMEZONE);
    } else {
      ps.setObject(index, OffsetDateTime.ofInstant(instant, ZoneOffset.UTC));
    }
  }

  static @Nullable Instant getInstant(java.sql.ResultSet rs, String column) throws SQLException {
    OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
    return value == null ? null : value.toInstant();
  }
}
