package dev.durablechat.storage.file;

import dev.durablechat.api.Environment;
import dev.durablechat.api.SnapshotConflictException;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.spi.StoredSnapshot;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A second process for {@code FileSnapshotStoreTest}: adds one to a counter snapshot {@code n}
 * times by read and conditional write, retrying on conflict. Args: folder, project, env, session,
 * n.
 */
final class Incrementer {
  private Incrementer() {}

  public static void main(String[] args) {
    var key = new SnapshotKey(new Environment(args[1], args[2]), args[3]);
    int n = Integer.parseInt(args[4]);
    try (var store = new FileSnapshotStore(Path.of(args[0]))) {
      int done = 0;
      while (done < n) {
        StoredSnapshot s = store.read(key).orElseThrow();
        long value = Long.parseLong(new String(s.content(), StandardCharsets.UTF_8));
        try {
          store.write(key, Long.toString(value + 1).getBytes(StandardCharsets.UTF_8), s.version());
          done++;
        } catch (SnapshotConflictException e) {
          // The other process got there first: read again.
        }
      }
    }
  }
}
