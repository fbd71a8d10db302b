package dev.durablechat.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.InEvent;
import dev.durablechat.api.Json;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.http.HttpFixture.Reply;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName(
    "every route, in/append first, under random and mutated requests (invariant 7, W3, W4, T2-T4)")
class AppendFuzzTest {
  private static final long SEED = 0x5eed_c4a7L;
  private static final int ROUNDS = 2500;
  private static final int ROUTE_ROUNDS = 800;
  private static final Set<Integer> ALLOWED = Set.of(200, 400, 413, 415, 422);

  private static final List<String> SEEDS =
      List.of(
          HttpFixture.submit("chat-z", "u1", "hello"),
          "{\"kind\":\"stop\"}",
          "{\"kind\":\"stop\",\"message\":\"because\"}",
          "{\"kind\":\"message\",\"payload\":{\"chatId\":\"chat-z\",\"trigger\":\"regenerate-message\"}}",
          "{\"kind\":\"message\",\"payload\":{\"chatId\":\"chat-z\",\"trigger\":\"action\",\"action\":{\"type\":\"undo\"}}}",
          "{\"kind\":\"message\",\"payload\":{\"chatId\":\"chat-z\",\"trigger\":\"submit-message\",\"metadata\":{\"a\":[1,2,{\"b\":null}]},\"message\":{\"id\":\"m\",\"role\":\"assistant\",\"parts\":[{\"type\":\"tool-x\",\"toolCallId\":\"c1\",\"state\":\"output-available\",\"output\":1}]}}}");

  private static final List<String> FRAGMENTS =
      List.of(
          "{",
          "}",
          "[",
          "]",
          ",",
          ":",
          "\"",
          "\\",
          "null",
          "true",
          "1e309",
          "-0",
          "\"kind\"",
          "\"message\"",
          "\"payload\"",
          "\"trigger\"",
          "\"submit-message\"",
          "\"close\"",
          "\"preload\"",
          "\"handover\"",
          "\"messages\":[{}]",
          "\"parts\":7",
          "\"role\":\"robot\"",
          "\u0000",
          "\ud83d\ude00",
          "\\u0000",
          "\\ud800",
          "{\"kind\":\"message\"}",
          "[[[[[[[[",
          "\"id\":{}",
          "NaN",
          "01",
          "\"chatId\":\"\"");

  @Test
  @DisplayName(
      "a few thousand random or mutated bodies: never a 5xx, every refusal a JSON error, only valid records stored")
  void fuzz() {
    // Thousands of appends with one token: far above the default rate limit (T4).
    try (var f = new HttpFixture(b -> b.appendRateLimit(1_000_000, Duration.ofSeconds(1)))) {
      String token = f.createSession("chat-z", "echo").string("publicAccessToken").orElseThrow();
      var random = new Random(SEED);
      int stored = 0;
      int refused = 0;
      for (int i = 0; i < ROUNDS; i++) {
        byte[] body = body(random);
        HttpRequest.Builder request = f.appendRequest("chat-z", token);
        if (random.nextInt(40) == 0) {
          request.setHeader(
              "Content-Type",
              random.nextBoolean() ? "text/plain" : "application/x-www-form-urlencoded");
        }
        if (random.nextInt(10) == 0) {
          request.header("X-Part-Id", "p" + random.nextInt(20));
        }
        long before = f.lastIn("chat-z");
        Reply r = f.send(request.POST(HttpRequest.BodyPublishers.ofByteArray(body)));
        String shown = new String(body, 0, Math.min(body.length, 300), StandardCharsets.UTF_8);
        if (r.status() == 409) {
          // A fuzzed close record closed the session (the agent serves it after the answer).
          assertThat(r.json().string("code")).contains("session_closed");
          assertThat(f.chat.session("chat-z").closedAt()).isNotNull();
          assertThat(f.lastIn("chat-z")).isEqualTo(before);
          break;
        }
        assertThat(r.status()).as("round %d, body %s → %s", i, shown, r.body()).isIn(ALLOWED);
        assertThat(r.header("access-control-allow-origin")).isEqualTo("*");
        if (r.status() == 200) {
          if (r.json().has("seq")) {
            stored++;
            assertThat(f.lastIn("chat-z")).isEqualTo(before + 1);
          } else {
            assertThat(f.lastIn("chat-z")).isEqualTo(before);
          }
        } else {
          refused++;
          assertThat(r.json().string("error")).as(shown).isPresent();
          assertThat(f.lastIn("chat-z")).as("round %d stored nothing", i).isEqualTo(before);
        }
        if (f.chat.session("chat-z").closedAt() != null) {
          // A fuzzed close record closed the session: carry on with a fresh one.
          f.chat.closeSession("chat-z", "fuzz");
          break;
        }
      }
      assertThat(stored).isGreaterThan(50);
      assertThat(refused).isGreaterThan(ROUNDS / 4);
      // Every stored record decodes as a valid in record (W2, W3).
      List<StreamRecord<InEvent>> all = new ArrayList<>();
      long after = 0;
      while (true) {
        var page = f.chat.readIn("chat-z", after, 500);
        if (page.isEmpty()) {
          break;
        }
        all.addAll(page);
        after = page.get(page.size() - 1).eventId();
      }
      assertThat(all).hasSize(stored);
    }
  }

  private static final List<String> PATHS =
      List.of(
          "/realtime/v1/sessions/chat-y/in/append",
          "/realtime/v1/sessions/chat-y/out",
          "/realtime/v1/sessions/%63hat-y/out",
          "/realtime/v1/sessions/chat-nope/in/append",
          "/realtime/v1/sessions/%E2%82/out",
          "/realtime/v1/sessions//in/append",
          "/api/v1/sessions",
          "/api/v1/sessions/",
          "/api/v1/sessions/chat-x/close",
          "/api/v1/sessions/chat-fuzz-made/close",
          "/api/v1/auth/jwt/claims",
          "/nowhere");

  private static final List<String> METHODS = List.of("GET", "POST", "POST", "OPTIONS", "PUT");

  private static final List<String> SESSION_SEEDS =
      List.of(
          "{\"type\":\"chat.agent\",\"externalId\":\"chat-fuzz-made\",\"taskIdentifier\":\"echo\",\"triggerConfig\":{\"basePayload\":{\"chatId\":\"chat-fuzz-made\",\"messages\":[],\"metadata\":{}},\"tags\":[\"t\"],\"idleTimeoutInSeconds\":5,\"maxAttempts\":2}}",
          "{\"taskIdentifier\":\"typed\",\"externalId\":\"chat-fuzz-typed\",\"metadata\":{\"seats\":2},\"expiresAt\":\"2099-01-01T00:00:00Z\"}",
          "{\"reason\":\"fuzz\"}",
          "{}");

  @Test
  @DisplayName(
      "every route under random methods, paths, bearers, origins, headers and bodies: never a 5xx,"
          + " every refusal a JSON error, a refused origin never granted, nothing stored by a"
          + " refusal")
  void everyRoute() throws Exception {
    try (var f =
        new HttpFixture(
            b -> b.appendRateLimit(1_000_000, Duration.ofSeconds(1)).maxHeaderBytes(4096))) {
      String token = f.createSession("chat-y", "echo").string("publicAccessToken").orElseThrow();
      f.createSession("chat-x", "echo"); // the close route's target: chat-y stays open
      String readOnly =
          f.http.mintSessionToken("chat-y", SessionTokens.Access.READ_ONLY, Duration.ofMinutes(5));
      List<String> bearers =
          List.of(
              HttpFixture.SECRET,
              token,
              readOnly,
              token.substring(0, token.length() - 2),
              SecuritySuiteTest.algNone(token),
              "garbage",
              "");
      var random = new Random(SEED + 1);
      int answered = 0;
      for (int i = 0; i < ROUTE_ROUNDS; i++) {
        String path = PATHS.get(random.nextInt(PATHS.size()));
        String method = METHODS.get(random.nextInt(METHODS.size()));
        byte[] body = routeBody(random);
        HttpRequest.Builder request = HttpRequest.newBuilder(f.uri(path)).timeout(HttpFixture.WAIT);
        String bearer = bearers.get(random.nextInt(bearers.size()));
        if (random.nextInt(8) != 0) {
          request.header("Authorization", "Bearer " + bearer);
        }
        if (random.nextInt(6) != 0) {
          request.header(
              "Content-Type", random.nextInt(10) == 0 ? "text/plain" : "application/json");
        }
        String origin =
            switch (random.nextInt(4)) {
              case 0 -> HttpFixture.ORIGIN;
              case 1 -> "https://evil.example";
              default -> null;
            };
        if (origin != null) {
          request.header("Origin", origin);
        }
        if (random.nextInt(5) == 0) {
          request.header(
              "Last-Event-ID",
              List.of("0", "-1", "9999999999999999999999", "3-2", "x").get(random.nextInt(5)));
        }
        if (random.nextInt(5) == 0) {
          request.header("Timeout-Seconds", List.of("0", "1", "-5", "zz").get(random.nextInt(4)));
        }
        if (random.nextInt(5) == 0) {
          request.header("X-Peek-Settled", "1");
        }
        if (random.nextInt(30) == 0) {
          request.header("X-Padding", "p".repeat(5000));
        }
        long inBefore = f.lastIn("chat-y");
        request.method(method, HttpRequest.BodyPublishers.ofByteArray(body));
        HttpResponse<InputStream> response;
        try {
          response = f.client.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
          // No answer at all (e.g. the connection was closed under it): name the request.
          throw new AssertionError(
              "round " + i + ": " + method + " " + path + " with " + body.length + " body bytes",
              e);
        }
        int status = response.statusCode();
        String contentType = response.headers().firstValue("content-type").orElse("");
        String text;
        if (contentType.startsWith("text/event-stream")) {
          response.body().close(); // an open out stream: its answer is the headers
          text = "";
        } else {
          try (var in = response.body()) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
          }
        }
        String shown = method + " " + path + " → " + status + " " + text;
        assertThat(status).as("round %d: %s", i, shown).isLessThan(500);
        if ("https://evil.example".equals(origin)) {
          // 403 from the routes; Jetty answers a request it cannot parse (400, 431) itself. Never a
          // grant to that origin.
          assertThat(status).as(shown).isIn(400, 403, 431);
          assertThat(response.headers().firstValue("access-control-allow-origin"))
              .as(shown)
              .isNotEqualTo(java.util.Optional.of(origin));
          if (status == 403) {
            assertThat(response.headers().firstValue("access-control-allow-origin")).isEmpty();
          }
        }
        if (status >= 400 && !method.equals("OPTIONS")) {
          assertThat(contentType).as(shown).startsWith("application/json");
          assertThat(Json.parseObject(text).string("error")).as(shown).isPresent();
        }
        if (!(status == 200 && path.endsWith("/in/append"))) {
          assertThat(f.lastIn("chat-y"))
              .as("round %d stored nothing: %s", i, shown)
              .isEqualTo(inBefore);
        }
        if (f.chat.session("chat-y").closedAt() != null) {
          // A fuzzed close closed the chat: the rest of the rounds have nothing to aim at.
          break;
        }
        answered++;
      }
      assertThat(answered).isGreaterThan(ROUTE_ROUNDS / 2);
    }
  }

  private static byte[] routeBody(Random random) {
    if (random.nextInt(3) == 0) {
      return body(random);
    }
    String seed = SESSION_SEEDS.get(random.nextInt(SESSION_SEEDS.size()));
    return switch (random.nextInt(4)) {
      case 0 -> insert(random, seed);
      case 1 -> flip(random, seed);
      default -> seed.getBytes(StandardCharsets.UTF_8);
    };
  }

  private static byte[] body(Random random) {
    if (random.nextInt(50) == 0) {
      return oversize(random);
    }
    switch (random.nextInt(7)) {
      case 0:
        return randomBytes(random);
      case 1:
        return truncate(random, seed(random));
      case 2:
        return insert(random, seed(random));
      case 3:
        return flip(random, seed(random));
      default:
        return seed(random).getBytes(StandardCharsets.UTF_8);
    }
  }

  private static String seed(Random random) {
    return SEEDS.get(random.nextInt(SEEDS.size()));
  }

  private static byte[] randomBytes(Random random) {
    byte[] b = new byte[random.nextInt(200)];
    random.nextBytes(b);
    return b;
  }

  private static byte[] truncate(Random random, String s) {
    return s.substring(0, random.nextInt(s.length())).getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] insert(Random random, String s) {
    var sb = new StringBuilder(s);
    int n = 1 + random.nextInt(3);
    for (int i = 0; i < n; i++) {
      sb.insert(random.nextInt(sb.length() + 1), FRAGMENTS.get(random.nextInt(FRAGMENTS.size())));
    }
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] flip(Random random, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    int n = 1 + random.nextInt(4);
    for (int i = 0; i < n; i++) {
      b[random.nextInt(b.length)] = (byte) random.nextInt(256);
    }
    return b;
  }

  private static byte[] oversize(Random random) {
    int size = 512 * 1024 - 200 + random.nextInt(400);
    String text = "z".repeat(size);
    return HttpFixture.submit("chat-z", "big", text).getBytes(StandardCharsets.UTF_8);
  }
}
