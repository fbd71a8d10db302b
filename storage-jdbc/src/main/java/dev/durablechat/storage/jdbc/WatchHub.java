package dev.durablechat.storage.jdbc;

import dev.durablechat.api.StreamKind;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wakes a store's watchers (SessionStore#watch). Appends through this store wake them directly;
 * appends through other stores or nodes wake them through PostgreSQL LISTEN/NOTIFY on one dedicated
 * connection, and, where the database cannot push (H2) or the listening connection is lost, through
 * polling {@code lastSeq} on a bounded interval. Calls run on one named daemon thread and are
 * coalesced per watcher.
 */
final class WatchHub implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(WatchHub.class);
  private static final AtomicInteger IDS = new AtomicInteger();

  private record Key(String sessionId, StreamKind stream) {}

  private static final class Watcher {
    final Runnable onAppend;
    final AtomicBoolean pending = new AtomicBoolean();

    Watcher(Runnable onAppend) {
      this.onAppend = onAppend;
    }
  }

  private final Database db;
  private final Duration pollInterval;
  private final Map<Key, Set<Watcher>> watchers = new ConcurrentHashMap<>();
  private final Map<Key, Long> lastSeen = new ConcurrentHashMap<>();
  private final Object monitor = new Object();
  private final int id = IDS.incrementAndGet();
  private final ExecutorService dispatcher;
  private static final long HEALTH_CHECK_NANOS = TimeUnit.SECONDS.toNanos(10);
  private long lastHealthCheck = System.nanoTime();
  private volatile boolean closed;
  private @Nullable Thread loop;
  private volatile @Nullable Connection listener;

  WatchHub(Database db, Duration pollInterval) {
    this.db = db;
    this.pollInterval = pollInterval;
    this.dispatcher =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "durablechat-jdbc-watch-dispatch-" + id);
              t.setDaemon(true);
              return t;
            });
  }

  AutoCloseable watch(String sessionId, StreamKind stream, Runnable onAppend) {
    var key = new Key(sessionId, stream);
    var watcher = new Watcher(onAppend);
    watchers.computeIfAbsent(key, k -> new CopyOnWriteArraySet<>()).add(watcher);
    startLoop();
    return () ->
        watchers.computeIfPresent(
            key,
            (k, set) -> {
              set.remove(watcher);
              if (set.isEmpty()) {
                lastSeen.remove(k);
                return null;
              }
              return set;
            });
  }

  /** An append through this store committed. */
  void appended(String sessionId, StreamKind stream) {
    fire(new Key(sessionId, stream));
  }

  private void fire(Key key) {
    Set<Watcher> set = watchers.get(key);
    if (set == null) {
      return;
    }
    for (Watcher w : set) {
      if (w.pending.compareAndSet(false, true)) {
        try {
          dispatcher.execute(
              () -> {
                w.pending.set(false);
                try {
                  w.onAppend.run();
                } catch (RuntimeException e) {
                  LOG.warn("a watcher of session [{}] {} failed", key.sessionId(), key.stream(), e);
                }
              });
        } catch (RejectedExecutionException e) {
          return; // closed
        }
      }
    }
  }

  private void fireAll() {
    watchers.keySet().forEach(this::fire);
  }

  private synchronized void startLoop() {
    if (loop != null || closed) {
      return;
    }
    Thread t = new Thread(this::run, "durablechat-jdbc-watch-" + id);
    t.setDaemon(true);
    loop = t;
    t.start();
  }

  private void run() {
    long pollMillis = Math.max(1, pollInterval.toMillis());
    long nextListenAttempt = 0;
    while (!closed) {
      try {
        if (db.dialect().pushesAppends() && listener == null) {
          if (System.nanoTime() >= nextListenAttempt) {
            if (listen()) {
              // Anything may have landed while nobody listened: wake everyone once.
              fireAll();
            } else {
              // Retry soon whatever the poll interval: a pool may first hand out another
              // connection that the same outage broke, which it then evicts.
              nextListenAttempt =
                  System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.min(pollMillis, 1_000));
            }
          }
        }
        Connection conn = listener;
        if (conn != null) {
          receive(conn, pollMillis);
        } else {
          poll();
          synchronized (monitor) {
            if (!closed) {
              monitor.wait(pollMillis);
            }
          }
        }
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        LOG.debug("watch loop of [{}] failed, continuing", db.description(), e);
      }
    }
  }

  private boolean listen() {
    Connection conn = null;
    try {
      conn = db.dataSource().getConnection();
      conn.setAutoCommit(true);
      try (Statement st = conn.createStatement()) {
        st.execute("LISTEN " + Dialect.CHANNEL);
      }
      conn.unwrap(PGConnection.class); // fails early if the driver is not pgjdbc
      listener = conn;
      LOG.debug("jdbc store [{}]: listening for appends", db.description());
      return true;
    } catch (SQLException | RuntimeException e) {
      LOG.warn(
          "jdbc store [{}]: cannot listen for appends, polling every {} ms instead: {}",
          db.description(),
          pollInterval.toMillis(),
          e.toString());
      if (conn != null) {
        db.discard(conn);
      }
      return false;
    }
  }

  private void receive(Connection conn, long timeoutMillis) {
    try {
      long now = System.nanoTime();
      if (now - lastHealthCheck > HEALTH_CHECK_NANOS) {
        // A connection can die silently (a half-open TCP connection just never delivers): ask.
        lastHealthCheck = now;
        if (!conn.isValid(5)) {
          throw new SQLException("the listening connection is no longer valid", "08006");
        }
      }
      PGNotification[] notes =
          conn.unwrap(PGConnection.class).getNotifications((int) Math.min(timeoutMillis, 500));
      if (notes == null) {
        return;
      }
      for (PGNotification note : notes) {
        // "stream:session", as the append and the dc_records_notify trigger write it
        // (Dialect.Postgres).
        String payload = note.getParameter();
        int colon = payload.indexOf(':');
        if (colon > 0) {
          try {
            fire(
                new Key(
                    payload.substring(colon + 1),
                    StreamKind.fromWireName(payload.substring(0, colon))));
          } catch (RuntimeException e) {
            LOG.debug("ignoring notification [{}]", payload);
          }
        }
      }
    } catch (SQLException e) {
      if (!closed) {
        LOG.warn(
            "jdbc store [{}]: lost the listening connection, polling until it is back: {}",
            db.description(),
            e.toString());
      }
      listener = null;
      db.discard(conn);
    }
  }

  private void poll() {
    if (watchers.isEmpty()) {
      return;
    }
    try (Connection conn = db.dataSource().getConnection();
        PreparedStatement ps =
            conn.prepareStatement(
                "SELECT last_in_seq, last_out_seq FROM dc_sessions WHERE friendly_id = ?")) {
      for (Key key : watchers.keySet()) {
        ps.setString(1, key.sessionId());
        try (ResultSet rs = ps.executeQuery()) {
          // A session that is gone (deleted, S11) counts as a change too: its watchers read
          // again and learn it.
          long seq = rs.next() ? rs.getLong(key.stream() == StreamKind.IN ? 1 : 2) : -1;
          Long before = lastSeen.put(key, seq);
          if (before == null || before != seq) {
            fire(key);
          }
        }
      }
    } catch (SQLException e) {
      LOG.debug("jdbc store [{}]: poll failed: {}", db.description(), e.toString());
    }
  }

  @Override
  public void close() {
    closed = true;
    synchronized (monitor) {
      monitor.notifyAll();
    }
    Thread t;
    synchronized (this) {
      t = loop;
    }
    if (t != null) {
      try {
        t.join(2_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    Database.closeQuietly(listener);
    listener = null;
    watchers.clear();
    dispatcher.shutdownNow();
  }
}
