package dev.durablechat.storage.tck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.Environment;
import dev.durablechat.api.Session;
import dev.durablechat.api.SnapshotConflictException;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoreConfig;
import dev.durablechat.api.spi.StoreLoader;
import dev.durablechat.api.spi.StoredSnapshot;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The contract every {@link SnapshotStore} keeps: the SPI javadoc and invariant 8 of protocol.md (a
 * snapshot's watermark never moves backwards; a stale writer is rejected). A backend's test extends
 * this class and says how to open the store:
 *
 * <pre>{@code
 * class MemorySnapshotStoreTest extends SnapshotStoreContract {
 *   protected SnapshotStore openStore() { return new MemorySnapshotStore(); }
 *   protected StoreConfig serviceLoaderConfig() { return StoreConfig.of("memory:tck"); }
 * }
 * }</pre>
 *
 * <p>One store serves the whole class; every test uses fresh random keys, so nothing needs wiping.
 *
 * <p>Every contract test is a method of this class itself (grouped by comments, named by its group
 * in its display name), not of a nested class: a nested class would be reported under the kit's
 * name, so the reports of two backends would overwrite each other. This way each backend's test
 * class reports all of its contract tests under its own name, in the console and in surefire's XML.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class SnapshotStoreContract {
  private @Nullable SnapshotStore store;

  /** This class's environment: a fresh one per test class. */
  protected final Environment env =
      new Environment("tck", "env-" + SessionStoreContract.random(12));

  /** Another environment, for the isolation tests. */
  protected final Environment otherEnv =
      new Environment("tck", "other-" + SessionStoreContract.random(12));

  /** Creates the contract; a subclass only opens the store. */
  protected SnapshotStoreContract() {}

  /** Opens the store under test; called once, before the first test of the class. */
  protected abstract SnapshotStore openStore();

  /**
   * A location whose scheme names this backend's provider, with whatever options it needs to open
   * (e.g. {@code memory:tck}); the kit opens it through {@link StoreLoader} and closes it.
   */
  protected abstract StoreConfig serviceLoaderConfig();

  /** Closes the store after the last test; by default {@link SnapshotStore#close()}. */
  protected void closeStore(SnapshotStore store) {
    store.close();
  }

  /**
   * Whether racing conditional writers are held to "exactly one wins". True by default; a backend
   * whose test server does not make conditional writes atomic under contention (s3proxy) may return
   * false, and the race tests then check only what a sequence of writes would give: at least one
   * winner, and the stored snapshot is one winner's content with that winner's version.
   */
  protected boolean atomicConditionalWritesUnderContention() {
    return true;
  }

  /** How many writers race in the race tests. */
  protected int racers() {
    return 8;
  }

  /** The store under test. */
  protected final SnapshotStore store() {
    if (store == null) {
      throw new IllegalStateException("the store is not open");
    }
    return store;
  }

  @BeforeAll
  final void openStoreOnce() {
    store = openStore();
  }

  @AfterAll
  final void closeStoreOnce() {
    if (store != null) {
      closeStore(store);
      store = null;
    }
  }

  SnapshotKey key() {
    return key(env);
  }

  static SnapshotKey key(Environment environment) {
    return new SnapshotKey(
        environment, Session.FRIENDLY_ID_PREFIX + SessionStoreContract.random(24));
  }

  static byte[] json(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  StoredSnapshot read(SnapshotKey key) {
    return store().read(key).orElseThrow(() -> new AssertionError("no snapshot at " + key));
  }

  // ---- writes are conditional on the version read (H1, invariant 8)

  @Test
  @DisplayName("conditional write: an absent snapshot reads as empty")
  void absentIsEmpty() {
    assertThat(store().read(key())).isEmpty();
  }

  @Test
  @DisplayName(
      "conditional write: a create expecting none stores it; the read gives the returned version")
  void createExpectingNone() {
    SnapshotKey key = key();

    String version = store().write(key, json("{\"version\":1}"), null);

    assertThat(version).isNotNull();
    StoredSnapshot stored = read(key);
    assertThat(stored.content()).isEqualTo(json("{\"version\":1}"));
    assertThat(stored.version()).isEqualTo(version);
  }

  @Test
  @DisplayName(
      "conditional write: a second create expecting none is a conflict and the first content stays")
  void secondCreateConflicts() {
    SnapshotKey key = key();
    String version = store().write(key, json("{\"a\":1}"), null);

    assertThatThrownBy(() -> store().write(key, json("{\"b\":2}"), null))
        .isInstanceOf(SnapshotConflictException.class);
    assertThat(read(key).content()).isEqualTo(json("{\"a\":1}"));
    assertThat(read(key).version()).isEqualTo(version);
  }

  @Test
  @DisplayName(
      "conditional write: a write naming the version read replaces the content with a new version")
  void replaceWithReadVersion() {
    SnapshotKey key = key();
    store().write(key, json("{\"turn\":1}"), null);
    String read = read(key).version();

    String next = store().write(key, json("{\"turn\":2}"), read);

    assertThat(next).isNotEqualTo(read);
    assertThat(read(key).content()).isEqualTo(json("{\"turn\":2}"));
    assertThat(read(key).version()).isEqualTo(next);
  }

  @Test
  @DisplayName(
      "conditional write: a stale writer is rejected and the newer content stays (the watermark holds)")
  void staleWriterConflicts() {
    SnapshotKey key = key();
    String v1 = store().write(key, json("{\"lastOutEventId\":1}"), null);
    String v2 = store().write(key, json("{\"lastOutEventId\":9}"), v1);

    assertThatThrownBy(() -> store().write(key, json("{\"lastOutEventId\":5}"), v1))
        .isInstanceOf(SnapshotConflictException.class);
    assertThat(read(key).content()).isEqualTo(json("{\"lastOutEventId\":9}"));
    assertThat(read(key).version()).isEqualTo(v2);
  }

  @Test
  @DisplayName(
      "conditional write: a write expecting a version where there is none is a conflict and stores nothing")
  void expectingAVersionOfNothing() {
    SnapshotKey key = key();
    String v1 = store().write(key(), json("{}"), null);

    assertThatThrownBy(() -> store().write(key, json("{}"), v1))
        .isInstanceOf(SnapshotConflictException.class);
    assertThat(store().read(key)).isEmpty();
  }

  @Test
  @DisplayName("conditional write: writing the same content again still needs the current version")
  void sameContentIsStillConditional() {
    SnapshotKey key = key();
    String v1 = store().write(key, json("{\"x\":1}"), null);
    String v2 = store().write(key, json("{\"x\":2}"), v1);
    String v3 = store().write(key, json("{\"x\":1}"), v2);

    assertThatThrownBy(() -> store().write(key, json("{\"x\":3}"), v2))
        .isInstanceOf(SnapshotConflictException.class);
    assertThat(read(key).version()).isEqualTo(v3);
  }

  // ---- content is opaque bytes, returned exactly

  @Test
  @DisplayName("content: every byte value and a large document come back exactly")
  void bytesAreExact() {
    SnapshotKey key = key();
    byte[] all = new byte[256 * 4];
    for (int i = 0; i < all.length; i++) {
      all[i] = (byte) i;
    }
    String v1 = store().write(key, all, null);
    assertThat(read(key).content()).isEqualTo(all);

    var large = new StringBuilder("{\"messages\":[");
    while (large.length() < 300_000) {
      large.append("{\"id\":\"m\",\"text\":\"héllo 你好 🌍\"},");
    }
    large.append("{}]}");
    byte[] big = json(large.toString());
    store().write(key, big, v1);
    assertThat(read(key).content()).isEqualTo(big);
  }

  @Test
  @DisplayName("content: changing the written array afterwards does not change the snapshot")
  void writtenArrayIsNotShared() {
    SnapshotKey key = key();
    byte[] content = json("{\"a\":1}");
    store().write(key, content, null);

    content[0] = 'X';

    assertThat(read(key).content()).isEqualTo(json("{\"a\":1}"));
  }

  // ---- delete removes the snapshot whatever its version

  @Test
  @DisplayName("delete: delete returns true, then false; the key is free again")
  void deleteThenRecreate() {
    SnapshotKey key = key();
    String v1 = store().write(key, json("{\"a\":1}"), null);

    assertThat(store().delete(key)).isTrue();
    assertThat(store().read(key)).isEmpty();
    assertThat(store().delete(key)).isFalse();

    assertThatThrownBy(() -> store().write(key, json("{\"stale\":1}"), v1))
        .as("a version from before the delete matches nothing")
        .isInstanceOf(SnapshotConflictException.class);
    assertThat(store().read(key)).isEmpty();
    String v2 = store().write(key, json("{\"b\":2}"), null);
    assertThat(read(key).version()).isEqualTo(v2);
    assertThat(read(key).content()).isEqualTo(json("{\"b\":2}"));
  }

  @Test
  @DisplayName("delete: deleting an absent snapshot returns false")
  void deleteAbsent() {
    assertThat(store().delete(key())).isFalse();
  }

  // ---- keys are isolated per session and per environment

  @Test
  @DisplayName("isolation: sessions do not see each other's snapshots")
  void perSession() {
    SnapshotKey a = key();
    SnapshotKey b = key();
    store().write(a, json("{\"s\":\"a\"}"), null);

    assertThat(store().read(b)).isEmpty();
    store().write(b, json("{\"s\":\"b\"}"), null);
    store().delete(a);
    assertThat(read(b).content()).isEqualTo(json("{\"s\":\"b\"}"));
  }

  @Test
  @DisplayName("isolation: one session id in two environments is two snapshots")
  void perEnvironment() {
    SnapshotKey here = key();
    SnapshotKey there = new SnapshotKey(otherEnv, here.sessionId());
    store().write(here, json("{\"env\":1}"), null);

    assertThat(store().read(there)).isEmpty();
    store().write(there, json("{\"env\":2}"), null);
    assertThat(read(here).content()).isEqualTo(json("{\"env\":1}"));
    assertThat(read(there).content()).isEqualTo(json("{\"env\":2}"));
  }

  // ---- segments: immutable objects beside snapshot.json that a manifest names (H1)

  @Test
  @DisplayName(
      "segments: a segment key is its own object beside snapshot.json, written, read and deleted alone")
  void segmentIsItsOwnObject() {
    SnapshotKey key = key();
    SnapshotKey segment = key.withSegment("7-abc");
    String manifest = store().write(key, json("{\"version\":2}"), null);

    String version = store().write(segment, json("{\"messages\":[1]}"), null);

    assertThat(read(segment).content()).isEqualTo(json("{\"messages\":[1]}"));
    assertThat(read(segment).version()).isEqualTo(version);
    assertThat(store().read(key.withSegment("7-abd"))).isEmpty();
    assertThat(store().delete(segment)).isTrue();
    assertThat(store().read(segment)).isEmpty();
    assertThat(store().delete(segment)).isFalse();
    assertThat(read(key).version()).as("snapshot.json is untouched").isEqualTo(manifest);
  }

  @Test
  @DisplayName(
      "segments: a segment is created once; a second create under its name is a conflict and the first stays")
  void segmentIsCreatedOnce() {
    SnapshotKey segment = key().withSegment("1-once");
    store().write(segment, json("[1]"), null);

    assertThatThrownBy(() -> store().write(segment, json("[2]"), null))
        .isInstanceOf(SnapshotConflictException.class);
    assertThat(read(segment).content()).isEqualTo(json("[1]"));
  }

  @Test
  @DisplayName(
      "segments: the manifest's conditional write still rejects a stale writer that wrote a segment first")
  void manifestFencesAStaleSegmentWriter() {
    SnapshotKey key = key();
    store().write(key.withSegment("1-base"), json("[1]"), null);
    String v1 = store().write(key, json("{\"segments\":[\"1-base\"]}"), null);
    store().write(key.withSegment("9-new"), json("[9]"), null);
    String v2 = store().write(key, json("{\"segments\":[\"1-base\",\"9-new\"]}"), v1);

    store().write(key.withSegment("5-stale"), json("[5]"), null);
    assertThatThrownBy(
            () -> store().write(key, json("{\"segments\":[\"1-base\",\"5-stale\"]}"), v1))
        .isInstanceOf(SnapshotConflictException.class);

    assertThat(read(key).version()).isEqualTo(v2);
    assertThat(read(key).content()).isEqualTo(json("{\"segments\":[\"1-base\",\"9-new\"]}"));
    assertThat(read(key.withSegment("9-new")).content()).isEqualTo(json("[9]"));
  }

  @Test
  @DisplayName(
      "segments: deleting snapshot.json deletes every segment of the session, named or not, and no other session's")
  void deletingTheSnapshotDeletesItsSegments() {
    SnapshotKey key = key();
    SnapshotKey other = key();
    SnapshotKey otherEnvKey = new SnapshotKey(otherEnv, key.sessionId());
    store().write(key, json("{}"), null);
    store().write(key.withSegment("1-named"), json("[1]"), null);
    store().write(key.withSegment("2-orphan"), json("[2]"), null);
    store().write(other.withSegment("1-named"), json("[3]"), null);
    store().write(otherEnvKey.withSegment("1-named"), json("[4]"), null);

    assertThat(store().delete(key)).isTrue();

    assertThat(store().read(key)).isEmpty();
    assertThat(store().read(key.withSegment("1-named"))).isEmpty();
    assertThat(store().read(key.withSegment("2-orphan"))).isEmpty();
    assertThat(read(other.withSegment("1-named")).content()).isEqualTo(json("[3]"));
    assertThat(read(otherEnvKey.withSegment("1-named")).content()).isEqualTo(json("[4]"));
    assertThat(store().delete(key)).as("a second delete finds nothing").isFalse();
  }

  @Test
  @DisplayName("segments: a session with segments but no snapshot.json can still be deleted whole")
  void deletingWithOnlySegments() {
    SnapshotKey key = key();
    store().write(key.withSegment("1-left"), json("[1]"), null);

    assertThat(store().delete(key)).isFalse();

    assertThat(store().read(key.withSegment("1-left"))).isEmpty();
  }

  // ---- racing conditional writers (invariant 8)

  @Test
  @DisplayName("race: of N racing conditional writers from the same version exactly one wins")
  void racingReplaces() {
    SnapshotKey key = key();
    String base = store().write(key, json("{\"w\":-1}"), null);

    var outcomes =
        Race.run("snapshot", racers(), i -> store().write(key, json("{\"w\":" + i + "}"), base));

    assertRace(key, outcomes);
  }

  @Test
  @DisplayName("race: of N racing creators exactly one wins")
  void racingCreates() {
    SnapshotKey key = key();

    var outcomes =
        Race.run("create", racers(), i -> store().write(key, json("{\"w\":" + i + "}"), null));

    assertRace(key, outcomes);
  }

  private void assertRace(SnapshotKey key, List<Race.Outcome<String>> outcomes) {
    var winners = new ArrayList<Integer>();
    for (int i = 0; i < outcomes.size(); i++) {
      Race.Outcome<String> o = outcomes.get(i);
      if (o.ok()) {
        winners.add(i);
      } else {
        assertThat(o.error())
            .as("a losing writer gets a conflict")
            .isInstanceOf(SnapshotConflictException.class);
      }
    }
    if (atomicConditionalWritesUnderContention()) {
      assertThat(winners).as("winners").hasSize(1);
    } else {
      assertThat(winners).as("winners").isNotEmpty();
    }
    StoredSnapshot stored = read(key);
    List<Integer> matching =
        winners.stream()
            .filter(i -> stored.version().equals(outcomes.get(i).value()))
            .collect(Collectors.toList());
    assertThat(matching).as("the stored version is a winner's").hasSize(1);
    assertThat(stored.content()).isEqualTo(json("{\"w\":" + matching.get(0) + "}"));
  }

  @Test
  @DisplayName("the backend is found through ServiceLoader by its scheme")
  void foundByScheme() {
    StoreConfig config = serviceLoaderConfig();
    try (SnapshotStore loaded = StoreLoader.openSnapshotStore(config)) {
      assertThat(loaded).isExactlyInstanceOf(store().getClass());
      assertThat(StoreLoader.snapshotStoreProviders(getClass().getClassLoader()))
          .containsKey(config.scheme());
      SnapshotKey key = key();
      String version = loaded.write(key, json("{}"), null);
      assertThat(loaded.read(key).orElseThrow().version()).isEqualTo(version);
    }
  }
}
