package dev.durablechat.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonNull;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.Session;
import dev.durablechat.api.TriggerConfig;
import dev.durablechat.core.CreateSessionRequest;
import dev.durablechat.http.HttpFixture.Reply;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("GET /api/v1/sessions (keyset pages, filters) and GET /api/v1/sessions/{id}")
class SessionListRouteTest {
  private final HttpFixture f = new HttpFixture();

  @AfterEach
  void close() {
    f.close();
  }

  private Reply get(String pathAndQuery, String token) {
    return f.send(
        HttpRequest.newBuilder(f.uri(pathAndQuery))
            .header("Authorization", "Bearer " + token)
            .GET());
  }

  private Session create(String chatId, String agent, List<String> tags) {
    return f.chat
        .createSession(
            CreateSessionRequest.builder(agent)
                .externalId(chatId)
                .triggerConfig(new TriggerConfig(null, null, tags, null, null, JsonObject.empty()))
                .build())
        .session();
  }

  private static List<String> newestFirst(List<Session> sessions) {
    return sessions.stream()
        .sorted(
            Comparator.comparing(Session::createdAt).thenComparing(Session::friendlyId).reversed())
        .map(Session::friendlyId)
        .toList();
  }

  /** Follows nextCursor from the first page; returns the ids in the order listed. */
  private List<String> listAll(String filters) {
    var ids = new ArrayList<String>();
    String cursor = null;
    int pages = 0;
    do {
      String q =
          filters
              + (cursor == null
                  ? ""
                  : "&cursor=" + URLEncoder.encode(cursor, StandardCharsets.UTF_8));
      Reply r = get("/api/v1/sessions?" + q, HttpFixture.SECRET);
      assertThat(r.status()).as(r.body()).isEqualTo(200);
      JsonObject page = r.json();
      for (JsonValue item : ((JsonArray) page.get("data")).elements()) {
        ids.add(((JsonObject) item).string("id").orElseThrow());
      }
      cursor =
          page.get("nextCursor") instanceof JsonNull
              ? null
              : page.string("nextCursor").orElseThrow();
      assertThat(++pages).isLessThan(100);
    } while (cursor != null);
    return ids;
  }

  @Test
  @DisplayName(
      "the list pages newest first through every session exactly once, each item a session as"
          + " POST returns it, and ends with nextCursor null")
  void pagesThroughAll() {
    var created = new ArrayList<Session>();
    for (int i = 0; i < 7; i++) {
      created.add(create("chat-" + i, "echo", List.of()));
    }
    assertThat(listAll("limit=3")).isEqualTo(newestFirst(created));
    Reply first = get("/api/v1/sessions?limit=3", HttpFixture.SECRET);
    JsonObject item = (JsonObject) ((JsonArray) first.json().get("data")).get(0);
    assertThat(item.members().keySet())
        .contains(
            "id", "externalId", "taskIdentifier", "tags", "closedAt", "createdAt", "updatedAt");
    assertThat(first.json().string("nextCursor")).isPresent();
  }

  @Test
  @DisplayName("agentId, tag and status filter the list, alone and together")
  void filters() {
    Session a1 = create("a1", "echo", List.of("vip"));
    Session a2 = create("a2", "echo", List.of());
    Session b1 = create("b1", "quick", List.of("vip", "beta"));
    f.chat.closeSession("a2", "done");
    assertThat(listAll("agentId=echo")).isEqualTo(newestFirst(List.of(a1, a2)));
    assertThat(listAll("tag=vip&limit=1")).isEqualTo(newestFirst(List.of(a1, b1)));
    assertThat(listAll("tag=vip&agentId=quick")).containsExactly(b1.friendlyId());
    assertThat(listAll("status=closed")).containsExactly(a2.friendlyId());
    assertThat(listAll("status=open")).isEqualTo(newestFirst(List.of(a1, b1)));
    assertThat(listAll("status=expired")).isEmpty();
    assertThat(listAll("agentId=&tag=")).as("empty values filter nothing").hasSize(3);
  }

  @Test
  @DisplayName("a malformed cursor, limit or status, or an unknown parameter, is a 400 naming it")
  void badQueries() {
    Reply cursor = get("/api/v1/sessions?cursor=nope!", HttpFixture.SECRET);
    assertThat(cursor.status()).isEqualTo(400);
    assertThat(cursor.error()).startsWith("cursor [nope!] is malformed");
    assertThat(cursor.json().string("code")).contains("invalid_query");
    Reply limit = get("/api/v1/sessions?limit=0", HttpFixture.SECRET);
    assertThat(limit.status()).isEqualTo(400);
    assertThat(limit.error()).startsWith("limit [0]");
    Reply notNumber = get("/api/v1/sessions?limit=ten", HttpFixture.SECRET);
    assertThat(notNumber.status()).isEqualTo(400);
    assertThat(notNumber.error()).startsWith("limit [ten]");
    Reply status = get("/api/v1/sessions?status=paused", HttpFixture.SECRET);
    assertThat(status.status()).isEqualTo(400);
    assertThat(status.error()).isEqualTo("status [paused] must be one of [open, closed, expired]");
    Reply unknown = get("/api/v1/sessions?agent=echo", HttpFixture.SECRET);
    assertThat(unknown.status()).isEqualTo(400);
    assertThat(unknown.error()).startsWith("query parameter [agent] is unknown");
    Reply twice = get("/api/v1/sessions?tag=a&tag=b", HttpFixture.SECRET);
    assertThat(twice.status()).isEqualTo(400);
    assertThat(twice.error()).contains("[tag]");
  }

  @Test
  @DisplayName("the list and the get need the secret key: a session token gets a 403 (T1)")
  void secretOnly() {
    String token = f.createSession("chat-t", "echo").string("publicAccessToken").orElseThrow();
    assertThat(get("/api/v1/sessions", token).status()).isEqualTo(403);
    assertThat(get("/api/v1/sessions/chat-t", token).status()).isEqualTo(403);
    assertThat(get("/api/v1/sessions", "wrong").status()).isEqualTo(401);
  }

  @Test
  @DisplayName(
      "GET /api/v1/sessions/{id} returns the session with its runs, by friendly or external id;"
          + " an unknown id is a 404")
  void getWithRuns() {
    JsonObject made = f.createSession("chat-g", "echo");
    String id = made.string("id").orElseThrow();
    for (String address : List.of(id, "chat-g")) {
      Reply r = get("/api/v1/sessions/" + address, HttpFixture.SECRET);
      assertThat(r.status()).as(r.body()).isEqualTo(200);
      JsonObject body = r.json();
      assertThat(body.string("id")).contains(id);
      assertThat(body.string("externalId")).contains("chat-g");
      JsonArray runs = (JsonArray) body.get("runs");
      assertThat(runs.elements()).hasSize(1);
      JsonObject run = (JsonObject) runs.get(0);
      assertThat(run.string("id")).isEqualTo(made.string("runId"));
      assertThat(run.string("reason")).isPresent();
      assertThat(run.string("startedAt")).isPresent();
      assertThat(run.members().keySet())
          .contains("previousRunId", "endedAt", "endReason", "renewedAt");
    }
    Reply missing = get("/api/v1/sessions/chat-missing", HttpFixture.SECRET);
    assertThat(missing.status()).isEqualTo(404);
    assertThat(missing.error()).contains("[chat-missing]");
  }

  @Test
  @DisplayName("the collection takes GET and POST; another method is a 405 naming both")
  void methods() {
    Reply r =
        f.send(
            HttpRequest.newBuilder(f.uri("/api/v1/sessions"))
                .header("Authorization", "Bearer " + HttpFixture.SECRET)
                .method("PUT", HttpRequest.BodyPublishers.noBody()));
    assertThat(r.status()).isEqualTo(405);
    assertThat(r.header("Allow")).isEqualTo("GET, POST, OPTIONS");
  }
}
