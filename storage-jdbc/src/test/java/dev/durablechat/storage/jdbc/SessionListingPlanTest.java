package dev.durablechat.storage.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.Environment;
import dev.durablechat.api.SessionQuery;
import dev.durablechat.api.spi.StoreConfig;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The listing reads an index in its order on H2, whatever the filters, so a page costs the same at
 * any depth (S10). PostgreSQL's planner chooses by table statistics: the plan of a page of 50 out
 * of 100,000 sessions is checked with EXPLAIN in {@code benchmarks/README.md}.
 */
@DisplayName("the session listing on H2 reads an index in listing order (S10)")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SessionListingPlanTest {
  private static final Environment ENV = new Environment("plan", "dev");
  private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
  private final Path dir = H2SessionStoreTest.H2Files.newDir();
  private final String url = H2SessionStoreTest.H2Files.url(dir);

  @AfterAll
  void delete() {
    H2SessionStoreTest.H2Files.delete(dir);
  }

  @BeforeAll
  void load() throws Exception {
    // Opening the store creates the schema; a few thousand sessions and ANALYZE give H2's planner
    // the statistics it chooses by.
    try (var store = JdbcStores.openSessionStore(StoreConfig.of(url))) {
      for (int i = 0; i < 2000; i++) {
        store.createSession(
            new dev.durablechat.api.spi.NewSession(
                String.format("session_plan%06d", i),
                null,
                ENV,
                i % 2 == 0 ? "a" : "b",
                dev.durablechat.api.JsonObject.empty(),
                new dev.durablechat.api.TriggerConfig(
                    null,
                    null,
                    i % 3 == 0 ? java.util.List.of("vip") : java.util.List.of(),
                    null,
                    null,
                    dev.durablechat.api.JsonObject.empty()),
                NOW.minusSeconds(i),
                null));
      }
    }
    try (Connection conn = DriverManager.getConnection(url);
        var st = conn.createStatement()) {
      st.execute("ANALYZE");
    }
  }

  private String plan(SessionQuery query) throws Exception {
    try (Connection conn = DriverManager.getConnection(url)) {
      SessionListing.Select select = SessionListing.select(ENV, query, NOW);
      try (PreparedStatement ps = conn.prepareStatement("EXPLAIN " + select.sql())) {
        select.bind(ps);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          return rs.getString(1).toLowerCase(java.util.Locale.ROOT);
        }
      }
    }
  }

  private static String cursor() {
    return SessionQuery.all().cursorAfter(new SessionQuery.Position(NOW, "session_abc"));
  }

  @Test
  @DisplayName(
      "every session, first page and a later one: dc_sessions_listing, sorted by the index")
  void all() throws Exception {
    for (SessionQuery q :
        new SessionQuery[] {SessionQuery.all(), SessionQuery.builder().cursor(cursor()).build()}) {
      String plan = plan(q);
      assertThat(plan).contains("dc_sessions_listing").contains("index sorted");
    }
  }

  @Test
  @DisplayName("by agent: dc_sessions_agent_listing, sorted by the index")
  void byAgent() throws Exception {
    assertThat(plan(SessionQuery.builder().agentId("a").cursor(cursor()).build()))
        .contains("dc_sessions_agent_listing")
        .contains("index sorted");
  }

  @Test
  @DisplayName("by tag: dc_session_tags_listing, sorted by the index, joined to each session row")
  void byTag() throws Exception {
    assertThat(plan(SessionQuery.builder().tag("vip").cursor(cursor()).build()))
        .contains("dc_session_tags_listing")
        .contains("index sorted");
  }
}
