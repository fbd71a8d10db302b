package dev.durablechat.storage.jdbc;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool;
import dev.durablechat.api.StoreUnavailableException;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoreConfig;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;

/**
 * Opens the JDBC stores: from a {@link DataSource} the application already has, or from a JDBC URL
 * (the {@code jdbc} scheme of {@link dev.durablechat.api.spi.StoreLoader}), pooled with HikariCP.
 * H2 ({@code jdbc:h2:file:./data/chat}) and PostgreSQL ({@code jdbc:postgresql://host/db}) are
 * supported; the schema is created or migrated on open.
 *
 * <p>Options of a URL location: {@code user}, {@code password}, {@code maxPoolSize} (default 10),
 * {@code connectionTimeoutMillis} (how long a call waits for a connection before it fails with
 * {@link StoreUnavailableException}, default 5000), {@code queryTimeoutSeconds} (per statement, 0
 * for none, the default) and {@code pollIntervalMillis} (how often watchers poll when the database
 * cannot push appends, default 250).
 *
 * <p>On PostgreSQL a session store keeps one connection of its data source for LISTEN, so that
 * appends on any node wake its watchers. An H2 file URL gets {@code WRITE_DELAY=0} unless it sets
 * one, so that a commit is in the file before the call returns (H2's default delays it up to 500
 * ms, and a killed process would lose appends it reported as stored); a {@link DataSource} of the
 * application's should set it too.
 */
public final class JdbcStores {
  /** The default interval at which watchers poll when appends cannot be pushed. */
  public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofMillis(250);

  private static final Set<String> OPTIONS =
      Set.of(
          "user",
          "password",
          "maxPoolSize",
          "connectionTimeoutMillis",
          "queryTimeoutSeconds",
          "pollIntervalMillis");
  private static final AtomicInteger POOLS = new AtomicInteger();

  private JdbcStores() {}

  /**
   * A session store on the application's data source, which it does not close. The data source
   * should pool connections; for PostgreSQL, {@code reWriteBatchedInserts=true} makes a batch of
   * records one statement.
   */
  public static SessionStore sessionStore(DataSource dataSource) {
    return sessionStore(dataSource, DEFAULT_POLL_INTERVAL);
  }

  /** A session store on the application's data source whose watchers poll at this interval. */
  public static SessionStore sessionStore(DataSource dataSource, Duration pollInterval) {
    Objects.requireNonNull(dataSource, "dataSource");
    requirePositive(pollInterval);
    return new JdbcSessionStore(Database.open(dataSource, null, 0, "data source"), pollInterval);
  }

  /** A snapshot store on the application's data source, which it does not close. */
  public static SnapshotStore snapshotStore(DataSource dataSource) {
    Objects.requireNonNull(dataSource, "dataSource");
    return new JdbcSnapshotStore(Database.open(dataSource, null, 0, "data source"));
  }

  /** A session store at a {@code jdbc:} location, with its own connection pool. */
  public static SessionStore openSessionStore(StoreConfig config) {
    Duration poll =
        Duration.ofMillis(
            intOption(config, "pollIntervalMillis", (int) DEFAULT_POLL_INTERVAL.toMillis(), 1));
    return new JdbcSessionStore(open(config), poll);
  }

  /** A snapshot store at a {@code jdbc:} location, with its own connection pool. */
  public static SnapshotStore openSnapshotStore(StoreConfig config) {
    return new JdbcSnapshotStore(open(config));
  }

  private static Database open(StoreConfig config) {
    Objects.requireNonNull(config, "config");
    String url = config.location();
    if (!"jdbc".equals(config.scheme())) {
      throw new IllegalArgumentException(
          "jdbc store location [" + redact(url) + "] must start with [jdbc:]");
    }
    for (String name : config.options().keySet()) {
      if (!OPTIONS.contains(name)) {
        throw new IllegalArgumentException(
            "jdbc store option [" + name + "] is unknown, expected one of " + OPTIONS);
      }
    }
    try {
      DriverManager.getDriver(url);
    } catch (SQLException e) {
      throw new IllegalArgumentException(
          "jdbc store location ["
              + redact(url)
              + "]: no JDBC driver on the class path accepts it; add one"
              + " (org.postgresql:postgresql or com.h2database:h2)",
          e);
    }
    String lower = url.toLowerCase(Locale.ROOT);
    var hikari = new HikariConfig();
    hikari.setPoolName("durablechat-jdbc-" + POOLS.incrementAndGet());
    hikari.setJdbcUrl(url);
    config.option("user").ifPresent(hikari::setUsername);
    config.option("password").ifPresent(hikari::setPassword);
    hikari.setMaximumPoolSize(intOption(config, "maxPoolSize", 10, 1));
    hikari.setConnectionTimeout(intOption(config, "connectionTimeoutMillis", 5_000, 250));
    if (lower.startsWith("jdbc:postgresql:")) {
      // A batch of out records becomes one multi-row INSERT: one round trip.
      hikari.addDataSourceProperty("reWriteBatchedInserts", "true");
    } else if (lower.startsWith("jdbc:h2:")) {
      String h2 = url;
      if (!lower.contains("lock_timeout")) {
        // H2 waits 1 s for a row lock by default; appenders of one busy session may queue longer.
        h2 += ";LOCK_TIMEOUT=10000";
      }
      if (!lower.startsWith("jdbc:h2:mem:") && !lower.contains("write_delay")) {
        // H2 writes a commit to its file up to 500 ms later by default: a killed process would
        // lose appends it had reported as stored. Write each commit before returning.
        h2 += ";WRITE_DELAY=0";
      }
      hikari.setJdbcUrl(h2);
    }
    int queryTimeout = intOption(config, "queryTimeoutSeconds", 0, 0);
    HikariDataSource pool;
    try {
      pool = new HikariDataSource(hikari);
    } catch (HikariPool.PoolInitializationException e) {
      throw new StoreUnavailableException(
          "jdbc store [" + redact(url) + "]: cannot connect: " + rootMessage(e), e);
    } catch (RuntimeException e) {
      if (e.getCause() instanceof SQLException sql) {
        throw SqlFailures.translate("jdbc store [" + redact(url) + "]: open", sql);
      }
      throw e;
    }
    return Database.open(pool, pool, queryTimeout, redact(url));
  }

  private static int intOption(StoreConfig config, String name, int fallback, int min) {
    String raw = config.options().getOrDefault(name, null);
    if (raw == null) {
      return fallback;
    }
    try {
      int value = Integer.parseInt(raw.trim());
      if (value < min) {
        throw new IllegalArgumentException(
            "jdbc store option [" + name + "] must be at least [" + min + "], got [" + raw + "]");
      }
      return value;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "jdbc store option [" + name + "] must be a whole number, got [" + raw + "]", e);
    }
  }

  private static void requirePositive(Duration pollInterval) {
    if (pollInterval == null || pollInterval.isNegative() || pollInterval.isZero()) {
      throw new IllegalArgumentException("poll interval [" + pollInterval + "] must be positive");
    }
  }

  /** The URL without parameters that may carry credentials. */
  static String redact(String url) {
    String out = url;
    for (String mark : new String[] {"?", ";"}) {
      int at = out.indexOf(mark);
      if (at >= 0) {
        out = out.substring(0, at);
      }
    }
    return out;
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return String.valueOf(t.getMessage());
  }
}
