package dev.durablechat.storage.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.Environment;
import dev.durablechat.api.FencedException;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.TriggerConfig;
import dev.durablechat.api.spi.NewRecord;
import dev.durablechat.api.spi.NewSession;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoreCapability;
import dev.durablechat.api.spi.StoreLoader;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("the jdbc store on H2, beyond the kit")
class JdbcSmokeTest {
  static final Environment ENV = new Environment("proj", "dev");
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  @TempDir Path dir;

  String url() {
    return "jdbc:h2:file:"
        + dir.resolve("chat")
        + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH";
  }

  static NewSession newSession(String externalId) {
    return new NewSession(
        "session_" + UUID.randomUUID().toString().replace("-", ""),
        externalId,
        ENV,
        "agent",
        JsonObject.empty(),
        TriggerConfig.none(),
        T0,
        null);
  }

  @Test
  @DisplayName("is found by the jdbc scheme, creates its schema once and records version 1")
  void providerAndSchema() throws Exception {
    try (SessionStore store = StoreLoader.openSessionStore(url())) {
      assertThat(store.capabilities()).containsExactly(StoreCapability.TRIM);
    }
    // Opening again finds the schema and changes nothing.
    StoreLoader.openSessionStore(url()).close();
    try (Connection conn = DriverManager.getConnection(url());
        Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("SELECT version FROM dc_schema_version")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getInt(1)).isEqualTo(Schema.CURRENT);
      assertThat(rs.next()).isFalse();
    }
  }

  @Test
  @DisplayName(
      "numbers appends gaplessly, dedupes part ids and lets any number of records go without one (W5)")
  void appendsAndPartIds() {
    try (SessionStore store = StoreLoader.openSessionStore(url())) {
      String id = store.createSession(newSession("chat-1")).session().friendlyId();
      assertThat(store.append(id, StreamKind.OUT, List.of(NewRecord.of("{}")), null, T0).lastSeq())
          .isEqualTo(1);
      var batch =
          store.append(id, StreamKind.OUT, List.of(NewRecord.of("1"), NewRecord.of("2")), null, T0);
      assertThat(batch.firstSeq()).isEqualTo(2);
      assertThat(batch.lastSeq()).isEqualTo(3);
      var first = store.append(id, StreamKind.IN, List.of(new NewRecord("\"a\"", "p1")), null, T0);
      var retry = store.append(id, StreamKind.IN, List.of(new NewRecord("\"b\"", "p1")), null, T0);
      assertThat(retry.duplicate()).isTrue();
      assertThat(retry.firstSeq()).isEqualTo(first.firstSeq());
      assertThat(store.read(id, StreamKind.OUT, 0, 10))
          .extracting(r -> r.payload())
          .containsExactly("{}", "1", "2");
      assertThat(store.read(id, StreamKind.IN, 0, 10)).hasSize(1);
      assertThat(store.lastSeq(id, StreamKind.IN)).isEqualTo(1);
    }
  }

  @Test
  @DisplayName("fences an append of a run that is not current and writes nothing (invariant 6)")
  void fencing() {
    try (SessionStore store = StoreLoader.openSessionStore(url())) {
      String id = store.createSession(newSession(null)).session().friendlyId();
      store.swapRun(id, 0, null, SessionRun.started("run_a", id, RunReason.INITIAL, null, T0), T0);
      store.swapRun(
          id, 1, "run_a", SessionRun.started("run_b", id, RunReason.UPGRADE, "run_a", T0), T0);
      assertThatThrownBy(
              () -> store.append(id, StreamKind.OUT, List.of(NewRecord.of("{}")), "run_a", T0))
          .isInstanceOf(FencedException.class)
          .hasMessageContaining("run [run_a] is not current (current [run_b])");
      assertThat(store.lastSeq(id, StreamKind.OUT)).isZero();
      assertThat(store.runs(id)).extracting(SessionRun::runId).containsExactly("run_a", "run_b");
      assertThat(store.runs(id).get(0).endReason()).isEqualTo("superseded");
    }
  }
}
