package dev.durablechat.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonNull;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.RunReason;
import dev.durablechat.http.HttpFixture.Reply;
import java.net.http.HttpRequest;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("POST /api/v1/sessions, /close, /auth/jwt/claims, preflight and CORS (http.md §3)")
class SessionsRouteTest {
  private static final List<String> KEYS =
      List.of(
          "id",
          "externalId",
          "type",
          "taskIdentifier",
          "tags",
          "metadata",
          "closedAt",
          "closedReason",
          "expiresAt",
          "createdAt",
          "updatedAt",
          "runId",
          "publicAccessToken",
          "isCached",
          "triggerConfig",
          "currentRunId");

  private final HttpFixture f = new HttpFixture();

  @AfterEach
  void close() {
    f.close();
  }

  private Reply create(String body) {
    return f.post("/api/v1/sessions", HttpFixture.SECRET, body);
  }

  private static String body(String chatId, String trigger) {
    return "{\"type\":\"chat.agent\",\"externalId\":\""
        + chatId
        + "\",\"taskIdentifier\":\"echo\",\"triggerConfig\":{\"basePayload\":{\"trigger\":\""
        + trigger
        + "\",\"chatId\":\""
        + chatId
        + "\",\"metadata\":{\"plan\":\"pro\"},\"messages\":[]},\"tags\":[\"chat:"
        + chatId
        + "\"],\"idleTimeoutInSeconds\":60,\"maxAttempts\":3,\"machine\":\"small-1x\"},\"metadata\":{\"a\":1}}";
  }

  @Test
  @DisplayName(
      "S1: 201 for a new session with every key the clients validate; 200 isCached:true for the same externalId, same row")
  void createIdempotent() {
    Reply first = create(body("chat-1", "trigger"));
    assertThat(first.status()).isEqualTo(201);
    JsonObject j = first.json();
    assertThat(j.members().keySet()).containsAll(KEYS);
    assertThat(j.string("id")).hasValueSatisfying(id -> assertThat(id).startsWith("session_"));
    assertThat(j.string("externalId")).contains("chat-1");
    assertThat(j.string("type")).contains("chat.agent");
    assertThat(j.string("taskIdentifier")).contains("echo");
    assertThat(((JsonArray) j.get("tags")).elements()).hasSize(1);
    assertThat(j.get("metadata")).isInstanceOf(JsonObject.class);
    assertThat(j.get("closedAt")).isEqualTo(JsonNull.INSTANCE);
    assertThat(j.get("closedReason")).isEqualTo(JsonNull.INSTANCE);
    assertThat(j.get("expiresAt")).isEqualTo(JsonNull.INSTANCE);
    assertThat(Instant.parse(j.string("createdAt").orElseThrow())).isBeforeOrEqualTo(Instant.now());
    assertThat(j.string("runId")).isEqualTo(j.string("currentRunId"));
    assertThat(j.get("isCached")).hasToString("false");
    assertThat(((JsonObject) j.get("triggerConfig")).get("basePayload"))
        .isInstanceOf(JsonObject.class);
    String token = j.string("publicAccessToken").orElseThrow();
    assertThat(f.append("chat-1", token, HttpFixture.submit("chat-1", "u1", "hi")).status())
        .isEqualTo(200);

    Reply again = create(body("chat-1", "trigger"));
    assertThat(again.status()).isEqualTo(200);
    assertThat(again.json().get("isCached")).hasToString("true");
    assertThat(again.json().string("id")).isEqualTo(j.string("id"));
    assertThat(again.json().string("runId")).isEqualTo(j.string("runId"));
    assertThat(f.chat.runs("chat-1")).hasSize(1);
    assertThat(again.json().string("publicAccessToken")).isPresent();
  }

  @Test
  @DisplayName(
      "L1: basePayload.trigger preload starts the first run with reason preload; S9: the trigger config is kept server side")
  void preload() {
    assertThat(create(body("chat-p", "preload")).status()).isEqualTo(201);
    assertThat(f.chat.runs("chat-p").get(0).reason()).isEqualTo(RunReason.PRELOAD);
    var config = f.chat.session("chat-p").triggerConfig();
    assertThat(config.maxAttempts()).isEqualTo(3);
    assertThat(config.machine()).isEqualTo("small-1x");
    assertThat(config.tags()).containsExactly("chat:chat-p");
    assertThat(config.basePayload().string("trigger")).contains("preload");
  }

  @Test
  @DisplayName(
      "S5: create on a closed session is 409 with x-should-retry: false and triggers nothing")
  void closed() {
    create(body("chat-c", "trigger"));
    f.chat.closeSession("chat-c", "gone");
    Reply r = create(body("chat-c", "trigger"));
    assertThat(r.status()).isEqualTo(409);
    assertThat(r.header("x-should-retry")).isEqualTo("false");
    assertThat(r.json().string("code")).contains("session_closed");
    assertThat(r.json().string("closedReason")).contains("gone");
    assertThat(f.chat.runs("chat-c")).hasSize(1);
  }

  @Test
  @DisplayName(
      "S4: expiresAt is kept on the session; a past one is refused (422) and creates nothing")
  void expiresAt() {
    Instant at = Instant.now().plusSeconds(3600).truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
    Reply r =
        create(
            "{\"externalId\":\"chat-e\",\"taskIdentifier\":\"echo\",\"expiresAt\":\"" + at + "\"}");
    assertThat(r.status()).isEqualTo(201);
    assertThat(r.json().string("expiresAt")).contains(at.toString());
    assertThat(f.chat.session("chat-e").expiresAt()).isEqualTo(at);
    assertThat(
            create(
                    "{\"externalId\":\"chat-e2\",\"taskIdentifier\":\"echo\",\"expiresAt\":"
                        + Instant.now().minusSeconds(60).toEpochMilli()
                        + "}")
                .status())
        .isEqualTo(422);
    assertThat(
            create(
                    "{\"externalId\":\"chat-e3\",\"taskIdentifier\":\"echo\",\"expiresAt\":\"soon\"}")
                .error())
        .contains("expiresAt");
    assertThatThrownBy(() -> f.chat.session("chat-e2")).isInstanceOf(NoSuchSessionException.class);
    assertThatThrownBy(() -> f.chat.session("chat-e3")).isInstanceOf(NoSuchSessionException.class);
  }

  @Test
  @DisplayName(
      "client data that does not bind to the agent's type is 422 naming the field; nothing is created")
  void clientDataBinding() {
    Reply bad =
        create(
            "{\"externalId\":\"chat-t\",\"taskIdentifier\":\"typed\",\"expiresAt\":\""
                + Instant.now().plusSeconds(60)
                + "\",\"triggerConfig\":{\"basePayload\":{\"metadata\":{\"seats\":\"many\"}}}}");
    assertThat(bad.status()).isEqualTo(422);
    assertThat(bad.error()).contains("clientData.seats");
    assertThatThrownBy(() -> f.chat.session("chat-t")).isInstanceOf(NoSuchSessionException.class);
    Reply good =
        create(
            "{\"externalId\":\"chat-t\",\"taskIdentifier\":\"typed\",\"triggerConfig\":{\"basePayload\":{\"metadata\":{\"seats\":3}}}}");
    assertThat(good.status()).isEqualTo(201);
    assertThat(good.json().get("metadata")).hasToString("{\"seats\":3}");
  }

  @Test
  @DisplayName("an unknown taskIdentifier is 404 naming the task; nothing is created")
  void unknownTask() {
    Reply r =
        create(
            "{\"type\":\"chat.agent\",\"externalId\":\"chat-x\",\"taskIdentifier\":\"nobody\",\"triggerConfig\":{\"basePayload\":{}}}");
    assertThat(r.status()).isEqualTo(404);
    assertThat(r.error()).contains("nobody");
    assertThatThrownBy(() -> f.chat.session("chat-x")).isInstanceOf(NoSuchSessionException.class);
  }

  @Test
  @DisplayName("invariant 7: bad create bodies are 400/422 naming the field; nothing is created")
  void badCreate() {
    record Case(String body, int status, String names) {}
    for (Case c :
        List.of(
            new Case("{", 400, "json"),
            new Case("{\"externalId\":\"chat-y\"}", 422, "taskIdentifier"),
            new Case("{\"externalId\":\"chat-y\",\"taskIdentifier\":5}", 422, "taskIdentifier"),
            new Case(
                "{\"externalId\":\"chat-y\",\"taskIdentifier\":\"echo\",\"triggerConfig\":[]}",
                422,
                "triggerConfig"),
            new Case(
                "{\"externalId\":\"chat-y\",\"taskIdentifier\":\"echo\",\"triggerConfig\":{\"maxAttempts\":\"x\"}}",
                422,
                "triggerConfig.maxAttempts"),
            new Case(
                "{\"externalId\":\"chat-y\",\"taskIdentifier\":\"echo\",\"triggerConfig\":{\"idleTimeoutInSeconds\":0}}",
                422,
                "idleTimeoutInSeconds"),
            new Case(
                "{\"externalId\":\"chat-y\",\"taskIdentifier\":\"echo\",\"triggerConfig\":{\"tags\":[1]}}",
                422,
                "tags"),
            new Case(
                "{\"externalId\":\"session_abc\",\"taskIdentifier\":\"echo\"}", 422, "session_"),
            new Case("{\"externalId\":\"   \",\"taskIdentifier\":\"echo\"}", 422, "blank"),
            new Case(
                "{\"externalId\":\"chat-y\",\"taskIdentifier\":\"echo\",\"triggerConfig\":{\"machine\":\"tiny\"}}",
                422,
                "triggerConfig.machine"),
            new Case(
                "{\"externalId\":\"chat-y\",\"taskIdentifier\":\"echo\",\"triggerConfig\":{\"maxAttempts\":11}}",
                422,
                "maxAttempts"))) {
      Reply r = create(c.body());
      assertThat(r.status()).as(c.body() + " → " + r.body()).isEqualTo(c.status());
      assertThat(r.error()).as(c.body()).containsIgnoringCase(c.names());
      assertThat(r.header("access-control-allow-origin")).isEqualTo("*");
    }
    assertThatThrownBy(() -> f.chat.session("chat-y")).isInstanceOf(NoSuchSessionException.class);
  }

  @Test
  @DisplayName("POST /api/v1/auth/jwt/claims answers {sub:<environment id>, pub:true}")
  void claims() {
    Reply r = f.post("/api/v1/auth/jwt/claims", HttpFixture.SECRET, "{}");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.json().string("sub")).contains("env_proj_test");
    assertThat(r.json().get("pub")).hasToString("true");
  }

  @Test
  @DisplayName(
      "S4: close sets closedAt and the reason; a second close keeps the first reason; unknown is 404")
  void closeRoute() {
    create(body("chat-z", "trigger"));
    Reply r = f.post("/api/v1/sessions/chat-z/close", HttpFixture.SECRET, "{\"reason\":\"first\"}");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.json().string("closedReason")).contains("first");
    assertThat(r.json().string("closedAt")).isPresent();
    Reply again =
        f.post("/api/v1/sessions/chat-z/close", HttpFixture.SECRET, "{\"reason\":\"second\"}");
    assertThat(again.status()).isEqualTo(200);
    assertThat(again.json().string("closedReason")).contains("first");
    String friendly = r.json().string("id").orElseThrow();
    assertThat(f.post("/api/v1/sessions/" + friendly + "/close", HttpFixture.SECRET, "").status())
        .isEqualTo(200);
    assertThat(f.post("/api/v1/sessions/nope/close", HttpFixture.SECRET, "{}").status())
        .isEqualTo(404);
    assertThat(
            f.post("/api/v1/sessions/chat-z/close", HttpFixture.SECRET, "{\"reason\":5}").status())
        .isEqualTo(422);
  }

  @Test
  @DisplayName(
      "OPTIONS preflight: 204 allowing the methods and the requested headers, for an allowed origin")
  void preflight() {
    Reply r =
        f.send(
            HttpRequest.newBuilder(f.uri("/realtime/v1/sessions/chat-1/in/append"))
                .header("Origin", "https://app.example")
                .header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "authorization, content-type, x-part-id")
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody()));
    assertThat(r.status()).isEqualTo(204);
    assertThat(r.header("access-control-allow-origin")).isEqualTo("https://app.example");
    assertThat(r.header("access-control-allow-methods")).contains("POST").contains("GET");
    assertThat(r.header("access-control-allow-headers")).contains("x-part-id");
  }

  @Test
  @DisplayName("W4: CORS headers ride on every error too (401, 404 route, 405)")
  void corsOnErrors() {
    Reply noAuth =
        f.send(
            HttpRequest.newBuilder(f.uri("/api/v1/sessions"))
                .header("Origin", "https://app.example")
                .POST(HttpRequest.BodyPublishers.ofString("{}")));
    assertThat(noAuth.status()).isEqualTo(401);
    assertThat(noAuth.header("access-control-allow-origin")).isEqualTo("https://app.example");
    assertThat(noAuth.header("access-control-expose-headers")).isEqualTo("*");
    assertThat(noAuth.error()).contains("authorization");

    Reply noRoute = f.post("/nowhere", HttpFixture.SECRET, "{}");
    assertThat(noRoute.status()).isEqualTo(404);
    assertThat(noRoute.header("access-control-allow-origin")).isEqualTo("*");
    assertThat(noRoute.error()).contains("/nowhere");

    Reply wrongMethod =
        f.send(
            HttpRequest.newBuilder(f.uri("/api/v1/sessions"))
                .header("Authorization", "Bearer " + HttpFixture.SECRET)
                .method("PATCH", HttpRequest.BodyPublishers.noBody()));
    assertThat(wrongMethod.status()).isEqualTo(405);
    assertThat(wrongMethod.header("access-control-allow-origin")).isEqualTo("*");
  }

  @Test
  @DisplayName("an extra route (a chat page) is served beside the wire routes, with CORS")
  void extraRoute() {
    try (var g =
        new HttpFixture(
            b ->
                b.route(
                    "/chat",
                    new jakarta.servlet.http.HttpServlet() {
                      private static final long serialVersionUID = 1L;

                      @Override
                      protected void doGet(
                          jakarta.servlet.http.HttpServletRequest req,
                          jakarta.servlet.http.HttpServletResponse resp)
                          throws java.io.IOException {
                        resp.setContentType("text/html");
                        resp.getWriter().write("<html>chat</html>");
                      }
                    }))) {
      Reply r = g.send(HttpRequest.newBuilder(g.uri("/chat")).GET());
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).contains("chat");
      assertThat(r.header("access-control-allow-origin")).isEqualTo("*");
    }
  }
}
