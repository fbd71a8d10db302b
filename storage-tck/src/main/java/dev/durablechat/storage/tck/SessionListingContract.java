package dev.durablechat.storage.tck;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.Environment;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.Session;
import dev.durablechat.api.SessionPage;
import dev.durablechat.api.SessionQuery;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.SessionStatus;
import dev.durablechat.api.TriggerConfig;
import dev.durablechat.api.spi.NewSession;
import dev.durablechat.api.spi.SessionStore;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The listing part of the {@link SessionStore} contract ({@link SessionStore#listSessions}): keyset
 * pages in creation order, the filters, and paging while sessions are being created. A backend's
 * test extends it and opens the store, as for {@link SessionStoreContract}:
 *
 * <pre>{@code
 * class MemorySessionListingTest extends SessionListingContract {
 *   protected SessionStore openStore() { return new MemorySessionStore(); }
 * }
 * }</pre>
 *
 * <p>Every test lists an environment of its own, so it sees exactly the sessions it created, on a
 * shared database too. Times are whole seconds from {@link #t0}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class SessionListingContract {
  private @Nullable SessionStore store;

  /** A time every test starts from: whole seconds, so timestamp columns keep it exactly. */
  protected final Instant t0 = Instant.now().truncatedTo(ChronoUnit.SECONDS);

  /** Creates the contract; a subclass only opens the store. */
  protected SessionListingContract() {}

  /** Opens the store under test; called once, before the first test of the class. */
  protected abstract SessionStore openStore();

  /** Closes the store after the last test; by default {@link SessionStore#close()}. */
  protected void closeStore(SessionStore store) {
    store.close();
  }

  /** How many threads create sessions while the concurrency test pages through. */
  protected int concurrentCreators() {
    return 4;
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

  private static Environment freshEnv() {
    return new Environment("tck", "list-" + SessionStoreContract.random(12));
  }

  private NewSession newSession(
      Environment env,
      String agentId,
      List<String> tags,
      Instant createdAt,
      @Nullable Instant expires) {
    var trigger = new TriggerConfig(null, null, tags, null, null, JsonObject.empty());
    return new NewSession(
        SessionStoreContract.newFriendlyId(),
        null,
        env,
        agentId,
        JsonObject.empty(),
        trigger,
        createdAt,
        expires);
  }

  private Session create(Environment env, Instant createdAt) {
    return create(env, "agent-a", List.of(), createdAt, null);
  }

  private Session create(
      Environment env,
      String agentId,
      List<String> tags,
      Instant createdAt,
      @Nullable Instant expires) {
    return store().createSession(newSession(env, agentId, tags, createdAt, expires)).session();
  }

  /** Every page of the listing, following the cursors; asserts each page's size limit. */
  private List<SessionPage> pages(
      Environment env, UnaryOperator<SessionQuery.Builder> query, Instant now) {
    var pages = new ArrayList<SessionPage>();
    String cursor = null;
    do {
      SessionQuery q = query.apply(SessionQuery.builder()).cursor(cursor).build();
      SessionPage page = store().listSessions(env, q, now);
      assertThat(page.sessions().size())
          .as("a page never exceeds its limit")
          .isLessThanOrEqualTo(q.limit());
      pages.add(page);
      cursor = page.nextCursor();
      assertThat(pages).as("paging ends").hasSizeLessThan(10_000);
    } while (cursor != null);
    return pages;
  }

  private List<String> ids(
      Environment env, UnaryOperator<SessionQuery.Builder> query, Instant now) {
    var ids = new ArrayList<String>();
    pages(env, query, now).forEach(p -> p.sessions().forEach(s -> ids.add(s.friendlyId())));
    return ids;
  }

  private static List<String> ids(List<Session> sessions) {
    return sessions.stream().map(Session::friendlyId).toList();
  }

  /** The sessions newest first: by creation time, then friendly id, both descending. */
  private static List<String> newestFirst(List<Session> sessions) {
    var sorted = new ArrayList<>(sessions);
    sorted.sort(
        (a, b) -> {
          int c = b.createdAt().compareTo(a.createdAt());
          return c != 0 ? c : b.friendlyId().compareTo(a.friendlyId());
        });
    return ids(sorted);
  }

  // ---------------------------------------------------------------------------------------------

  @Test
  @DisplayName("listSessions: an environment without sessions lists an empty last page")
  void emptyEnvironment() {
    SessionPage page = store().listSessions(freshEnv(), SessionQuery.all(), t0);
    assertThat(page.sessions()).isEmpty();
    assertThat(page.nextCursor()).isNull();
  }

  @Test
  @DisplayName(
      "listSessions: newest first by default, every session exactly once across pages, the last"
          + " page without a cursor")
  void newestFirstAcrossPages() {
    Environment env = freshEnv();
    var created = new ArrayList<Session>();
    for (int i = 0; i < 23; i++) {
      created.add(create(env, t0.plusSeconds(i)));
    }
    List<SessionPage> pages = pages(env, b -> b.limit(5), t0);
    assertThat(pages).hasSize(5);
    assertThat(pages.subList(0, 4)).allSatisfy(p -> assertThat(p.sessions()).hasSize(5));
    assertThat(pages.get(4).sessions()).hasSize(3);
    var listed = new ArrayList<String>();
    pages.forEach(p -> listed.addAll(ids(p.sessions())));
    assertThat(listed).isEqualTo(newestFirst(created));
  }

  @Test
  @DisplayName("listSessions: a page that ends exactly at the last session has no next cursor")
  void exactLastPage() {
    Environment env = freshEnv();
    for (int i = 0; i < 4; i++) {
      create(env, t0.plusSeconds(i));
    }
    SessionPage page = store().listSessions(env, SessionQuery.builder().limit(4).build(), t0);
    assertThat(page.sessions()).hasSize(4);
    assertThat(page.nextCursor()).isNull();
  }

  @Test
  @DisplayName("listSessions: oldest first lists the same sessions in the reverse order")
  void oldestFirst() {
    Environment env = freshEnv();
    var created = new ArrayList<Session>();
    for (int i = 0; i < 11; i++) {
      created.add(create(env, t0.plusSeconds(i)));
    }
    List<String> oldest = ids(env, b -> b.order(SessionQuery.Order.OLDEST_FIRST).limit(3), t0);
    List<String> expected = new ArrayList<>(newestFirst(created));
    Collections.reverse(expected);
    assertThat(oldest).isEqualTo(expected);
  }

  @Test
  @DisplayName(
      "listSessions: sessions created at the same instant are ordered by friendly id, and a page"
          + " boundary inside such a tie loses and repeats none")
  void tiesAcrossPages() {
    Environment env = freshEnv();
    var created = new ArrayList<Session>();
    for (int i = 0; i < 12; i++) {
      created.add(create(env, t0.plusSeconds(i / 6)));
    }
    assertThat(ids(env, b -> b.limit(4), t0)).isEqualTo(newestFirst(created));
    assertThat(ids(env, b -> b.limit(5).order(SessionQuery.Order.OLDEST_FIRST), t0))
        .containsExactlyElementsOf(reversed(newestFirst(created)));
  }

  private static List<String> reversed(List<String> list) {
    var copy = new ArrayList<>(list);
    Collections.reverse(copy);
    return copy;
  }

  @Test
  @DisplayName("listSessions: sessions of another environment are never listed")
  void environmentIsolation() {
    Environment env = freshEnv();
    Environment other = freshEnv();
    Session mine = create(env, t0);
    create(other, t0);
    assertThat(ids(env, b -> b, t0)).containsExactly(mine.friendlyId());
  }

  @Test
  @DisplayName("listSessions: the agent filter lists only that agent's sessions, across pages")
  void agentFilter() {
    Environment env = freshEnv();
    var a = new ArrayList<Session>();
    for (int i = 0; i < 9; i++) {
      Session s =
          create(env, i % 3 == 0 ? "agent-b" : "agent-a", List.of(), t0.plusSeconds(i), null);
      if (s.agentId().equals("agent-b")) {
        a.add(s);
      }
    }
    assertThat(ids(env, b -> b.agentId("agent-b").limit(2), t0)).isEqualTo(newestFirst(a));
    assertThat(ids(env, b -> b.agentId("agent-none"), t0)).isEmpty();
  }

  @Test
  @DisplayName(
      "listSessions: the tag filter lists sessions carrying the tag once each (a repeated tag"
          + " too), across pages, combined with the agent filter")
  void tagFilter() {
    Environment env = freshEnv();
    var red = new ArrayList<Session>();
    var redOfB = new ArrayList<Session>();
    for (int i = 0; i < 10; i++) {
      List<String> tags =
          i % 2 == 0 ? List.of("red", "blue", "red") : i % 3 == 0 ? List.of("blue") : List.of();
      String agent = i % 4 == 0 ? "agent-b" : "agent-a";
      Session s = create(env, agent, tags, t0.plusSeconds(i), null);
      if (tags.contains("red")) {
        red.add(s);
        if (agent.equals("agent-b")) {
          redOfB.add(s);
        }
      }
    }
    assertThat(ids(env, b -> b.tag("red").limit(2), t0)).isEqualTo(newestFirst(red));
    assertThat(ids(env, b -> b.tag("red").agentId("agent-b").limit(1), t0))
        .isEqualTo(newestFirst(redOfB));
    assertThat(ids(env, b -> b.tag("green"), t0)).isEmpty();
    Session listed =
        store()
            .listSessions(env, SessionQuery.builder().tag("red").limit(1).build(), t0)
            .sessions()
            .get(0);
    assertThat(listed.triggerConfig().tags())
        .as("a listed session is the whole row")
        .containsExactly("red", "blue", "red");
  }

  @Test
  @DisplayName(
      "listSessions: the status filter tells open, closed and expired apart at the given now (S4)")
  void statusFilter() {
    Environment env = freshEnv();
    Session open = create(env, "agent-a", List.of(), t0, null);
    Session laterExpiring =
        create(env, "agent-a", List.of(), t0.plusSeconds(1), t0.plusSeconds(100));
    Session expired = create(env, "agent-a", List.of(), t0.plusSeconds(2), t0.plusSeconds(10));
    Session closed = create(env, "agent-a", List.of(), t0.plusSeconds(3), null);
    store().closeSession(closed.friendlyId(), "done", t0.plusSeconds(5));
    // Closed wins over expired: a closed session that has also expired lists as closed.
    Session closedAndExpired =
        create(env, "agent-a", List.of(), t0.plusSeconds(4), t0.plusSeconds(10));
    store().closeSession(closedAndExpired.friendlyId(), null, t0.plusSeconds(6));
    Instant now = t0.plusSeconds(20);
    assertThat(ids(env, b -> b.status(SessionStatus.ACTIVE), now))
        .containsExactly(laterExpiring.friendlyId(), open.friendlyId());
    assertThat(ids(env, b -> b.status(SessionStatus.EXPIRED), now))
        .containsExactly(expired.friendlyId());
    assertThat(ids(env, b -> b.status(SessionStatus.CLOSED).limit(1), now))
        .containsExactly(closedAndExpired.friendlyId(), closed.friendlyId());
    assertThat(ids(env, b -> b.status(SessionStatus.ACTIVE), t0.plusSeconds(3)))
        .as("before its expiry a session is open")
        .containsExactly(expired.friendlyId(), laterExpiring.friendlyId(), open.friendlyId());
  }

  @Test
  @DisplayName(
      "listSessions: created and updated ranges are half-open [from, to) and page like the rest")
  void timeRanges() {
    Environment env = freshEnv();
    var created = new ArrayList<Session>();
    for (int i = 0; i < 8; i++) {
      created.add(create(env, t0.plusSeconds(i)));
    }
    assertThat(ids(env, b -> b.created(t0.plusSeconds(2), t0.plusSeconds(6)).limit(3), t0))
        .isEqualTo(newestFirst(created.subList(2, 6)));
    assertThat(ids(env, b -> b.created(t0.plusSeconds(6), null), t0))
        .isEqualTo(newestFirst(created.subList(6, 8)));
    assertThat(ids(env, b -> b.created(null, t0.plusSeconds(1)), t0))
        .containsExactly(created.get(0).friendlyId());
    // Updating: a run swap at t0+100 moves updatedAt of sessions 1 and 3 only.
    for (int i : new int[] {1, 3}) {
      String id = created.get(i).friendlyId();
      store()
          .swapRun(
              id,
              0,
              null,
              SessionRun.started(
                  "run_" + SessionStoreContract.random(12),
                  id,
                  RunReason.INITIAL,
                  null,
                  t0.plusSeconds(100)),
              t0.plusSeconds(100));
    }
    assertThat(ids(env, b -> b.updated(t0.plusSeconds(100), null).limit(1), t0))
        .containsExactly(created.get(3).friendlyId(), created.get(1).friendlyId());
    assertThat(ids(env, b -> b.updated(null, t0.plusSeconds(100)), t0))
        .hasSize(6)
        .doesNotContain(created.get(1).friendlyId(), created.get(3).friendlyId());
  }

  @Test
  @DisplayName(
      "listSessions: a listing reflects the rows as they are now (a session closed after it was"
          + " created lists closed)")
  void rowsAreCurrent() {
    Environment env = freshEnv();
    Session s = create(env, t0);
    store().closeSession(s.friendlyId(), "bye", t0.plusSeconds(1));
    Session listed = store().listSessions(env, SessionQuery.all(), t0).sessions().get(0);
    assertThat(listed.closedReason()).isEqualTo("bye");
    assertThat(listed.closedAt()).isEqualTo(t0.plusSeconds(1));
  }

  @Test
  @DisplayName(
      "listSessions: paging while other threads create sessions shows every session that existed"
          + " when the listing began exactly once, and no session twice")
  void pagingUnderConcurrentCreates() throws InterruptedException {
    Environment env = freshEnv();
    var before = new ArrayList<Session>();
    for (int i = 0; i < 60; i++) {
      before.add(create(env, t0.plusSeconds(i / 3)));
    }
    var stop = new AtomicBoolean();
    Set<String> createdMeanwhile = ConcurrentHashMap.newKeySet();
    var failures = new ConcurrentHashMap<String, Throwable>();
    // Each page read lets the creators make a few more sessions, racing the next page's read: the
    // listing really runs among inserts on every store, fast or slow, and the total stays small.
    var permits = new Semaphore(0);
    var creators = new ArrayList<Thread>();
    for (int c = 0; c < concurrentCreators(); c++) {
      final int n = c;
      Thread t =
          new Thread(
              () -> {
                int i = 0;
                try {
                  while (!stop.get()) {
                    if (!permits.tryAcquire(20, TimeUnit.MILLISECONDS)) {
                      continue;
                    }
                    // Newer ones (as a live system makes) and some in the middle of the range,
                    // already listed or not yet (a clock behind, another node).
                    Instant at = i % 2 == 0 ? t0.plusSeconds(1000 + i) : t0.plusSeconds(i % 20);
                    createdMeanwhile.add(create(env, "agent-a", List.of(), at, null).friendlyId());
                    i++;
                  }
                } catch (Throwable e) {
                  failures.put("creator-" + n, e);
                }
              },
              "tck-list-creator-" + c);
      t.setDaemon(true);
      creators.add(t);
    }
    creators.forEach(Thread::start);
    var listed = new ArrayList<String>();
    try {
      String cursor = null;
      do {
        SessionPage page =
            store().listSessions(env, SessionQuery.builder().limit(7).cursor(cursor).build(), t0);
        page.sessions().forEach(s -> listed.add(s.friendlyId()));
        cursor = page.nextCursor();
        permits.release(2 * concurrentCreators());
      } while (cursor != null);
    } finally {
      stop.set(true);
      for (Thread t : creators) {
        t.join(60_000);
      }
    }
    assertThat(failures).isEmpty();
    assertThat(createdMeanwhile).as("sessions were created during the listing").isNotEmpty();
    assertThat(new HashSet<>(listed)).as("no session listed twice").hasSize(listed.size());
    for (Session s : before) {
      assertThat(listed).as("each session that existed before is listed").contains(s.friendlyId());
    }
    var unexpected = new HashSet<>(listed);
    ids(before).forEach(unexpected::remove);
    unexpected.removeAll(createdMeanwhile);
    assertThat(unexpected).as("only this environment's sessions").isEmpty();
  }
}
