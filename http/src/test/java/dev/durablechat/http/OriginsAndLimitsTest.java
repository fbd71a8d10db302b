package dev.durablechat.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.auth0.jwt.JWT;
import dev.durablechat.http.HttpFixture.Reply;
import dev.durablechat.http.SseReader.WireRecord;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** T3, T4 on the real routes: read-only tokens, the origin allowlist, readers and rate limits. */
@DisplayName("Read-only tokens, origins and limits over the real routes (T3, T4)")
class OriginsAndLimitsTest {

  @Test
  @DisplayName(
      "T3: a read-only token reads out; the token its turn-complete hands out is read-only too")
  void readOnlyReadsAndIsRefreshedReadOnly() {
    try (var f = new HttpFixture()) {
      String rw = f.createSession("chat-ro").string("publicAccessToken").orElseThrow();
      String ro =
          f.http.mintSessionToken("chat-ro", SessionTokens.Access.READ_ONLY, Duration.ofMinutes(5));
      assertThat(f.append("chat-ro", ro, HttpFixture.submit("chat-ro", "u0", "no")).status())
          .isEqualTo(403);
      try (SseReader readOnly = f.openOut("chat-ro", ro, Map.of("Timeout-Seconds", "30"));
          SseReader readWrite = f.openOut("chat-ro", rw, Map.of("Timeout-Seconds", "30"))) {
        assertThat(readOnly.status()).isEqualTo(200);
        assertThat(f.append("chat-ro", rw, HttpFixture.submit("chat-ro", "u1", "hi")).status())
            .isEqualTo(200);
        String refreshedRo = refreshed(readOnly);
        String refreshedRw = refreshed(readWrite);
        assertThat(JWT.decode(refreshedRo).getClaim("scopes").asList(String.class))
            .containsExactly("read:sessions:chat-ro");
        assertThat(JWT.decode(refreshedRw).getClaim("scopes").asList(String.class))
            .containsExactlyInAnyOrder("read:sessions:chat-ro", "write:sessions:chat-ro");
        Reply refused = f.append("chat-ro", refreshedRo, HttpFixture.submit("chat-ro", "u2", "x"));
        assertThat(refused.status()).isEqualTo(403);
        assertThat(f.lastIn("chat-ro")).isEqualTo(1);
      }
    }
  }

  private static String refreshed(SseReader sse) {
    List<WireRecord> records =
        sse.recordsUntil(
            r -> r.control().filter("turn-complete"::equals).isPresent(), HttpFixture.WAIT);
    return records.get(records.size() - 1).header("public-access-token").orElseThrow();
  }

  @Test
  @DisplayName(
      "T4: a refused origin's preflight and out get no CORS grant; an allowed one's do, and so does"
          + " the adapter's own origin")
  void origins() {
    try (var f = new HttpFixture()) {
      String token = f.createSession("chat-o").string("publicAccessToken").orElseThrow();
      Reply refusedPreflight = preflight(f, "https://evil.example");
      assertThat(refusedPreflight.status()).isEqualTo(403);
      assertThat(refusedPreflight.header("access-control-allow-origin")).isNull();
      assertThat(refusedPreflight.header("access-control-allow-methods")).isNull();
      assertThat(refusedPreflight.header("access-control-allow-headers")).isNull();
      // The literal "null" origin (sandboxed frames, file: pages) is no origin of the list either.
      assertThat(preflight(f, "null").status()).isEqualTo(403);

      Reply allowed = preflight(f, HttpFixture.ORIGIN);
      assertThat(allowed.status()).isEqualTo(204);
      assertThat(allowed.header("access-control-allow-origin")).isEqualTo(HttpFixture.ORIGIN);
      String own = "http://127.0.0.1:" + f.http.port();
      assertThat(preflight(f, own).header("access-control-allow-origin")).isEqualTo(own);
      assertThat(f.http.servlet().allowedOrigins())
          .contains(HttpFixture.ORIGIN, own, "http://localhost:" + f.http.port());

      try (SseReader out = f.openOut("chat-o", token, Map.of("Origin", "https://evil.example"))) {
        assertThat(out.status()).isEqualTo(403);
        assertThat(out.header("access-control-allow-origin")).isNull();
      }
      Reply jetty =
          f.send(
              HttpRequest.newBuilder(f.uri("/api/v1/sessions"))
                  .header("Origin", "https://evil.example")
                  .header("X-Padding", "p".repeat(40_000))
                  .POST(HttpRequest.BodyPublishers.ofString("{}")));
      assertThat(jetty.status()).isEqualTo(431);
      // Jetty answers before it has read the headers: the origin is unknown, and the refusal
      // (which holds no data) is readable by any page, never granted to the refused origin by name.
      assertThat(jetty.header("access-control-allow-origin")).isEqualTo("*");
    }
  }

  @Test
  @DisplayName("T4: origins are checked when configured: a path or a wildcard is refused at build")
  void originsAreValidated() {
    try (var f = new HttpFixture()) {
      assertThatThrownBy(
              () -> SessionsServlet.builder(f.runtime).allowedOrigins("https://a.example/app"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("must be scheme://host[:port]");
      assertThatThrownBy(() -> SessionsServlet.builder(f.runtime).allowedOrigins("*"))
          .isInstanceOf(IllegalArgumentException.class);
      // Normalized as a browser sends it: lower case, no default port.
      var servlet =
          SessionsServlet.builder(f.runtime)
              .secretKeys(HttpFixture.SECRET)
              .allowedOrigins("HTTPS://App.Example:443", "http://b.example:8080")
              .build();
      assertThat(servlet.allowedOrigins())
          .containsExactlyInAnyOrder("https://app.example", "http://b.example:8080");
      servlet.destroy();
    }
  }

  private static Reply preflight(HttpFixture f, String origin) {
    return f.send(
        HttpRequest.newBuilder(f.uri("/realtime/v1/sessions/chat-o/in/append"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "authorization, content-type")
            .method("OPTIONS", HttpRequest.BodyPublishers.noBody()));
  }

  @Test
  @DisplayName(
      "T4: one out reader over the session's cap is a 429 with Retry-After; a reader that leaves"
          + " makes room; other sessions are not affected")
  void readerCap() {
    try (var f =
        new HttpFixture(b -> b.maxReadersPerSession(2).pingInterval(Duration.ofMillis(100)))) {
      String token = f.createSession("chat-r").string("publicAccessToken").orElseThrow();
      String other = f.createSession("chat-r2").string("publicAccessToken").orElseThrow();
      SseReader first = f.openOut("chat-r", token, Map.of("Timeout-Seconds", "60"));
      try (SseReader second = f.openOut("chat-r", token, Map.of("Timeout-Seconds", "60"));
          SseReader elsewhere = f.openOut("chat-r2", other, Map.of("Timeout-Seconds", "60"))) {
        assertThat(first.status()).isEqualTo(200);
        assertThat(second.status()).isEqualTo(200);
        assertThat(elsewhere.status()).isEqualTo(200);
        try (SseReader third = f.openOut("chat-r", token, Map.of())) {
          assertThat(third.status()).isEqualTo(429);
          assertThat(Integer.parseInt(third.header("retry-after"))).isPositive();
        }
        first.close();
        // The server notices the closed connection at its next write (a ping at the latest).
        HttpFixture.await("the first reader to leave", () -> f.http.servlet().openStreams() == 2);
        try (SseReader again = f.openOut("chat-r", token, Map.of("Timeout-Seconds", "1"))) {
          assertThat(again.status()).isEqualTo(200);
        }
      }
    }
  }

  @Test
  @DisplayName(
      "T4: appends over a token's rate are a 429 with Retry-After storing nothing; each token has"
          + " its own budget; the secret key has none")
  void appendRateLimit() {
    try (var f = new HttpFixture(b -> b.appendRateLimit(2, Duration.ofHours(1)))) {
      String token = f.createSession("chat-l").string("publicAccessToken").orElseThrow();
      for (int i = 0; i < 2; i++) {
        assertThat(f.append("chat-l", token, HttpFixture.submit("chat-l", "u" + i, "hi")).status())
            .isEqualTo(200);
      }
      Reply limited = f.append("chat-l", token, HttpFixture.submit("chat-l", "u9", "hi"));
      assertThat(limited.status()).isEqualTo(429);
      long retry = Long.parseLong(limited.header("retry-after"));
      // One permit comes back every half hour.
      assertThat(retry).isBetween(1L, 1800L);
      assertThat(limited.json().get("retryAfterSeconds")).isNotNull();
      assertThat(f.lastIn("chat-l")).isEqualTo(2);

      // Another token (another lifetime: minted in the same second, the same claims would make the
      // very same token).
      String another =
          f.http.mintSessionToken(
              "chat-l", SessionTokens.Access.READ_WRITE, Duration.ofMinutes(30));
      assertThat(f.append("chat-l", another, HttpFixture.submit("chat-l", "u3", "hi")).status())
          .isEqualTo(200);
      for (int i = 0; i < 5; i++) {
        assertThat(
                f.append("chat-l", HttpFixture.SECRET, HttpFixture.submit("chat-l", "s" + i, "x"))
                    .status())
            .isEqualTo(200);
      }
      assertThat(f.lastIn("chat-l")).isEqualTo(8);
    }
  }

  @Test
  @DisplayName(
      "T4: maxBodyBytes caps the session routes' bodies (413); in/append keeps the engine's cap"
          + " (W4)")
  void bodyCap() {
    try (var f = new HttpFixture(b -> b.maxBodyBytes(2048))) {
      String big =
          "{\"taskIdentifier\":\"echo\",\"externalId\":\"c\",\"metadata\":{\"p\":\""
              + "x".repeat(3000)
              + "\"}}";
      Reply r = f.post("/api/v1/sessions", HttpFixture.SECRET, big);
      assertThat(r.status()).isEqualTo(413);
      assertThat(r.error()).contains("over the limit of 2048 bytes");
      assertThatThrownBy(() -> f.chat.session("c")).isInstanceOf(RuntimeException.class);
      String token = f.createSession("chat-b").string("publicAccessToken").orElseThrow();
      Reply append =
          f.append("chat-b", token, HttpFixture.submit("chat-b", "u1", "y".repeat(3000)));
      assertThat(append.status()).isEqualTo(200);
    }
  }
}
