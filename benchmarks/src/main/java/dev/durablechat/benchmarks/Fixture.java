package dev.durablechat.benchmarks;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.durablechat.api.Environment;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.core.CreateSessionRequest;
import dev.durablechat.core.DurableChat;
import dev.durablechat.core.EnsuredRun;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.UUID;
import java.util.stream.Stream;

/** Shared setup: engines with one session and its run, and the databases the JDBC runs use. */
final class Fixture {
  static final Environment ENV = new Environment("bench", "dev");

  private Fixture() {}

  /** An engine on a store, with one open session and its current run. */
  static final class Engine implements AutoCloseable {
    final DurableChat chat;
    final String sessionId;
    final String runId;

    private Engine(DurableChat chat, String sessionId, String runId) {
      this.chat = chat;
      this.sessionId = sessionId;
      this.runId = runId;
    }

    static Engine open(SessionStore store) {
      return on(DurableChat.builder().environment(ENV).sessionStore(store).build());
    }

    static Engine on(DurableChat chat) {
      String external = "chat-" + UUID.randomUUID();
      chat.createSession(CreateSessionRequest.builder("agent").externalId(external).build());
      EnsuredRun run = chat.ensureRun(external, RunReason.INITIAL);
      return new Engine(chat, run.session().friendlyId(), run.run().runId());
    }

    @Override
    public void close() {
      chat.close();
    }
  }

  /**
   * A database for a JDBC benchmark: {@code h2} (a fresh H2 file database in PostgreSQL mode, the
   * URL the notes give) or {@code pg} (the PostgreSQL at {@code PG_JDBC_URL}).
   */
  static final class Database implements AutoCloseable {
    final String kind;
    final HikariDataSource dataSource;
    private final Path dir;

    private Database(String kind, HikariDataSource dataSource, Path dir) {
      this.kind = kind;
      this.dataSource = dataSource;
      this.dir = dir;
    }

    static Database open(String kind) {
      var config = new HikariConfig();
      config.setMaximumPoolSize(4);
      Path dir = null;
      switch (kind) {
        case "h2":
          try {
            dir = Files.createTempDirectory("durablechat-bench-h2");
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
          config.setJdbcUrl(
              "jdbc:h2:file:"
                  + dir.resolve("db")
                  + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH"
                  // As JdbcStores opens an H2 file (and asks of an application's data source):
                  // each commit is in the file before the call returns, not up to 500 ms later.
                  + ";WRITE_DELAY=0");
          break;
        case "pg":
          String url = System.getenv("PG_JDBC_URL");
          if (url == null || url.isBlank()) {
            throw new IllegalStateException(
                "database [pg] needs PG_JDBC_URL (e.g."
                    + " jdbc:postgresql://127.0.0.1:55432/postgres?user=postgres), got none");
          }
          config.setJdbcUrl(url);
          // As JdbcStores does for its own pools: a batch becomes one multi-row INSERT.
          config.addDataSourceProperty("reWriteBatchedInserts", "true");
          break;
        default:
          throw new IllegalArgumentException("database [" + kind + "] must be [h2] or [pg]");
      }
      return new Database(kind, new HikariDataSource(config), dir);
    }

    @Override
    public void close() {
      dataSource.close();
      if (dir != null) {
        try (Stream<Path> files = Files.walk(dir)) {
          files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    }
  }
}
