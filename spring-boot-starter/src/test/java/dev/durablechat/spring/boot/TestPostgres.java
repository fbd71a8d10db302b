package dev.durablechat.spring.boot;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The PostgreSQL of the tests: {@code PG_JDBC_URL} when set (a shared server), else one embedded
 * server for the JVM (io.zonky), started on first use.
 */
final class TestPostgres {
  private static String url;

  private TestPostgres() {}

  static synchronized String url() {
    if (url == null) {
      String configured = System.getenv("PG_JDBC_URL");
      if (configured != null && !configured.isBlank()) {
        url = configured;
      } else {
        try {
          EmbeddedPostgres pg = EmbeddedPostgres.builder().start();
          Runtime.getRuntime().addShutdownHook(new Thread(() -> close(pg)));
          url = pg.getJdbcUrl("postgres", "postgres");
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    }
    return url;
  }

  private static void close(EmbeddedPostgres pg) {
    try {
      pg.close();
    } catch (IOException e) {
      // the JVM is exiting
    }
  }
}
