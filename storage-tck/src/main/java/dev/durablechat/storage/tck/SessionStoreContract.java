package dev.durablechat.storage.tck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.durablechat.api.Environment;
import dev.durablechat.api.FencedException;
import dev.durablechat.api.InvalidInputException;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.NoSuchRunException;
import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.RunConflictException;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.Session;
import dev.durablechat.api.SessionClosedException;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.SessionStatus;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.TriggerConfig;
import dev.durablechat.api.UnsupportedCapabilityException;
import dev.durablechat.api.spi.AppendResult;
import dev.durablechat.api.spi.CreateOutcome;
import dev.durablechat.api.spi.NewRecord;
import dev.durablechat.api.spi.NewSession;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoreCapability;
import dev.durablechat.api.spi.StoreConfig;
import dev.durablechat.api.spi.StoreLoader;
import dev.durablechat.api.spi.StoredRecord;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The contract every {@link SessionStore} keeps: the SPI javadoc and invariants 1–7 (docs/), with
 * real concurrency. A backend's test extends this class and says how to open the store:
 *
 * <pre>{@code
 * class MemorySessionStoreTest extends SessionStoreContract {
 *   protected SessionStore openStore() { return new MemorySessionStore(); }
 *   protected StoreConfig serviceLoaderConfig() { return StoreConfig.of("memory:tck"); }
 * }
 * }</pre>
 *
 * <p>One store serves the whole class ({@link #openStore()} once, {@link #closeStore} at the end);
 * every test works on fresh random ids in an environment of its own test class, so nothing needs
 * wiping and a shared database works. Times are explicit {@link Instant}s the kit passes to the
 * store, whole seconds so that any timestamp column keeps them exactly.
 *
 * <p>Optional behaviour follows {@link SessionStore#capabilities()}: for {@link
 * StoreCapability#TRIM} exactly one of the two trim tests applies (the other is skipped by an
 * assumption), the one that checks trimming or the one that checks the refusal.
 *
 * <p>Every contract test is a method of this class itself (grouped by comments, named by its group
 * in its display name), not of a nested class: a nested class would be reported under the kit's
 * name, so the reports of two backends would overwrite each other. This way each backend's test
 * class reports all of its contract tests under its own name, in the console and in surefire's XML.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class SessionStoreContract {
  private static final StreamKind OUT = StreamKind.OUT;
  private static final StreamKind IN = StreamKind.IN;

  private @Nullable SessionStore store;

  /** A time every test starts from: whole seconds, so timestamp columns keep it exactly. */
  protected final Instant t0 = Instant.now().truncatedTo(ChronoUnit.SECONDS);

  /** This class's environment: a fresh one per test class, so other runs' rows never show. */
  protected final Environment env = new Environment("tck", "env-" + random(12));

  /** Another environment, for the isolation tests. */
  protected final Environment otherEnv = new Environment("tck", "other-" + random(12));

  /** Creates the contract; a subclass only opens the store. */
  protected SessionStoreContract() {}

  /** Opens the store under test; called once, before the first test of the class. */
  protected abstract SessionStore openStore();

  /**
   * A location whose scheme names this backend's provider, with whatever options it needs to open
   * (e.g. {@code memory:tck}); the kit opens it through {@link StoreLoader} and closes it.
   */
  protected abstract StoreConfig serviceLoaderConfig();

  /** Closes the store after the last test; by default {@link SessionStore#close()}. */
  protected void closeStore(SessionStore store) {
    store.close();
  }

  /** How many threads append at once in the concurrency tests. */
  protected int concurrentAppenders() {
    return 8;
  }

  /** How many appends each of those threads makes. */
  protected int appendsPerAppender() {
    return 250;
  }

  /** How many threads race in the create, swap, close and dedupe races. */
  protected int racers() {
    return 8;
  }

  /** How many threads race to create one external id. */
  protected int racingCreators() {
    return 16;
  }

  /** How long a watcher may take to be called after an append. */
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

  // ---------------------------------------------------------------------------------------------
  // Fixtures

  static String random(int length) {
    String s = UUID.randomUUID().toString().replace("-", "") + UUID.randomUUID().toString();
    return s.replace("-", "").substring(0, length);
  }

  static String newFriendlyId() {
    return Session.FRIENDLY_ID_PREFIX + random(24);
  }

  static String newRunId() {
    return "run_" + random(20);
  }

  NewSession newSession(@Nullable String externalId, Environment environment) {
    return newSession(newFriendlyId(), externalId, environment, null);
  }

  NewSession newSession(
      String friendlyId,
      @Nullable String externalId,
      Environment environment,
      @Nullable Instant expiresAt) {
    JsonObject clientData =
        JsonObject.builder()
            .put("user", "ada")
            .put("plan", 3)
            .put("flags", JsonArray.of(List.<JsonValue>of(JsonValue.of(true), JsonValue.of("β"))))
            .build();
    var trigger =
        new TriggerConfig(
            "small-1x",
            3,
            List.of("tck", "chat"),
            "chats",
            Duration.ofSeconds(90),
            JsonObject.builder().put("model", "test").build());
    return new NewSession(
        friendlyId, externalId, environment, "agent-tck", clientData, trigger, t0, expiresAt);
  }

  /** A new open session without a run. */
  String session() {
    return store().createSession(newSession("chat-" + random(16), env)).session().friendlyId();
  }

  /** A new session whose first run is current; returns the session id and the run id. */
  String[] sessionWithRun() {
    String id = session();
    String run = newRunId();
    store().swapRun(id, 0, null, SessionRun.started(run, id, RunReason.INITIAL, null, t0), t0);
    return new String[] {id, run};
  }

  Session row(String id) {
    return store().findByFriendlyId(env, id).orElseThrow();
  }

  AppendResult append(String id, StreamKind kind, String... payloads) {
    var records = new ArrayList<NewRecord>();
    for (String p : payloads) {
      records.add(NewRecord.of(p));
    }
    return store().append(id, kind, records, null, t0);
  }

  AppendResult appendPart(String id, StreamKind kind, String payload, String partId) {
    return store().append(id, kind, List.of(new NewRecord(payload, partId)), null, t0);
  }

  /** Every retained record, read in pages of {@code page}. */
  List<StoredRecord> readAll(String id, StreamKind kind, int page) {
    var all = new ArrayList<StoredRecord>();
    long after = 0;
    while (true) {
      List<StoredRecord> got = store().read(id, kind, after, page);
      assertThat(got.size()).as("a page never exceeds its limit").isLessThanOrEqualTo(page);
      if (got.isEmpty()) {
        return all;
      }
      all.addAll(got);
      after = got.get(got.size() - 1).seq();
    }
  }

  List<StoredRecord> readAll(String id, StreamKind kind) {
    return readAll(id, kind, 1000);
  }

  static List<Long> seqs(List<StoredRecord> records) {
    return records.stream().map(StoredRecord::seq).collect(Collectors.toList());
  }

  static List<String> payloads(List<StoredRecord> records) {
    return records.stream().map(StoredRecord::payload).collect(Collectors.toList());
  }

  static List<Long> range(long from, long to) {
    return LongStream.rangeClosed(from, to).boxed().collect(Collectors.toList());
  }

  /** Asserts that the stream is exactly as it was: same last number, same records. */
  void assertUnchanged(String id, StreamKind kind, long lastSeq, List<StoredRecord> records) {
    assertThat(store().lastSeq(id, kind)).as("last seq after a refusal").isEqualTo(lastSeq);
    assertThat(readAll(id, kind)).as("records after a refusal").isEqualTo(records);
  }

  // ---------------------------------------------------------------------------------------------

  // ---- createSession is a create-or-get on (environment, externalId) (S1, invariant 1)

  @Test
  @DisplayName("createSession: a new session is stored as given: version 0, no run, open")
  void storesTheNewRow() {
    NewSession fresh = newSession(newFriendlyId(), "chat-" + random(16), env, t0.plusSeconds(60));
    CreateOutcome outcome = store().createSession(fresh);

    assertThat(outcome.created()).isTrue();
    assertThat(outcome.session()).isEqualTo(fresh.toSession());
    assertThat(row(fresh.friendlyId())).isEqualTo(fresh.toSession());
    assertThat(outcome.session().status(t0)).isEqualTo(SessionStatus.ACTIVE);
    assertThat(store().runs(fresh.friendlyId())).isEmpty();
  }

  @Test
  @DisplayName(
      "createSession: a second create with the same external id returns the first row, not created")
  void secondCreateGetsTheFirstRow() {
    String external = "chat-" + random(16);
    Session first = store().createSession(newSession(external, env)).session();

    CreateOutcome second = store().createSession(newSession(external, env));

    assertThat(second.created()).isFalse();
    assertThat(second.session()).isEqualTo(first);
  }

  @Test
  @DisplayName(
      "createSession: of racing creators on one external id, exactly one creates and all get its row")
  void racingCreatorsGetOneRow() {
    String external = "chat-" + random(16);
    List<NewSession> attempts = new ArrayList<>();
    for (int i = 0; i < racingCreators(); i++) {
      attempts.add(newSession(external, env));
    }

    List<CreateOutcome> outcomes =
        Race.values(
            Race.run("create", racingCreators(), i -> store().createSession(attempts.get(i))));

    assertThat(outcomes).filteredOn(CreateOutcome::created).hasSize(1);
    String winner =
        outcomes.stream()
            .filter(CreateOutcome::created)
            .findFirst()
            .orElseThrow()
            .session()
            .friendlyId();
    assertThat(outcomes).allSatisfy(o -> assertThat(o.session().friendlyId()).isEqualTo(winner));
    assertThat(store().findByExternalId(env, external).orElseThrow().friendlyId())
        .isEqualTo(winner);
    for (NewSession attempt : attempts) {
      if (!attempt.friendlyId().equals(winner)) {
        assertThat(store().findByFriendlyId(env, attempt.friendlyId()))
            .as("a losing creator's friendly id was not stored")
            .isEmpty();
      }
    }
  }

  @Test
  @DisplayName("createSession: a session without an external id is always a new row")
  void withoutExternalIdAlwaysCreates() {
    CreateOutcome a = store().createSession(newSession(null, env));
    CreateOutcome b = store().createSession(newSession(null, env));

    assertThat(a.created()).isTrue();
    assertThat(b.created()).isTrue();
    assertThat(a.session().friendlyId()).isNotEqualTo(b.session().friendlyId());
    assertThat(row(a.session().friendlyId()).externalId()).isNull();
    assertThat(row(b.session().friendlyId())).isEqualTo(b.session());
  }

  @Test
  @DisplayName("createSession: the same external id in another environment is another session")
  void environmentsAreIsolated() {
    String external = "chat-" + random(16);
    CreateOutcome here = store().createSession(newSession(external, env));
    CreateOutcome there = store().createSession(newSession(external, otherEnv));

    assertThat(there.created()).isTrue();
    assertThat(there.session().friendlyId()).isNotEqualTo(here.session().friendlyId());
    assertThat(store().findByExternalId(otherEnv, external).orElseThrow())
        .isEqualTo(there.session());
    assertThat(store().findByExternalId(env, external).orElseThrow()).isEqualTo(here.session());
  }

  @Test
  @DisplayName(
      "createSession: create returns the existing row even when it is closed (S5 is the engine's call)")
  void returnsTheClosedRow() {
    String external = "chat-" + random(16);
    String id = store().createSession(newSession(external, env)).session().friendlyId();
    Session closed = store().closeSession(id, "done", t0.plusSeconds(1));

    CreateOutcome again = store().createSession(newSession(external, env));

    assertThat(again.created()).isFalse();
    assertThat(again.session()).isEqualTo(closed);
    assertThat(again.session().status(t0.plusSeconds(2))).isEqualTo(SessionStatus.CLOSED);
  }

  // ---- sessions are found by friendly id and by external id, in their environment (S3)

  @Test
  @DisplayName("find: both ids find the same row")
  void findsByEitherId() {
    String external = "chat-" + random(16);
    Session created = store().createSession(newSession(external, env)).session();

    assertThat(store().findByFriendlyId(env, created.friendlyId())).contains(created);
    assertThat(store().findByExternalId(env, external)).contains(created);
  }

  @Test
  @DisplayName("find: unknown ids find nothing")
  void unknownIsEmpty() {
    assertThat(store().findByFriendlyId(env, newFriendlyId())).isEmpty();
    assertThat(store().findByExternalId(env, "chat-" + random(16))).isEmpty();
  }

  @Test
  @DisplayName("find: a session of another environment is not found by either id")
  void otherEnvironmentIsEmpty() {
    String external = "chat-" + random(16);
    Session created = store().createSession(newSession(external, env)).session();

    assertThat(store().findByFriendlyId(otherEnv, created.friendlyId())).isEmpty();
    assertThat(store().findByExternalId(otherEnv, external)).isEmpty();
  }

  // ---- closeSession writes closedAt and closedReason once (S4)

  @Test
  @DisplayName("closeSession: the first close's time and reason are kept by later closes")
  void firstCloseWins() {
    String id = session();
    Session first = store().closeSession(id, "user-ended", t0.plusSeconds(5));

    assertThat(first.closedAt()).isEqualTo(t0.plusSeconds(5));
    assertThat(first.closedReason()).isEqualTo("user-ended");
    assertThat(first.status(t0.plusSeconds(5))).isEqualTo(SessionStatus.CLOSED);

    Session second = store().closeSession(id, "timeout", t0.plusSeconds(9));

    assertThat(second.closedAt()).isEqualTo(t0.plusSeconds(5));
    assertThat(second.closedReason()).isEqualTo("user-ended");
    assertThat(row(id)).isEqualTo(second);
  }

  @Test
  @DisplayName("closeSession: a close without a reason is still the first close")
  void closeWithoutReason() {
    String id = session();
    store().closeSession(id, null, t0.plusSeconds(1));

    Session later = store().closeSession(id, "late", t0.plusSeconds(2));

    assertThat(later.closedAt()).isEqualTo(t0.plusSeconds(1));
    assertThat(later.closedReason()).isNull();
  }

  @Test
  @DisplayName(
      "closeSession: of racing closes exactly one reason and time are kept, and every caller sees them")
  void racingClosesKeepOne() {
    String id = session();

    List<Session> rows =
        Race.values(
            Race.run(
                "close",
                racers(),
                i -> store().closeSession(id, "reason-" + i, t0.plusSeconds(10 + i))));

    Session stored = row(id);
    assertThat(stored.closedReason()).startsWith("reason-");
    int winner = Integer.parseInt(stored.closedReason().substring("reason-".length()));
    assertThat(stored.closedAt()).isEqualTo(t0.plusSeconds(10 + winner));
    assertThat(rows)
        .allSatisfy(
            r -> {
              assertThat(r.closedReason()).isEqualTo(stored.closedReason());
              assertThat(r.closedAt()).isEqualTo(stored.closedAt());
            });
  }

  @Test
  @DisplayName("closeSession: closing an unknown session is refused")
  void closeUnknownSession() {
    assertThatThrownBy(() -> store().closeSession(newFriendlyId(), "x", t0))
        .isInstanceOf(NoSuchSessionException.class);
  }

  // ---- swapRun is a compare-and-set on (version, current run) (S6, invariant 5)

  @Test
  @DisplayName("swapRun: the first claim makes the run current at version 1 and writes one run row")
  void firstClaim() {
    String id = session();
    String run = newRunId();
    SessionRun started = SessionRun.started(run, id, RunReason.INITIAL, null, t0.plusSeconds(1));

    Session after = store().swapRun(id, 0, null, started, t0.plusSeconds(1));

    assertThat(after.currentRunId()).isEqualTo(run);
    assertThat(after.version()).isEqualTo(1);
    assertThat(after.updatedAt()).isEqualTo(t0.plusSeconds(1));
    assertThat(row(id)).isEqualTo(after);
    assertThat(store().runs(id)).containsExactly(started);
  }

  @Test
  @DisplayName("swapRun: a swap ends the replaced running run as superseded and adds one row")
  void swapSupersedesTheRunningRun() {
    String[] s = sessionWithRun();
    String next = newRunId();
    SessionRun continuation =
        SessionRun.started(next, s[0], RunReason.CONTINUATION, s[1], t0.plusSeconds(3));

    Session after = store().swapRun(s[0], 1, s[1], continuation, t0.plusSeconds(3));

    assertThat(after.version()).isEqualTo(2);
    assertThat(after.currentRunId()).isEqualTo(next);
    List<SessionRun> runs = store().runs(s[0]);
    assertThat(runs).hasSize(2);
    assertThat(runs.get(0).runId()).isEqualTo(s[1]);
    assertThat(runs.get(0).endedAt()).isEqualTo(t0.plusSeconds(3));
    assertThat(runs.get(0).endReason()).isEqualTo("superseded");
    assertThat(runs.get(1)).isEqualTo(continuation);
  }

  @Test
  @DisplayName("swapRun: a swap keeps the end of a replaced run that had already ended")
  void swapKeepsAnEarlierEnd() {
    String[] s = sessionWithRun();
    store().endRun(s[0], s[1], t0.plusSeconds(2), "idle");

    store()
        .swapRun(
            s[0],
            1,
            s[1],
            SessionRun.started(newRunId(), s[0], RunReason.CONTINUATION, s[1], t0.plusSeconds(4)),
            t0.plusSeconds(4));

    SessionRun replaced = store().runs(s[0]).get(0);
    assertThat(replaced.endedAt()).isEqualTo(t0.plusSeconds(2));
    assertThat(replaced.endReason()).isEqualTo("idle");
  }

  @Test
  @DisplayName(
      "swapRun: a wrong version is a conflict that names what the session holds, and changes nothing")
  void wrongVersion() {
    String[] s = sessionWithRun();
    Session before = row(s[0]);

    RunConflictException e =
        catchThrowableOfType(
            RunConflictException.class,
            () ->
                store()
                    .swapRun(
                        s[0],
                        0,
                        s[1],
                        SessionRun.started(
                            newRunId(), s[0], RunReason.UPGRADE, s[1], t0.plusSeconds(1)),
                        t0.plusSeconds(1)));

    assertThat(e).isNotNull().isNotInstanceOf(FencedException.class);
    assertThat(e.sessionId()).isEqualTo(s[0]);
    assertThat(e.currentRunId()).isEqualTo(s[1]);
    assertThat(e.currentVersion()).isEqualTo(1);
    assertThat(row(s[0])).isEqualTo(before);
    assertThat(store().runs(s[0])).hasSize(1);
  }

  @Test
  @DisplayName("swapRun: a wrong current run is a conflict that changes nothing")
  void wrongRun() {
    String[] s = sessionWithRun();
    Session before = row(s[0]);
    String other = newRunId();

    RunConflictException e =
        catchThrowableOfType(
            RunConflictException.class,
            () ->
                store()
                    .swapRun(
                        s[0],
                        1,
                        other,
                        SessionRun.started(
                            newRunId(), s[0], RunReason.UPGRADE, other, t0.plusSeconds(1)),
                        t0.plusSeconds(1)));

    assertThat(e).isNotNull();
    assertThat(e.currentRunId()).isEqualTo(s[1]);
    assertThat(e.currentVersion()).isEqualTo(1);
    assertThat(row(s[0])).isEqualTo(before);
    assertThat(store().runs(s[0])).hasSize(1).allSatisfy(r -> assertThat(r.isRunning()).isTrue());
  }

  @Test
  @DisplayName("swapRun: claiming a session that has a run, as if it had none, is a conflict")
  void expectingNoRunWhenThereIsOne() {
    String[] s = sessionWithRun();

    RunConflictException e =
        catchThrowableOfType(
            RunConflictException.class,
            () ->
                store()
                    .swapRun(
                        s[0],
                        1,
                        null,
                        SessionRun.started(newRunId(), s[0], RunReason.INITIAL, null, t0),
                        t0));

    assertThat(e).isNotNull();
    assertThat(e.currentRunId()).isEqualTo(s[1]);
    assertThat(store().runs(s[0])).hasSize(1);
  }

  @Test
  @DisplayName("swapRun: of racing first claims exactly one wins, at version 1")
  void racingFirstClaims() {
    String id = session();
    List<String> runIds = new ArrayList<>();
    for (int i = 0; i < racers(); i++) {
      runIds.add(newRunId());
    }

    var outcomes =
        Race.run(
            "claim",
            racers(),
            i ->
                store()
                    .swapRun(
                        id,
                        0,
                        null,
                        SessionRun.started(runIds.get(i), id, RunReason.INITIAL, null, t0),
                        t0));

    assertOneWinner(id, outcomes, runIds, 1);
  }

  @Test
  @DisplayName(
      "swapRun: of racing swaps from the same expectation exactly one wins; the losers conflict")
  void racingSwaps() {
    String[] s = sessionWithRun();
    List<String> runIds = new ArrayList<>();
    for (int i = 0; i < racers(); i++) {
      runIds.add(newRunId());
    }

    var outcomes =
        Race.run(
            "swap",
            racers(),
            i ->
                store()
                    .swapRun(
                        s[0],
                        1,
                        s[1],
                        SessionRun.started(
                            runIds.get(i), s[0], RunReason.UPGRADE, s[1], t0.plusSeconds(1)),
                        t0.plusSeconds(1)));

    assertOneWinner(s[0], outcomes, runIds, 2);
    List<SessionRun> runs = store().runs(s[0]);
    assertThat(runs.get(0).endReason()).isEqualTo("superseded");
  }

  private void assertOneWinner(
      String id, List<Race.Outcome<Session>> outcomes, List<String> runIds, long version) {
    var winners = outcomes.stream().filter(Race.Outcome::ok).collect(Collectors.toList());
    assertThat(winners).as("winners").hasSize(1);
    Session won = winners.get(0).value();
    assertThat(won.version()).isEqualTo(version);
    assertThat(runIds).contains(won.currentRunId());
    for (var o : outcomes) {
      if (!o.ok()) {
        assertThat(o.error())
            .as("a loser gets a conflict")
            .isInstanceOf(RunConflictException.class);
        RunConflictException e = (RunConflictException) o.error();
        assertThat(e.currentVersion()).isEqualTo(version);
        assertThat(e.currentRunId()).isEqualTo(won.currentRunId());
      }
    }
    assertThat(row(id)).isEqualTo(won);
    List<SessionRun> runs = store().runs(id);
    assertThat(runs).hasSize((int) version);
    assertThat(runs.get(runs.size() - 1).runId()).isEqualTo(won.currentRunId());
  }

  @Test
  @DisplayName("swapRun: a closed session refuses the swap and nothing changes (S5)")
  void swapOnClosedSession() {
    String[] s = sessionWithRun();
    store().closeSession(s[0], "done", t0.plusSeconds(1));
    Session before = row(s[0]);

    assertThatThrownBy(
            () ->
                store()
                    .swapRun(
                        s[0],
                        1,
                        s[1],
                        SessionRun.started(
                            newRunId(), s[0], RunReason.CONTINUATION, s[1], t0.plusSeconds(2)),
                        t0.plusSeconds(2)))
        .isInstanceOf(SessionClosedException.class);
    assertThat(row(s[0])).isEqualTo(before);
    assertThat(store().runs(s[0])).hasSize(1);
  }

  @Test
  @DisplayName(
      "swapRun: an expired session (expiresAt <= now) refuses the swap; before it, it is fine")
  void swapOnExpiredSession() {
    Instant expiresAt = t0.plusSeconds(60);
    String id =
        store()
            .createSession(newSession(newFriendlyId(), "chat-" + random(16), env, expiresAt))
            .session()
            .friendlyId();
    Session before = row(id);

    assertThatThrownBy(
            () ->
                store()
                    .swapRun(
                        id,
                        0,
                        null,
                        SessionRun.started(newRunId(), id, RunReason.INITIAL, null, expiresAt),
                        expiresAt))
        .isInstanceOf(SessionClosedException.class);
    assertThat(row(id)).isEqualTo(before);
    assertThat(store().runs(id)).isEmpty();

    Instant justBefore = expiresAt.minusSeconds(1);
    Session claimed =
        store()
            .swapRun(
                id,
                0,
                null,
                SessionRun.started(newRunId(), id, RunReason.INITIAL, null, justBefore),
                justBefore);
    assertThat(claimed.version()).isEqualTo(1);
  }

  @Test
  @DisplayName("swapRun: an unknown session is refused")
  void swapOnUnknownSession() {
    String id = newFriendlyId();
    assertThatThrownBy(
            () ->
                store()
                    .swapRun(
                        id,
                        0,
                        null,
                        SessionRun.started(newRunId(), id, RunReason.INITIAL, null, t0),
                        t0))
        .isInstanceOf(NoSuchSessionException.class);
    assertThat(store().runs(id)).isEmpty();
  }

  // ---- endRun ends a run once and leaves the session's current run alone

  @Test
  @DisplayName(
      "endRun: the first end's time and reason are kept; version and current run do not change")
  void firstEndWins() {
    String[] s = sessionWithRun();
    Session before = row(s[0]);

    SessionRun ended = store().endRun(s[0], s[1], t0.plusSeconds(7), "idle");
    SessionRun again = store().endRun(s[0], s[1], t0.plusSeconds(9), "crashed");

    assertThat(ended.endedAt()).isEqualTo(t0.plusSeconds(7));
    assertThat(ended.endReason()).isEqualTo("idle");
    assertThat(again).isEqualTo(ended);
    assertThat(store().runs(s[0])).containsExactly(ended);
    assertThat(row(s[0])).isEqualTo(before);
  }

  @Test
  @DisplayName("endRun: an unknown run is refused and nothing changes")
  void unknownRun() {
    String[] s = sessionWithRun();

    assertThatThrownBy(() -> store().endRun(s[0], newRunId(), t0, "idle"))
        .isInstanceOf(NoSuchRunException.class);
    assertThat(store().runs(s[0])).hasSize(1).allSatisfy(r -> assertThat(r.isRunning()).isTrue());
  }

  @Test
  @DisplayName("endRun: an unknown session has no runs")
  void unknownSessionHasNoRuns() {
    assertThat(store().runs(newFriendlyId())).isEmpty();
  }

  // ---- appends are numbered 1, 2, 3... with no gap and reads resume exactly (invariants 2-4)

  @Test
  @DisplayName("append and read: a new stream is empty at 0")
  void emptyStream() {
    String id = session();

    assertThat(store().lastSeq(id, OUT)).isZero();
    assertThat(store().lastSeq(id, IN)).isZero();
    assertThat(store().read(id, OUT, 0, 10)).isEmpty();
  }

  @Test
  @DisplayName(
      "append and read: single and batched appends are numbered from 1 with no gap, all in one batch")
  void numbersFromOne() {
    String id = session();

    assertThat(append(id, OUT, "{\"a\":1}")).isEqualTo(new AppendResult(1, 1, false));
    assertThat(append(id, OUT, "{\"b\":2}", "{\"c\":3}", "{\"d\":4}"))
        .isEqualTo(new AppendResult(2, 4, false));
    assertThat(append(id, OUT, "{\"e\":5}")).isEqualTo(new AppendResult(5, 5, false));

    List<StoredRecord> all = readAll(id, OUT);
    assertThat(seqs(all)).isEqualTo(range(1, 5));
    assertThat(payloads(all))
        .containsExactly("{\"a\":1}", "{\"b\":2}", "{\"c\":3}", "{\"d\":4}", "{\"e\":5}");
    assertThat(all).allSatisfy(r -> assertThat(r.createdAt()).isEqualTo(t0));
    assertThat(store().lastSeq(id, OUT)).isEqualTo(5);
  }

  @Test
  @DisplayName("append and read: in and out are numbered independently (W1)")
  void streamsAreIndependent() {
    String id = session();
    append(id, OUT, "o1", "o2", "o3");

    assertThat(append(id, IN, "i1")).isEqualTo(new AppendResult(1, 1, false));
    assertThat(payloads(readAll(id, IN))).containsExactly("i1");
    assertThat(payloads(readAll(id, OUT))).containsExactly("o1", "o2", "o3");
    assertThat(store().lastSeq(id, IN)).isEqualTo(1);
    assertThat(store().lastSeq(id, OUT)).isEqualTo(3);
  }

  @Test
  @DisplayName("append and read: reading after N returns exactly N+1.. for every N and limit (W7)")
  void readAfterN() {
    String id = session();
    int n = 40;
    List<String> batch = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      if (i % 5 == 0) {
        batch.add("r" + i);
        append(id, OUT, batch.toArray(new String[0]));
        batch.clear();
      } else if (i % 3 == 0) {
        batch.add("r" + i);
      } else {
        append(id, OUT, "r" + i);
        continue;
      }
    }
    assertThat(batch).isEmpty();
    assertThat(store().lastSeq(id, OUT)).isEqualTo(n);

    for (int after = 0; after <= n; after++) {
      for (int limit : new int[] {1, 7, 100}) {
        List<StoredRecord> got = store().read(id, OUT, after, limit);
        long expected = Math.min(limit, n - after);
        assertThat(seqs(got))
            .as("read after %d limit %d", after, limit)
            .isEqualTo(range(after + 1, after + expected));
      }
    }
    assertThat(store().read(id, OUT, n + 5, 10)).isEmpty();
    for (int page : new int[] {1, 3, 7, 40, 41}) {
      List<StoredRecord> all = readAll(id, OUT, page);
      assertThat(seqs(all)).as("paging by %d", page).isEqualTo(range(1, n));
      assertThat(all.get(n - 1).payload()).isEqualTo("r" + n);
    }
  }

  @Test
  @DisplayName(
      "append and read: payloads come back byte for byte: unicode, escapes and a large payload")
  void payloadsAreExact() {
    String id = session();
    String unicode =
        "{\"text\":\"héllo wörld — 你好 🌍👩‍👩‍👧 e\u0301 \\\"quoted\\\" \\\\ \\n \\u0001\","
            + " \"n\":1.50e+3}";
    var large = new StringBuilder("{\"text\":\"");
    while (large.length() < 200_000) {
      large.append("lorem ipsum 🙂 dolor sit amet ");
    }
    large.append("\"}");
    String spaced = "  {\"a\" :  [1, 2 ,3]}  ";

    append(id, OUT, unicode);
    append(id, OUT, large.toString(), spaced);
    appendPart(id, OUT, "{}", "part-é🙂");

    List<StoredRecord> all = readAll(id, OUT);
    assertThat(payloads(all)).containsExactly(unicode, large.toString(), spaced, "{}");
    assertThat(all.get(0).partId()).isNull();
    assertThat(all.get(3).partId()).isEqualTo("part-é🙂");
  }

  @Test
  @DisplayName(
      "append and read: concurrent appenders, single and batched, get gapless numbers and lose nothing, and a"
          + " reader following them sees no gap (invariants 2, 4)")
  void concurrentAppendersStayGapless() {
    String id = session();
    int threads = concurrentAppenders();
    int each = appendsPerAppender();
    long total = (long) threads * each;

    List<List<AppendResult>> results =
        Race.values(
            Race.run(
                "append",
                threads + 1,
                t -> {
                  if (t == threads) {
                    followWhileAppending(id, total);
                    return List.<AppendResult>of();
                  }
                  var mine = new ArrayList<AppendResult>();
                  int i = 0;
                  while (i < each) {
                    // Interleave single appends and batches of 2 and 3.
                    int size = Math.min(each - i, 1 + (i + t) % 3);
                    var records = new ArrayList<NewRecord>();
                    for (int k = 0; k < size; k++) {
                      records.add(NewRecord.of("{\"t\":" + t + ",\"i\":" + (i + k) + "}"));
                    }
                    mine.add(store().append(id, OUT, records, null, t0));
                    i += size;
                  }
                  return mine;
                }));
    results = results.subList(0, threads);

    assertThat(store().lastSeq(id, OUT)).isEqualTo(total);
    List<StoredRecord> all = readAll(id, OUT, 997);
    assertThat(seqs(all)).as("gapless, no repeat").isEqualTo(range(1, total));

    var claimed = new HashSet<Long>();
    for (List<AppendResult> mine : results) {
      for (AppendResult r : mine) {
        for (long seq = r.firstSeq(); seq <= r.lastSeq(); seq++) {
          assertThat(claimed.add(seq)).as("seq %d handed out twice", seq).isTrue();
        }
      }
    }
    assertThat(claimed).hasSize((int) total);

    Map<Integer, List<Integer>> byThread = new HashMap<>();
    for (StoredRecord r : all) {
      // Payloads come back byte for byte, so the kit's own format parses without a JSON parser.
      String p = r.payload();
      int comma = p.indexOf(',');
      int t = Integer.parseInt(p.substring("{\"t\":".length(), comma));
      int i = Integer.parseInt(p.substring(comma + ",\"i\":".length(), p.length() - 1));
      byThread.computeIfAbsent(t, k -> new ArrayList<>()).add(i);
    }
    assertThat(byThread).hasSize(threads);
    List<Integer> expected =
        java.util.stream.IntStream.range(0, each).boxed().collect(Collectors.toList());
    byThread.forEach(
        (t, is) -> assertThat(is).as("thread %d's records, in its order", t).isEqualTo(expected));
  }

  /**
   * Reads the stream while it is appended to, as a resuming client would, and checks that no page
   * ever skips a number: a reader that saw N and then N+2 would lose N+1 for good, e.g. when a
   * later append commits before an earlier one (invariant 4 under concurrency).
   */
  private void followWhileAppending(String id, long total) throws Exception {
    long after = 0;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    // Woken by the store after appends (registered before the first read, so none is missed):
    // the reader waits for the next append, not for a fixed time.
    var appended = new Semaphore(0);
    AutoCloseable watch = store().watch(id, OUT, appended::release);
    try {
      while (after < total) {
        List<StoredRecord> page = store().read(id, OUT, after, 64);
        for (StoredRecord r : page) {
          if (r.seq() != after + 1) {
            throw new AssertionError(
                "a concurrent reader after [" + after + "] got [" + r.seq() + "]: a gap");
          }
          after = r.seq();
        }
        if (page.isEmpty()
            && !appended.tryAcquire(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)) {
          throw new AssertionError("a concurrent reader stalled after [" + after + "]");
        }
      }
    } finally {
      watch.close();
    }
  }

  @Test
  @DisplayName("append and read: concurrent appends to in and out of one session each stay gapless")
  void concurrentStreams() {
    String id = session();
    int each = appendsPerAppender();

    Race.values(
        Race.run(
            "streams",
            4,
            t -> {
              for (int i = 0; i < each; i++) {
                append(id, t % 2 == 0 ? IN : OUT, "{\"t\":" + t + "}");
              }
              return null;
            }));

    assertThat(seqs(readAll(id, IN))).isEqualTo(range(1, 2L * each));
    assertThat(seqs(readAll(id, OUT))).isEqualTo(range(1, 2L * each));
  }

  @Test
  @DisplayName("append and read: a fenced append by the current run lands")
  void currentRunAppends() {
    String[] s = sessionWithRun();

    AppendResult r = store().append(s[0], OUT, List.of(NewRecord.of("{}")), s[1], t0);

    assertThat(r).isEqualTo(new AppendResult(1, 1, false));
  }

  @Test
  @DisplayName("append and read: reading a closed session is allowed")
  void readClosed() {
    String id = session();
    append(id, OUT, "a", "b");
    store().closeSession(id, "done", t0);

    assertThat(payloads(readAll(id, OUT))).containsExactly("a", "b");
    assertThat(store().lastSeq(id, OUT)).isEqualTo(2);
  }

  // ---- refused appends and reads change nothing (invariants 3, 6, 7)

  @Test
  @DisplayName("refused: an unknown session is refused by append, read and lastSeq")
  void appendToUnknownSession() {
    String id = newFriendlyId();

    assertThatThrownBy(() -> append(id, OUT, "{}")).isInstanceOf(NoSuchSessionException.class);
    assertThatThrownBy(() -> store().read(id, OUT, 0, 10))
        .isInstanceOf(NoSuchSessionException.class);
    assertThatThrownBy(() -> store().lastSeq(id, IN)).isInstanceOf(NoSuchSessionException.class);
  }

  @Test
  @DisplayName("refused: a closed session refuses appends to either stream (S5)")
  void appendToClosedSession() {
    String id = session();
    append(id, OUT, "a");
    append(id, IN, "b");
    store().closeSession(id, "done", t0.plusSeconds(1));
    List<StoredRecord> out = readAll(id, OUT);
    List<StoredRecord> in = readAll(id, IN);

    assertThatThrownBy(() -> append(id, OUT, "x"))
        .isInstanceOf(SessionClosedException.class)
        .hasMessageContaining(id);
    assertThatThrownBy(() -> append(id, IN, "x", "y")).isInstanceOf(SessionClosedException.class);

    assertUnchanged(id, OUT, 1, out);
    assertUnchanged(id, IN, 1, in);
  }

  @Test
  @DisplayName(
      "refused: an expired session (expiresAt <= now) refuses appends; before it they land")
  void appendToExpiredSession() {
    Instant expiresAt = t0.plusSeconds(30);
    String id =
        store()
            .createSession(newSession(newFriendlyId(), "chat-" + random(16), env, expiresAt))
            .session()
            .friendlyId();
    store().append(id, OUT, List.of(NewRecord.of("a")), null, expiresAt.minusSeconds(1));
    List<StoredRecord> out = readAll(id, OUT);

    assertThatThrownBy(() -> store().append(id, OUT, List.of(NewRecord.of("x")), null, expiresAt))
        .isInstanceOf(SessionClosedException.class);
    assertThatThrownBy(
            () ->
                store().append(id, IN, List.of(NewRecord.of("x")), null, expiresAt.plusSeconds(5)))
        .isInstanceOf(SessionClosedException.class);

    assertUnchanged(id, OUT, 1, out);
    assertUnchanged(id, IN, 0, List.of());
  }

  @Test
  @DisplayName("refused: a run that lost ownership is fenced out and writes nothing (invariant 6)")
  void fencedAppend() {
    String[] s = sessionWithRun();
    store().append(s[0], OUT, List.of(NewRecord.of("mine")), s[1], t0);
    String next = newRunId();
    store().swapRun(s[0], 1, s[1], SessionRun.started(next, s[0], RunReason.UPGRADE, s[1], t0), t0);
    List<StoredRecord> before = readAll(s[0], OUT);

    FencedException e =
        catchThrowableOfType(
            FencedException.class,
            () ->
                store()
                    .append(
                        s[0], OUT, List.of(NewRecord.of("late"), NewRecord.of("later")), s[1], t0));

    assertThat(e).isNotNull().isInstanceOf(RunConflictException.class);
    assertThat(e.currentRunId()).isEqualTo(next);
    assertThat(e.currentVersion()).isEqualTo(2);
    assertUnchanged(s[0], OUT, 1, before);
    assertThat(store().append(s[0], OUT, List.of(NewRecord.of("new")), next, t0))
        .isEqualTo(new AppendResult(2, 2, false));
  }

  @Test
  @DisplayName("refused: a fencing run on a session that has no run is fenced out")
  void fencedWithoutRun() {
    String id = session();

    assertThatThrownBy(() -> store().append(id, OUT, List.of(NewRecord.of("x")), newRunId(), t0))
        .isInstanceOf(FencedException.class);
    assertUnchanged(id, OUT, 0, List.of());
  }

  @Test
  @DisplayName("refused: an empty batch is refused")
  void emptyBatch() {
    String id = session();
    append(id, OUT, "a");

    assertThatThrownBy(() -> store().append(id, OUT, List.of(), null, t0))
        .isInstanceOf(InvalidInputException.class);
    assertUnchanged(id, OUT, 1, readAll(id, OUT));
  }

  @Test
  @DisplayName(
      "refused: a part id on a batch of several records is refused, and none of them lands")
  void partIdOnABatch() {
    String id = session();
    append(id, OUT, "a");
    List<StoredRecord> before = readAll(id, OUT);

    assertThatThrownBy(
            () ->
                store()
                    .append(
                        id,
                        OUT,
                        List.of(NewRecord.of("x"), new NewRecord("y", "part-" + random(8))),
                        null,
                        t0))
        .isInstanceOf(InvalidInputException.class);
    assertUnchanged(id, OUT, 1, before);
  }

  @Test
  @DisplayName("refused: a negative afterSeq or a limit below 1 is an illegal argument")
  void badReadArguments() {
    String id = session();

    assertThatThrownBy(() -> store().read(id, OUT, -1, 10))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> store().read(id, OUT, 0, 0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> store().read(id, IN, 0, -5))
        .isInstanceOf(IllegalArgumentException.class);
  }

  // ---- a part id is stored once per stream (W5)

  @Test
  @DisplayName("part id: the same part id twice stores one record; the retry names the first one")
  void sameTwice() {
    String id = session();
    String part = "part-" + random(8);

    AppendResult first = appendPart(id, OUT, "{\"v\":1}", part);
    append(id, OUT, "between");
    AppendResult retry = appendPart(id, OUT, "{\"v\":2}", part);

    assertThat(first).isEqualTo(new AppendResult(1, 1, false));
    assertThat(retry).isEqualTo(new AppendResult(1, 1, true));
    assertThat(payloads(readAll(id, OUT))).containsExactly("{\"v\":1}", "between");
    assertThat(store().lastSeq(id, OUT)).isEqualTo(2);
  }

  @Test
  @DisplayName("part id: of racing appends with one part id exactly one record lands")
  void racingDuplicates() {
    String id = session();
    append(id, OUT, "before");
    String part = "part-" + random(8);

    List<AppendResult> results =
        Race.values(
            Race.run("dedupe", racers(), i -> appendPart(id, OUT, "{\"i\":" + i + "}", part)));

    assertThat(results).filteredOn(r -> !r.duplicate()).hasSize(1);
    assertThat(results)
        .allSatisfy(
            r -> assertThat(r).isIn(new AppendResult(2, 2, false), new AppendResult(2, 2, true)));
    assertThat(store().lastSeq(id, OUT)).isEqualTo(2);
    assertThat(readAll(id, OUT)).hasSize(2);
  }

  @Test
  @DisplayName(
      "part id: a retry after the session closed still gets the first answer; a new part is refused")
  void answersAfterClose() {
    String id = session();
    String part = "part-" + random(8);
    appendPart(id, IN, "{}", part);
    store().closeSession(id, "done", t0);

    assertThat(appendPart(id, IN, "{}", part)).isEqualTo(new AppendResult(1, 1, true));
    assertThatThrownBy(() -> appendPart(id, IN, "{}", "part-" + random(8)))
        .isInstanceOf(SessionClosedException.class);
    assertThat(store().lastSeq(id, IN)).isEqualTo(1);
  }

  @Test
  @DisplayName("part id: a retry by a run that was fenced out since still gets the first answer")
  void answersAfterFencing() {
    String[] s = sessionWithRun();
    String part = "part-" + random(8);
    store().append(s[0], OUT, List.of(new NewRecord("{}", part)), s[1], t0);
    store()
        .swapRun(
            s[0], 1, s[1], SessionRun.started(newRunId(), s[0], RunReason.UPGRADE, s[1], t0), t0);

    AppendResult retry = store().append(s[0], OUT, List.of(new NewRecord("{}", part)), s[1], t0);

    assertThat(retry).isEqualTo(new AppendResult(1, 1, true));
    assertThat(store().lastSeq(s[0], OUT)).isEqualTo(1);
  }

  @Test
  @DisplayName("part id: part ids are per stream and per session")
  void perStreamAndSession() {
    String a = session();
    String b = session();
    String part = "part-" + random(8);

    assertThat(appendPart(a, OUT, "{}", part).duplicate()).isFalse();
    assertThat(appendPart(a, IN, "{}", part).duplicate()).isFalse();
    assertThat(appendPart(b, OUT, "{}", part).duplicate()).isFalse();
    assertThat(store().lastSeq(a, OUT)).isEqualTo(1);
    assertThat(store().lastSeq(a, IN)).isEqualTo(1);
    assertThat(store().lastSeq(b, OUT)).isEqualTo(1);
  }

  // ---- trim removes old records and numbering continues (H5, capability TRIM)

  // One test that branches on the declared capability, rather than two that skip each other:
  // every backend runs it, and a skipped test never stands in for a passing one.
  @Test
  @DisplayName(
      "trim: trim follows the declared capability: with TRIM records through N go and numbering holds;"
          + " without it trim is refused and nothing is removed")
  void trimFollowsCapability() {
    if (store().capabilities().contains(StoreCapability.TRIM)) {
      trims();
    } else {
      refusesWithoutCapability();
    }
  }

  private void trims() {
    String id = session();
    for (int i = 1; i <= 10; i++) {
      append(id, OUT, "r" + i);
    }
    append(id, IN, "i1", "i2");

    assertThat(store().trim(id, OUT, 4)).isEqualTo(4);

    assertThat(seqs(store().read(id, OUT, 0, 3))).containsExactly(5L, 6L, 7L);
    assertThat(seqs(store().read(id, OUT, 2, 1))).containsExactly(5L);
    assertThat(seqs(readAll(id, OUT))).isEqualTo(range(5, 10));
    assertThat(store().lastSeq(id, OUT)).isEqualTo(10);
    assertThat(append(id, OUT, "r11")).isEqualTo(new AppendResult(11, 11, false));
    assertThat(store().trim(id, OUT, 4)).as("trimming again removes nothing").isZero();
    assertThat(seqs(readAll(id, IN))).as("the other stream is untouched").containsExactly(1L, 2L);

    assertThat(store().trim(id, OUT, 11)).isEqualTo(7);
    assertThat(store().read(id, OUT, 0, 10)).isEmpty();
    assertThat(store().lastSeq(id, OUT)).isEqualTo(11);
    assertThat(append(id, OUT, "r12")).isEqualTo(new AppendResult(12, 12, false));
    assertThat(seqs(readAll(id, OUT))).containsExactly(12L);
  }

  private void refusesWithoutCapability() {
    String id = session();
    append(id, OUT, "a", "b", "c");
    List<StoredRecord> before = readAll(id, OUT);

    assertThatThrownBy(() -> store().trim(id, OUT, 2))
        .isInstanceOf(UnsupportedCapabilityException.class);
    assertUnchanged(id, OUT, 3, before);
  }

  // ---- renewRun is the current run's lease heartbeat (capability RUN_LEASES)

  // Like trim: one test per behaviour that branches on the declared capability, so every backend
  // runs it and a skipped test never stands in for a passing one.
  @Test
  @DisplayName(
      "renewRun: with RUN_LEASES the current run's renewal is recorded and only ever moves forward, and"
          + " version and updatedAt stay; without it the renewal is refused and nothing changes")
  void renewFollowsCapability() {
    String[] s = sessionWithRun();
    Session before = row(s[0]);
    if (!store().capabilities().contains(StoreCapability.RUN_LEASES)) {
      assertThatThrownBy(() -> store().renewRun(s[0], s[1], t0.plusSeconds(1)))
          .isInstanceOf(UnsupportedCapabilityException.class);
      assertThat(store().runs(s[0]))
          .singleElement()
          .satisfies(r -> assertThat(r.renewedAt()).isNull());
      return;
    }
    assertThat(store().runs(s[0]).get(0).renewedAt()).as("a fresh run was never renewed").isNull();

    SessionRun renewed = store().renewRun(s[0], s[1], t0.plusSeconds(5));
    assertThat(renewed.renewedAt()).isEqualTo(t0.plusSeconds(5));
    assertThat(renewed.lastAliveAt()).isEqualTo(t0.plusSeconds(5));
    assertThat(store().runs(s[0])).containsExactly(renewed);

    SessionRun earlier = store().renewRun(s[0], s[1], t0.plusSeconds(3));
    assertThat(earlier.renewedAt())
        .as("an earlier renewal keeps the later")
        .isEqualTo(t0.plusSeconds(5));
    assertThat(store().renewRun(s[0], s[1], t0.plusSeconds(9)).renewedAt())
        .isEqualTo(t0.plusSeconds(9));
    assertThat(store().runs(s[0]).get(0).renewedAt()).isEqualTo(t0.plusSeconds(9));
    assertThat(store().runs(s[0]).get(0).isRunning()).isTrue();
    assertThat(row(s[0])).as("a renewal is not a change of the session").isEqualTo(before);
  }

  @Test
  @DisplayName(
      "renewRun: a superseded run cannot renew (it learns it lost the session) and its row stays as the"
          + " swap left it; the new current run can renew (S6, invariant 6)")
  void supersededRunIsFenced() {
    assumeLeases();
    String[] s = sessionWithRun();
    store().renewRun(s[0], s[1], t0.plusSeconds(1));
    String next = newRunId();
    store()
        .swapRun(
            s[0],
            1,
            s[1],
            SessionRun.started(next, s[0], RunReason.CONTINUATION, s[1], t0.plusSeconds(2)),
            t0.plusSeconds(2));
    List<SessionRun> afterSwap = store().runs(s[0]);

    assertThatThrownBy(() -> store().renewRun(s[0], s[1], t0.plusSeconds(3)))
        .isInstanceOf(FencedException.class);
    assertThat(store().runs(s[0])).isEqualTo(afterSwap);
    assertThat(afterSwap.get(0).renewedAt()).isEqualTo(t0.plusSeconds(1));
    assertThat(afterSwap.get(1).renewedAt()).as("a new run starts unrenewed").isNull();

    assertThat(store().renewRun(s[0], next, t0.plusSeconds(4)).renewedAt())
        .isEqualTo(t0.plusSeconds(4));
  }

  @Test
  @DisplayName(
      "renewRun: an ended run cannot renew, though it is still the current run; nothing changes")
  void endedRunIsFenced() {
    assumeLeases();
    String[] s = sessionWithRun();
    store().endRun(s[0], s[1], t0.plusSeconds(2), "idle");
    List<SessionRun> before = store().runs(s[0]);

    assertThatThrownBy(() -> store().renewRun(s[0], s[1], t0.plusSeconds(3)))
        .isInstanceOf(FencedException.class);
    assertThat(store().runs(s[0])).isEqualTo(before);
  }

  @Test
  @DisplayName("renewRun: an unknown run or session is refused")
  void unknownRunOrSession() {
    assumeLeases();
    String[] s = sessionWithRun();

    assertThatThrownBy(() -> store().renewRun(s[0], newRunId(), t0))
        .isInstanceOf(NoSuchRunException.class);
    assertThatThrownBy(() -> store().renewRun(newFriendlyId(), s[1], t0))
        .isInstanceOf(NoSuchSessionException.class);
  }

  @Test
  @DisplayName(
      "renewRun: renewals racing a swap: once the swap is done no renewal of the replaced run lands")
  void renewalsRacingASwap() throws Exception {
    assumeLeases();
    String[] s = sessionWithRun();
    var start = new CountDownLatch(1);
    var swapped = new java.util.concurrent.atomic.AtomicBoolean();
    var lateRenewals = new AtomicInteger();
    var threads = new ArrayList<Thread>();
    for (int t = 0; t < Math.max(2, racers() / 2); t++) {
      Thread thread =
          new Thread(
              () -> {
                try {
                  start.await();
                  for (int i = 1; i <= 50; i++) {
                    boolean swapDoneBefore = swapped.get();
                    try {
                      store().renewRun(s[0], s[1], t0.plusSeconds(i));
                      if (swapDoneBefore) {
                        lateRenewals.incrementAndGet();
                      }
                    } catch (FencedException e) {
                      // lost the session: expected once the swap is done
                    }
                  }
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              },
              "tck-renew-" + t);
      thread.start();
      threads.add(thread);
    }
    start.countDown();
    store()
        .swapRun(
            s[0],
            1,
            s[1],
            SessionRun.started(newRunId(), s[0], RunReason.CONTINUATION, s[1], t0.plusSeconds(60)),
            t0.plusSeconds(60));
    swapped.set(true);
    SessionRun replacedAtSwap = store().runs(s[0]).get(0);
    for (Thread thread : threads) {
      thread.join(TimeUnit.MINUTES.toMillis(1));
    }
    assertThat(lateRenewals.get()).isZero();
    assertThat(store().runs(s[0]).get(0)).isEqualTo(replacedAtSwap);
    assertThat(replacedAtSwap.endReason()).isEqualTo("superseded");
  }

  // ---- the recovery query and attempt counts (S12, capability RECOVERY)

  @Test
  @DisplayName(
      "recovery: with RECOVERY the query finds the sessions whose current run is running and was last"
          + " alive before the cut, and those whose in grew while no run ran; without it both calls are"
          + " refused")
  void recoveryFollowsCapability() {
    var rec = new Environment("tck", "rec-" + random(12));
    if (!store().capabilities().contains(StoreCapability.RECOVERY)) {
      assertThatThrownBy(() -> store().findSessionsToRecover(rec, agents(), t0, t0, null, 10))
          .isInstanceOf(UnsupportedCapabilityException.class);
      String[] s = sessionWithRun();
      assertThatThrownBy(() -> store().recordAttempt(s[0], s[1], 1, t0))
          .isInstanceOf(UnsupportedCapabilityException.class);
      return;
    }
    String dead = recoverySession(rec, "dead");
    String deadRun = startRun(rec, dead, t0);
    String live = recoverySession(rec, "live");
    String liveRun = startRun(rec, live, t0);
    store().renewRun(live, liveRun, t0.plusSeconds(30));
    String idle = recoverySession(rec, "idle");
    store().endRun(idle, startRun(rec, idle, t0), t0.plusSeconds(1), "idle");
    String grew = recoverySession(rec, "grew");
    store().endRun(grew, startRun(rec, grew, t0), t0.plusSeconds(1), "idle");
    appendIn(grew);
    String never = recoverySession(rec, "never");
    appendIn(never);
    String busy = recoverySession(rec, "busy");
    String busyRun = startRun(rec, busy, t0);
    store().renewRun(busy, busyRun, t0.plusSeconds(30));
    appendIn(busy);
    store().append(busy, OUT, List.of(NewRecord.of("{}")), busyRun, t0.plusSeconds(2));

    Instant cut = t0.plusSeconds(20);
    Instant now = t0.plusSeconds(21);
    assertThat(ids(store().findSessionsToRecover(rec, agents(), cut, now, null, 100)))
        .as("dead, and in grew with no run; never the live, the idle or the busy one")
        .containsExactlyElementsOf(sorted(dead, grew, never));
    assertThat(store().findSessionsToRecover(rec, agents(), t0, now, null, 100))
        .as("a run started at the cut is not dead before it")
        .extracting(Session::friendlyId)
        .containsExactlyElementsOf(sorted(grew, never));
    assertThat(store().findSessionsToRecover(rec, Set.of("another-agent"), cut, now, null, 100))
        .as("only the given agents' sessions")
        .isEmpty();
    assertThat(store().findSessionsToRecover(otherEnv, agents(), cut, now, null, 100))
        .as("only the environment's sessions")
        .isEmpty();
    assertThat(deadRun).isNotBlank();
  }

  @Test
  @DisplayName(
      "recovery: a run becoming current clears a session's unserved mark, so does a close; a closed"
          + " or expired session is never found, dead run or not")
  void recoveryMarkClears() {
    assumeRecovery();
    var rec = new Environment("tck", "rec-" + random(12));
    Instant cut = t0.plusSeconds(20);
    Instant now = t0.plusSeconds(21);
    String swapped = recoverySession(rec, "swapped");
    appendIn(swapped);
    String closed = recoverySession(rec, "closed");
    appendIn(closed);
    String closedDead = recoverySession(rec, "closed-dead");
    startRun(rec, closedDead, t0);
    String expiring =
        store()
            .createSession(
                newSession(newFriendlyId(), "expiring-" + random(8), rec, t0.plusSeconds(10)))
            .session()
            .friendlyId();
    startRun(rec, expiring, t0);
    assertThat(ids(store().findSessionsToRecover(rec, agents(), cut, t0.plusSeconds(5), null, 100)))
        .containsExactlyElementsOf(sorted(swapped, closed, closedDead, expiring));

    startRun(rec, swapped, t0.plusSeconds(20));
    store().closeSession(closed, "done", t0.plusSeconds(2));
    store().closeSession(closedDead, "done", t0.plusSeconds(2));
    assertThat(store().findSessionsToRecover(rec, agents(), cut, now, null, 100))
        .as("swapped has a fresh run, the others are closed or expired at now")
        .isEmpty();
    assertThat(ids(store().findSessionsToRecover(rec, agents(), t0.plusSeconds(25), now, null, 9)))
        .as("the swapped run's lease runs out later like any other")
        .containsExactly(swapped);
  }

  @Test
  @DisplayName(
      "recovery: the query pages by friendly id: pages of a limit, each after the last id of the"
          + " one before, see every session found exactly once, in order")
  void recoveryPages() {
    assumeRecovery();
    var rec = new Environment("tck", "rec-" + random(12));
    var expected = new ArrayList<String>();
    for (int i = 0; i < 25; i++) {
      String id = recoverySession(rec, "page-" + i);
      if (i % 2 == 0) {
        startRun(rec, id, t0);
      } else {
        appendIn(id);
      }
      expected.add(id);
    }
    expected.sort(null);
    var seen = new ArrayList<String>();
    String after = null;
    while (true) {
      List<Session> page =
          store().findSessionsToRecover(rec, agents(), t0.plusSeconds(1), t0, after, 10);
      assertThat(page.size()).isLessThanOrEqualTo(10);
      if (page.isEmpty()) {
        break;
      }
      page.forEach(p -> seen.add(p.friendlyId()));
      after = page.get(page.size() - 1).friendlyId();
    }
    assertThat(seen).isEqualTo(expected);
    assertThatThrownBy(() -> store().findSessionsToRecover(rec, agents(), t0, t0, null, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  @DisplayName(
      "recordAttempt: counts the attempts at one in record across runs (1, 2, 3), starts again at"
          + " one for the next record, and refuses a run that is not current, changing nothing")
  void attemptsAreCounted() {
    assumeRecovery();
    String[] s = sessionWithRun();
    assertThat(store().recordAttempt(s[0], s[1], 4, t0)).isEqualTo(1);
    String next = newRunId();
    store()
        .swapRun(
            s[0],
            1,
            s[1],
            SessionRun.started(next, s[0], RunReason.CONTINUATION, s[1], t0.plusSeconds(1)),
            t0.plusSeconds(1));
    assertThatThrownBy(() -> store().recordAttempt(s[0], s[1], 4, t0.plusSeconds(2)))
        .as("the superseded run")
        .isInstanceOf(FencedException.class);
    assertThat(store().recordAttempt(s[0], next, 4, t0.plusSeconds(2)))
        .as("the continuation's attempt is the second")
        .isEqualTo(2);
    assertThat(store().recordAttempt(s[0], next, 4, t0.plusSeconds(3))).isEqualTo(3);
    assertThat(store().recordAttempt(s[0], next, 7, t0.plusSeconds(4)))
        .as("the next record starts again")
        .isEqualTo(1);
    assertThat(store().recordAttempt(s[0], next, 4, t0.plusSeconds(5)))
        .as("one counter per session: going back starts again too")
        .isEqualTo(1);
    assertThatThrownBy(() -> store().recordAttempt(newFriendlyId(), next, 1, t0))
        .isInstanceOf(NoSuchSessionException.class);
    String fresh = session();
    assertThatThrownBy(() -> store().recordAttempt(fresh, next, 1, t0))
        .as("a session without a run")
        .isInstanceOf(FencedException.class);
  }

  private static Set<String> agents() {
    return Set.of("agent-tck");
  }

  private String recoverySession(Environment environment, String name) {
    return store()
        .createSession(newSession(name + "-" + random(8), environment))
        .session()
        .friendlyId();
  }

  /** Makes a new run current at the time; returns its id. */
  private String startRun(Environment environment, String id, Instant at) {
    Session row = store().findByFriendlyId(environment, id).orElseThrow();
    String run = newRunId();
    RunReason reason = row.currentRunId() == null ? RunReason.INITIAL : RunReason.CONTINUATION;
    store()
        .swapRun(
            id,
            row.version(),
            row.currentRunId(),
            SessionRun.started(run, id, reason, row.currentRunId(), at),
            at);
    return run;
  }

  private void appendIn(String id) {
    store()
        .append(id, IN, List.of(NewRecord.of("{\"kind\":\"message\"}")), null, t0.plusSeconds(2));
  }

  private static List<String> ids(List<Session> sessions) {
    return sessions.stream().map(Session::friendlyId).toList();
  }

  private static List<String> sorted(String... ids) {
    return java.util.Arrays.stream(ids).sorted().toList();
  }

  private void assumeRecovery() {
    org.junit.jupiter.api.Assumptions.assumeTrue(
        store().capabilities().contains(StoreCapability.RECOVERY),
        "the store declares no RECOVERY; recoveryFollowsCapability checks the refusal");
  }

  private void assumeLeases() {
    org.junit.jupiter.api.Assumptions.assumeTrue(
        store().capabilities().contains(StoreCapability.RUN_LEASES),
        "the store declares no RUN_LEASES; renewFollowsCapability checks the refusal");
  }

  // ---- watch wakes readers after appends

  @Test
  @DisplayName("watch: an append wakes the watcher of its stream promptly")
  void appendWakesWatcher() throws Exception {
    String id = session();
    var woken = new CountDownLatch(1);
    AutoCloseable handle = store().watch(id, OUT, woken::countDown);
    try {
      append(id, OUT, "{}");

      assertThat(woken.await(watchTimeout().toMillis(), TimeUnit.MILLISECONDS))
          .as("watcher called within %s", watchTimeout())
          .isTrue();
    } finally {
      handle.close();
    }
  }

  @Test
  @DisplayName("watch: after its handle is closed a watcher is no longer called; others still are")
  void closedHandleStops() throws Exception {
    String id = session();
    var closedCalls = new Calls();
    var openCalls = new Calls();
    AutoCloseable closing = store().watch(id, OUT, closedCalls);
    AutoCloseable other = store().watch(id, OUT, openCalls);
    try {
      closing.close();
      // A call already under way when the handle closed may still finish: the open watcher's
      // call for a later append is the marker after which the closed one is counted.
      append(id, OUT, "{}");
      openCalls.await(1, watchTimeout());
      closedCalls.reset();
      int marker = openCalls.count();

      append(id, OUT, "{}");
      openCalls.await(marker + 1, watchTimeout());

      assertThat(closedCalls.count()).as("calls after close").isZero();
    } finally {
      other.close();
    }
  }

  /** Counts a watcher's calls, so that a test waits for a count rather than for a time. */
  private static final class Calls implements Runnable {
    private int count;

    @Override
    public synchronized void run() {
      count++;
      notifyAll();
    }

    synchronized int count() {
      return count;
    }

    synchronized void reset() {
      count = 0;
    }

    synchronized void await(int n, Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (count < n) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError(
              "watcher called " + count + " time(s) within " + timeout + ", expected " + n);
        }
        TimeUnit.NANOSECONDS.timedWait(this, left);
      }
    }
  }

  @Test
  @DisplayName("the backend is found through ServiceLoader by its scheme")
  void foundByScheme() {
    StoreConfig config = serviceLoaderConfig();
    try (SessionStore loaded = StoreLoader.openSessionStore(config)) {
      assertThat(loaded).isExactlyInstanceOf(store().getClass());
      assertThat(StoreLoader.sessionStoreProviders(getClass().getClassLoader()))
          .containsKey(config.scheme());
      String id = loaded.createSession(newSession(null, env)).session().friendlyId();
      assertThat(loaded.findByFriendlyId(env, id)).isPresent();
    }
  }
}
