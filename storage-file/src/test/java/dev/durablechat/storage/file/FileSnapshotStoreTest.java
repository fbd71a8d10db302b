package dev.durablechat.storage.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.Environment;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StoreUnavailableException;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoreConfig;
import dev.durablechat.api.spi.StoreLoader;
import dev.durablechat.storage.tck.SnapshotStoreContract;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("FileSnapshotStore keeps the SnapshotStore contract")
class FileSnapshotStoreTest extends SnapshotStoreContract {
  private final Path root = tempDir();

  private static Path tempDir() {
    try {
      return Files.createTempDirectory("durablechat-file-tck");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  protected SnapshotStore openStore() {
    return new FileSnapshotStore(root);
  }

  @Override
  protected StoreConfig serviceLoaderConfig() {
    return StoreConfig.of("file:" + root);
  }

  @Override
  protected void closeStore(SnapshotStore store) {
    store.close();
    deleteTree(root);
  }

  static void deleteTree(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static SnapshotKey newKey() {
    return new SnapshotKey(
        new Environment("proj", "dev"), "session_" + UUID.randomUUID().toString().replace("-", ""));
  }

  // ---- on disk

  @Test
  @DisplayName(
      "on disk: the snapshot is the file <root>/<key.path()> holding exactly the bytes (H1)")
  void layout() throws IOException {
    SnapshotKey key = newKey();
    byte[] content = "{\"version\":1,\"messages\":[]}".getBytes(StandardCharsets.UTF_8);

    store().write(key, content, null);

    Path file = root.resolve(key.path());
    assertThat(file).exists();
    assertThat(Files.readAllBytes(file)).isEqualTo(content);
    assertThat(key.path()).startsWith("packets/proj/dev/sessions/" + key.sessionId() + "/");
  }

  @Test
  @DisplayName("on disk: writes leave no temporary files behind")
  void noTemporaryFiles() throws IOException {
    SnapshotKey key = newKey();
    String v = store().write(key, new byte[] {1}, null);
    v = store().write(key, new byte[] {2}, v);
    store().write(key, new byte[] {3}, v);

    try (Stream<Path> files = Files.list(root.resolve(key.path()).getParent())) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .containsExactlyInAnyOrder("snapshot.json", "snapshot.json.lock");
    }
  }

  @Test
  @DisplayName("on disk: a root that is not a folder is unavailable, naming the path")
  void rootIsAFile() throws IOException {
    Path file = Files.createTempFile("durablechat-not-a-folder", ".txt");
    try {
      assertThatThrownBy(() -> new FileSnapshotStore(file))
          .isInstanceOf(StoreUnavailableException.class)
          .hasMessageContaining(file.toString());
      assertThatThrownBy(() -> StoreLoader.openSnapshotStore("file:" + file))
          .isInstanceOf(StoreUnavailableException.class);
    } finally {
      Files.delete(file);
    }
  }

  @Test
  @DisplayName("on disk: a disk error on write is unavailable, naming the path, and stores nothing")
  void ioErrorOnWrite() throws IOException {
    Path other = Files.createTempDirectory("durablechat-file-broken");
    try (var broken = new FileSnapshotStore(other)) {
      SnapshotKey key = newKey();
      // A regular file where the sessions folder must be: the write cannot make its folder.
      Path blocker = other.resolve("packets");
      Files.writeString(blocker, "in the way");

      assertThatThrownBy(() -> broken.write(key, new byte[] {1}, null))
          .isInstanceOf(StoreUnavailableException.class)
          .hasMessageContaining(other.resolve(key.path()).toString());
      assertThatThrownBy(() -> broken.read(key)).isInstanceOf(StoreUnavailableException.class);
    } finally {
      deleteTree(other);
    }
  }

  @Test
  @DisplayName("on disk: a location without a folder is an illegal argument")
  void blankLocation() {
    assertThatThrownBy(() -> new FileSnapshotStoreProvider().open(StoreConfig.of("file:")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("[file:]");
  }

  @Test
  @DisplayName(
      "on disk: two processes incrementing one snapshot by conditional writes lose no update")
  void twoProcesses() throws Exception {
    SnapshotKey key = newKey();
    store().write(key, "0".getBytes(StandardCharsets.UTF_8), null);
    int each = 150;
    var processes = new ArrayList<Process>();
    for (int i = 0; i < 2; i++) {
      processes.add(
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-cp",
                  System.getProperty("java.class.path"),
                  Incrementer.class.getName(),
                  root.toString(),
                  key.environment().projectRef(),
                  key.environment().envSlug(),
                  key.sessionId(),
                  Integer.toString(each))
              .redirectErrorStream(true)
              .start());
    }
    List<String> outputs = new ArrayList<>();
    for (Process p : processes) {
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("incrementer finished").isTrue();
      outputs.add(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
      assertThat(p.exitValue()).as("incrementer output: %s", outputs).isZero();
    }

    byte[] content = store().read(key).orElseThrow().content();
    assertThat(new String(content, StandardCharsets.UTF_8)).isEqualTo(Integer.toString(2 * each));
  }
}
