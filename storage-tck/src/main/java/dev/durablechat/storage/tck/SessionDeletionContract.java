package dev.durablechat.storage.tck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.Environment;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.Session;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.TriggerConfig;
import dev.durablechat.api.spi.CreateOutcome;
import dev.durablechat.api.spi.NewRecord;
import dev.durablechat.api.spi.NewSession;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoredRecord;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The contract of {@link SessionStore#deleteSession} and of the retention queries ({@link
 * SessionStore#expiredSessions}, {@link SessionStore#closedSessions}, the snapshot deletion
 * records): PROTOCOL S11. A backend's test extends this class and opens the store, as for {@link
 * SessionStoreContract}; each test works on fresh ids in environments of its own, so a shared
 * database works.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class SessionDeletionContract {
  private static final StreamKind IN = StreamKind.IN;
  private static final StreamKind OUT = StreamKind.OUT;

  private @Nullable SessionStore store;

  /** A time every test starts from: whole seconds, so timestamp columns keep it exactly. */
  protected final Instant t0 = Instant.now().truncatedTo(ChronoUnit.SECONDS);

  /** Creates the contract; a subclass only opens the store. */
  protected SessionDeletionContract() {}

  /** Opens the store under test; called once, before the first test of the class. */
  protected abstract SessionStore openStore();

  /** Closes the store after the last test; by default {@link SessionStore#close()}. */
  protected void closeStore(SessionStore store) {
    store.close();
  }

  /** How long a watcher may take to be called after a delete. */
  protected Duration watchTimeout() {
    return Duration.ofSeconds(5);
  }

  /** The store under test. */
  protected final SessionStore store() {
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

  // ---- fixtures

  private static String random(int n) {
    return UUID.randomUUID().toString().replace("-", "").substring(0, n);
  }

  private static Environment newEnv() {
    return new Environment("tck", "del-" + random(12));
  }

  private NewSession newSession(
      Environment env, @Nullable String externalId, @Nullable Instant expiresAt) {
    return new NewSession(
        Session.FRIENDLY_ID_PREFIX + random(24),
        externalId,
        env,
        "agent-tck",
        JsonObject.builder().put("user", "ada").build(),
        TriggerConfig.none(),
        t0,
        expiresAt);
  }

  private Session create(Environment env, @Nullable String externalId) {
    return store().createSession(newSession(env, externalId, null)).session();
  }

  private String runOn(String id) {
    String run = "run_" + random(20);
    store().swapRun(id, 0, null, SessionRun.started(run, id, RunReason.INITIAL, null, t0), t0);
    return run;
  }

  private void append(String id, StreamKind kind, int n) {
    var records = new ArrayList<NewRecord>();
    for (int i = 0; i < n; i++) {
      records.add(NewRecord.of("{\"n\":" + i + "}"));
    }
    store().append(id, kind, records, null, t0);
  }

  // ---- delete

  @Test
  @DisplayName("delete (S11): the session, its runs and both streams are gone, the row returned")
  void deleteRemovesEverything() {
    Environment env = newEnv();
    Session s = create(env, "chat-" + random(8));
    String id = s.friendlyId();
    runOn(id);
    append(id, IN, 3);
    append(id, OUT, 5);

    Optional<Session> deleted = store().deleteSession(id, t0.plusSeconds(1));

    assertThat(deleted).map(Session::friendlyId).contains(id);
    assertThat(deleted).map(Session::externalId).contains(s.externalId());
    assertThat(store().findByFriendlyId(env, id)).isEmpty();
    assertThat(store().findByExternalId(env, s.externalId())).isEmpty();
    assertThat(store().runs(id)).as("runs of a deleted session").isEmpty();
    for (StreamKind kind : StreamKind.values()) {
      assertThatThrownBy(() -> store().read(id, kind, 0, 10))
          .isInstanceOf(NoSuchSessionException.class);
      assertThatThrownBy(() -> store().lastSeq(id, kind))
          .isInstanceOf(NoSuchSessionException.class);
      assertThatThrownBy(() -> store().append(id, kind, List.of(NewRecord.of("{}")), null, t0))
          .isInstanceOf(NoSuchSessionException.class);
    }
  }

  @Test
  @DisplayName("delete (S11): an unknown session gives empty and changes nothing")
  void deleteUnknown() {
    Environment env = newEnv();
    Session other = create(env, null);

    assertThat(store().deleteSession(Session.FRIENDLY_ID_PREFIX + random(24), t0)).isEmpty();

    assertThat(store().findByFriendlyId(env, other.friendlyId())).isPresent();
    assertThat(store().pendingSnapshotDeletions(env, 10)).isEmpty();
  }

  @Test
  @DisplayName("delete (S11): deleting twice deletes once; the second call gives empty")
  void deleteTwice() {
    Environment env = newEnv();
    String id = create(env, null).friendlyId();

    assertThat(store().deleteSession(id, t0)).isPresent();
    assertThat(store().deleteSession(id, t0)).isEmpty();
    assertThat(store().pendingSnapshotDeletions(env, 10)).containsExactly(new SnapshotKey(env, id));
  }

  @Test
  @DisplayName("delete (S11): the external id can be created afresh, a new row with new streams")
  void externalIdIsFreeAgain() {
    Environment env = newEnv();
    String externalId = "chat-" + random(8);
    Session first = create(env, externalId);
    append(first.friendlyId(), OUT, 4);
    store().deleteSession(first.friendlyId(), t0);

    CreateOutcome again = store().createSession(newSession(env, externalId, null));

    assertThat(again.created()).as("created, not the deleted row").isTrue();
    assertThat(again.session().friendlyId()).isNotEqualTo(first.friendlyId());
    assertThat(store().findByExternalId(env, externalId))
        .map(Session::friendlyId)
        .contains(again.session().friendlyId());
    assertThat(store().lastSeq(again.session().friendlyId(), OUT)).isZero();
    append(again.session().friendlyId(), OUT, 1);
    assertThat(store().read(again.session().friendlyId(), OUT, 0, 10))
        .extracting(StoredRecord::seq)
        .containsExactly(1L);
  }

  @Test
  @DisplayName("delete (S11): the snapshot is recorded as to delete until it is cleared")
  void snapshotDeletionIsRecorded() {
    Environment env = newEnv();
    Environment otherEnv = newEnv();
    String a = create(env, null).friendlyId();
    String b = create(env, null).friendlyId();
    String c = create(otherEnv, null).friendlyId();
    store().deleteSession(a, t0);
    store().deleteSession(b, t0.plusSeconds(1));
    store().deleteSession(c, t0);

    assertThat(store().pendingSnapshotDeletions(env, 10))
        .as("oldest deletion first, only this environment")
        .containsExactly(new SnapshotKey(env, a), new SnapshotKey(env, b));
    assertThat(store().pendingSnapshotDeletions(env, 1)).containsExactly(new SnapshotKey(env, a));

    store().snapshotDeleted(new SnapshotKey(env, a));
    store().snapshotDeleted(new SnapshotKey(env, a)); // clearing twice changes nothing

    assertThat(store().pendingSnapshotDeletions(env, 10)).containsExactly(new SnapshotKey(env, b));
    assertThat(store().pendingSnapshotDeletions(otherEnv, 10))
        .containsExactly(new SnapshotKey(otherEnv, c));
  }

  @Test
  @DisplayName("delete (S11): watchers of both streams are called and then find the session gone")
  void deleteWakesWatchers() throws Exception {
    Environment env = newEnv();
    String id = create(env, null).friendlyId();
    var woken = new CountDownLatch(2);
    AutoCloseable in = store().watch(id, IN, woken::countDown);
    AutoCloseable out = store().watch(id, OUT, woken::countDown);
    try {
      store().deleteSession(id, t0);

      assertThat(woken.await(watchTimeout().toMillis(), TimeUnit.MILLISECONDS))
          .as("both watchers called within %s", watchTimeout())
          .isTrue();
      assertThatThrownBy(() -> store().read(id, OUT, 0, 1))
          .isInstanceOf(NoSuchSessionException.class);
    } finally {
      in.close();
      out.close();
    }
  }

  @Test
  @DisplayName("delete (S11): appends racing a delete either land before it or fail as unknown")
  void deleteRacingAppends() throws Exception {
    Environment env = newEnv();
    String id = create(env, null).friendlyId();
    String run = runOn(id);
    var failures = new ConcurrentLinkedQueue<Throwable>();
    var unknown = new AtomicInteger();
    var stop = new AtomicBoolean();
    var started = new CountDownLatch(4);
    var threads = new ArrayList<Thread>();
    for (int t = 0; t < 4; t++) {
      boolean fenced = t % 2 == 0;
      Thread thread =
          new Thread(
              () -> {
                started.countDown();
                while (!stop.get()) {
                  try {
                    store()
                        .append(
                            id,
                            fenced ? OUT : IN,
                            List.of(NewRecord.of("{}")),
                            fenced ? run : null,
                            t0);
                  } catch (NoSuchSessionException e) {
                    unknown.incrementAndGet();
                    return;
                  } catch (RuntimeException e) {
                    failures.add(e);
                    return;
                  }
                }
              });
      threads.add(thread);
      thread.start();
    }
    started.await();
    append(id, IN, 1); // at least one append landed before the delete

    assertThat(store().deleteSession(id, t0)).isPresent();
    for (Thread thread : threads) {
      thread.join(TimeUnit.SECONDS.toMillis(30));
    }
    stop.set(true);

    assertThat(failures).as("only 'no such session' after the delete").isEmpty();
    assertThat(unknown.get()).as("every appender learned the session is gone").isEqualTo(4);
    assertThat(store().findByFriendlyId(env, id)).isEmpty();
  }

  // ---- what retention sweeps look for

  @Test
  @DisplayName("retention (S11): expired sessions are the open ones past expiry, earliest first")
  void expiredSessions() {
    Environment env = newEnv();
    Environment otherEnv = newEnv();
    String late =
        store().createSession(newSession(env, null, t0.plusSeconds(20))).session().friendlyId();
    String early =
        store().createSession(newSession(env, null, t0.plusSeconds(10))).session().friendlyId();
    String future =
        store().createSession(newSession(env, null, t0.plusSeconds(500))).session().friendlyId();
    String closed =
        store().createSession(newSession(env, null, t0.plusSeconds(5))).session().friendlyId();
    store().closeSession(closed, "done", t0.plusSeconds(1));
    create(env, null); // never expires
    store().createSession(newSession(otherEnv, null, t0.plusSeconds(10)));
    Instant now = t0.plusSeconds(100);

    assertThat(store().expiredSessions(env, now, 10))
        .extracting(Session::friendlyId)
        .containsExactly(early, late)
        .doesNotContain(future, closed);
    assertThat(store().expiredSessions(env, now, 1))
        .extracting(Session::friendlyId)
        .containsExactly(early);
    assertThat(store().expiredSessions(env, t0.plusSeconds(10), 10))
        .as("expired at exactly its expiry time (S4)")
        .extracting(Session::friendlyId)
        .containsExactly(early);
    assertThatThrownBy(() -> store().expiredSessions(env, now, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  @DisplayName(
      "retention (S11): closed sessions are those closed before the cutoff, earliest first")
  void closedSessions() {
    Environment env = newEnv();
    String second = create(env, null).friendlyId();
    String first = create(env, null).friendlyId();
    String recent = create(env, null).friendlyId();
    create(env, null); // open
    store().closeSession(second, "b", t0.plusSeconds(20));
    store().closeSession(first, "a", t0.plusSeconds(10));
    store().closeSession(recent, "c", t0.plusSeconds(90));

    assertThat(store().closedSessions(env, t0.plusSeconds(60), 10))
        .extracting(Session::friendlyId)
        .containsExactly(first, second);
    assertThat(store().closedSessions(env, t0.plusSeconds(60), 1))
        .extracting(Session::friendlyId)
        .containsExactly(first);
    assertThat(store().closedSessions(env, t0.plusSeconds(10), 10))
        .as("strictly before the cutoff")
        .isEmpty();
    assertThat(store().closedSessions(newEnv(), t0.plusSeconds(600), 10)).isEmpty();
  }
}
