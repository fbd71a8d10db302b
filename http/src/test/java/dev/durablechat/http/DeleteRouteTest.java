package dev.durablechat.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.StreamKind;
import dev.durablechat.http.HttpFixture.Reply;
import dev.durablechat.http.SseReader.Event;
import dev.durablechat.http.SseReader.WireRecord;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("DELETE /api/v1/sessions/{id} (S11, http.md §3)")
class DeleteRouteTest {
  private final HttpFixture f = new HttpFixture();

  @AfterEach
  void close() {
    f.close();
  }

  private Reply delete(String address, String token) {
    return f.send(
        HttpRequest.newBuilder(f.uri("/api/v1/sessions/" + address))
            .header("Authorization", "Bearer " + token)
            .DELETE());
  }

  @Test
  @DisplayName("S11: 204 with no body deletes the session; a second delete is 404 naming it")
  void deleteThenNotFound() {
    String token = f.createSession("chat-d").string("publicAccessToken").orElseThrow();
    f.append("chat-d", token, HttpFixture.submit("chat-d", "u1", "hi"));
    HttpFixture.await(
        "the reply is stored", () -> f.chat.lastEventId("chat-d", StreamKind.OUT) > 0);

    Reply deleted = delete("chat-d", HttpFixture.SECRET);

    assertThat(deleted.status()).isEqualTo(204);
    assertThat(deleted.body()).isEmpty();
    assertThatThrownBy(() -> f.chat.session("chat-d")).isInstanceOf(NoSuchSessionException.class);
    Reply again = delete("chat-d", HttpFixture.SECRET);
    assertThat(again.status()).isEqualTo(404);
    assertThat(again.body()).contains("session_not_found").contains("chat-d");
  }

  @Test
  @DisplayName("S11: an unknown id is 404, by external and by friendly id")
  void unknownIsNotFound() {
    assertThat(delete("nobody", HttpFixture.SECRET).status()).isEqualTo(404);
    assertThat(delete("session_nobody", HttpFixture.SECRET).status()).isEqualTo(404);
  }

  @Test
  @DisplayName("S11: a session token cannot delete (secret key only); nothing is deleted")
  void needsTheSecretKey() {
    String token = f.createSession("chat-t").string("publicAccessToken").orElseThrow();

    Reply refused = delete("chat-t", token);

    assertThat(refused.status()).isIn(401, 403);
    assertThat(f.chat.session("chat-t").externalId()).isEqualTo("chat-t");
  }

  @Test
  @DisplayName("S11: the same external id is created afresh after a delete: 201, a new friendly id")
  void recreateAfterDelete() {
    String before = f.createSession("chat-r").string("id").orElseThrow();
    assertThat(delete("chat-r", HttpFixture.SECRET).status()).isEqualTo(204);

    Reply created =
        f.post(
            "/api/v1/sessions",
            HttpFixture.SECRET,
            "{\"type\":\"chat.agent\",\"externalId\":\"chat-r\",\"taskIdentifier\":\"echo\"}");

    assertThat(created.status()).isEqualTo(201);
    assertThat(created.json().string("id").orElseThrow()).isNotEqualTo(before);
    assertThat(created.json().get("isCached").toString()).isEqualTo("false");
    String token = created.json().string("publicAccessToken").orElseThrow();
    assertThat(f.append("chat-r", token, HttpFixture.submit("chat-r", "u1", "again")).status())
        .isBetween(200, 299);
    assertThat(f.chat.lastEventId("chat-r", StreamKind.IN)).isEqualTo(1);
  }

  @Test
  @DisplayName(
      "S11: a reader following out ends with session-closed, reason deleted, then the stream ends")
  void readerEndsWithDeleted() {
    String token = f.createSession("chat-f").string("publicAccessToken").orElseThrow();
    f.append("chat-f", token, HttpFixture.submit("chat-f", "u1", "hi"));
    try (SseReader sse = f.openOut("chat-f", token, Map.of())) {
      List<WireRecord> before = sse.recordsUntil(WireRecord::isTurnComplete, HttpFixture.WAIT);
      long last = before.get(before.size() - 1).seq();

      assertThat(delete("chat-f", HttpFixture.SECRET).status()).isEqualTo(204);

      List<WireRecord> after =
          sse.recordsUntil(
              r -> r.control().filter("session-closed"::equals).isPresent(), HttpFixture.WAIT);
      WireRecord closed = after.get(after.size() - 1);
      assertThat(closed.header("session-closed-reason")).contains("deleted");
      assertThat(closed.seq()).isGreaterThan(last);
      assertThat(sse.untilEnd(Duration.ofSeconds(5))).noneMatch(Event::isBatch);
      assertThat(sse.ended()).isTrue();
    }
  }

  @Test
  @DisplayName("the CORS preflight allows DELETE")
  void preflightAllowsDelete() {
    Reply preflight =
        f.send(
            HttpRequest.newBuilder(f.uri("/api/v1/sessions/chat-x"))
                .header("Origin", HttpFixture.ORIGIN)
                .header("Access-Control-Request-Method", "DELETE")
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody()));
    assertThat(preflight.status()).isEqualTo(204);
    assertThat(preflight.header("Access-Control-Allow-Methods")).contains("DELETE");
  }
}
