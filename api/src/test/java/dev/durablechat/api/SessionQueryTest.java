package dev.durablechat.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Session queries: validated filters and opaque cursors")
class SessionQueryTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00.123456789Z");

  private static Session session(String id, Instant createdAt) {
    return new Session(
        id,
        null,
        new Environment("p", "e"),
        "agent",
        null,
        0,
        JsonObject.empty(),
        TriggerConfig.none(),
        createdAt,
        createdAt,
        null,
        null,
        null);
  }

  @Test
  @DisplayName("the defaults: newest first, 50 a page, no filter, the first page")
  void defaults() {
    SessionQuery q = SessionQuery.all();
    assertThat(q.limit()).isEqualTo(SessionQuery.DEFAULT_LIMIT).isEqualTo(50);
    assertThat(q.order()).isEqualTo(SessionQuery.Order.NEWEST_FIRST);
    assertThat(q.after()).isNull();
    assertThat(q.agentId()).isNull();
    assertThat(q.tag()).isNull();
    assertThat(q.status()).isNull();
  }

  @Test
  @DisplayName("a next page's cursor carries the last session's position, to the nanosecond")
  void cursorRoundTrip() {
    SessionQuery q = SessionQuery.builder().limit(2).build();
    SessionPage page =
        SessionPage.of(
            q,
            List.of(
                session("session_c", T0.plusSeconds(2)),
                session("session_b", T0),
                session("session_a", T0)));
    assertThat(page.sessions())
        .extracting(Session::friendlyId)
        .containsExactly("session_c", "session_b");
    assertThat(page.nextCursor()).isNotNull().matches("[A-Za-z0-9_-]+");
    SessionQuery next = SessionQuery.builder().limit(2).cursor(page.nextCursor()).build();
    assertThat(next.after()).isEqualTo(new SessionQuery.Position(T0, "session_b"));
    assertThat(next.isAfterPosition(session("session_a", T0))).isTrue();
    assertThat(next.isAfterPosition(session("session_b", T0))).isFalse();
    assertThat(next.isAfterPosition(session("session_c", T0))).isFalse();
  }

  @Test
  @DisplayName("a page with no more rows than its limit has no next cursor")
  void lastPage() {
    SessionQuery q = SessionQuery.builder().limit(2).build();
    assertThat(SessionPage.of(q, List.of(session("session_a", T0))).nextCursor()).isNull();
    assertThat(SessionPage.of(q, List.of()).nextCursor()).isNull();
  }

  @Test
  @DisplayName("a malformed cursor is refused naming it, whatever is wrong with it")
  void malformedCursor() {
    for (String bad :
        List.of(
            "not a cursor!",
            b64("x1:d:1:0:session_a"),
            b64("c1:z:1:0:session_a"),
            b64("c1:d:one:0:session_a"),
            b64("c1:d:1:0:chat-1"),
            b64("c1:d:1"))) {
      assertThatThrownBy(() -> SessionQuery.builder().cursor(bad))
          .as(bad)
          .isInstanceOf(InvalidInputException.class)
          .hasMessageStartingWith("cursor [")
          .hasMessageContaining("] is malformed");
    }
  }

  @Test
  @DisplayName("a cursor of a newest-first listing does not continue an oldest-first one")
  void cursorOrder() {
    String cursor = SessionQuery.all().cursorAfter(new SessionQuery.Position(T0, "session_a"));
    assertThatThrownBy(
            () ->
                SessionQuery.builder()
                    .cursor(cursor)
                    .order(SessionQuery.Order.OLDEST_FIRST)
                    .build())
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("cursor [" + cursor + "]")
        .hasMessageContaining("NEWEST_FIRST");
  }

  @Test
  @DisplayName("bad filters are refused naming them: limit, blank agent id or tag, empty ranges")
  void badFilters() {
    assertThatThrownBy(() -> SessionQuery.builder().limit(0))
        .isInstanceOf(InvalidInputException.class)
        .hasMessage("limit [0] must be between 1 and 500");
    assertThatThrownBy(() -> SessionQuery.builder().limit(501))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageStartingWith("limit [501]");
    assertThatThrownBy(() -> SessionQuery.builder().agentId(" "))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageStartingWith("agent id filter [ ]");
    assertThatThrownBy(() -> SessionQuery.builder().tag("x".repeat(513)))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageStartingWith("tag filter [");
    assertThatThrownBy(() -> SessionQuery.builder().created(T0, T0))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageStartingWith("created range [");
    assertThatThrownBy(() -> SessionQuery.builder().updated(T0.plusSeconds(1), T0))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageStartingWith("updated range [");
  }

  @Test
  @DisplayName("matches applies every filter; the status is taken at the given now")
  void matches() {
    Session s = session("session_a", T0);
    assertThat(SessionQuery.builder().agentId("agent").build().matches(s, T0)).isTrue();
    assertThat(SessionQuery.builder().agentId("other").build().matches(s, T0)).isFalse();
    assertThat(SessionQuery.builder().tag("t").build().matches(s, T0)).isFalse();
    assertThat(SessionQuery.builder().status(SessionStatus.ACTIVE).build().matches(s, T0)).isTrue();
    assertThat(SessionQuery.builder().status(SessionStatus.CLOSED).build().matches(s, T0))
        .isFalse();
    assertThat(SessionQuery.builder().created(T0, null).build().matches(s, T0)).isTrue();
    assertThat(SessionQuery.builder().created(null, T0).build().matches(s, T0)).isFalse();
  }

  private static String b64(String plain) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(plain.getBytes(StandardCharsets.UTF_8));
  }
}
