package dev.durablechat.storage.jdbc;

import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoreConfig;
import dev.durablechat.storage.tck.SessionStoreContract;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;

@DisplayName("the jdbc SessionStore on H2 (file) keeps the SessionStore contract")
class H2SessionStoreTest extends SessionStoreContract {
  private final Path dir = H2Files.newDir();

  @Override
  protected SessionStore openStore() {
    return JdbcStores.openSessionStore(serviceLoaderConfig());
  }

  @Override
  protected StoreConfig serviceLoaderConfig() {
    return StoreConfig.of(H2Files.url(dir));
  }

  @Override
  protected void closeStore(SessionStore store) {
    store.close();
    H2Files.delete(dir);
  }

  /** A throwaway H2 file per test class, in PostgreSQL mode, as the contributing notes say. */
  static final class H2Files {
    private H2Files() {}

    static Path newDir() {
      try {
        return Files.createTempDirectory("durablechat-h2-");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    static String url(Path dir) {
      return "jdbc:h2:file:"
          + dir.resolve("chat")
          + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH";
    }

    static void delete(Path dir) {
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
