package dev.durablechat.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import dev.durablechat.http.HttpFixture.Reply;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Date;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Session tokens (PROTOCOL T1, T2; http.md Tokens)")
class TokenTest {
  private final AtomicReference<Instant> now = new AtomicReference<>(Instant.now());
  private final Clock clock =
      new Clock() {
        @Override
        public java.time.ZoneId getZone() {
          return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
          return this;
        }

        @Override
        public Instant instant() {
          return now.get();
        }
      };
  private final HttpFixture f =
      new HttpFixture(b -> b.clock(clock).tokenTtl(Duration.ofMinutes(10)));
  private String token;
  private String friendly;

  @BeforeEach
  void sessions() {
    var created = f.createSession("chat-1");
    token = created.string("publicAccessToken").orElseThrow();
    friendly = created.string("id").orElseThrow();
    f.createSession("chat-2");
  }

  @AfterEach
  void close() {
    f.close();
  }

  private String msg(String chatId) {
    return HttpFixture.submit(chatId, "u-" + System.nanoTime(), "hi");
  }

  /** A token made the way the SDK's generateJWT makes one (jose SignJWT, HS256, no typ). */
  private static String sdkToken(String secret, String... scopes) {
    Instant iat = Instant.now();
    return JWT.create()
        .withHeader(Map.of("alg", "HS256"))
        .withClaim("sub", "env_proj_test")
        .withClaim("pub", true)
        .withArrayClaim("scopes", scopes)
        .withIssuer("https://id.trigger.dev")
        .withAudience("https://api.trigger.dev")
        .withIssuedAt(Date.from(iat))
        .withExpiresAt(Date.from(iat.plusSeconds(900)))
        .sign(Algorithm.HMAC256(secret.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  @DisplayName(
      "T1: the minted token carries read and write scopes for the chat, an expiry, and the SDK's iss/aud/sub/pub")
  void shape() {
    var jwt = JWT.decode(token);
    assertThat(jwt.getAlgorithm()).isEqualTo("HS256");
    assertThat(jwt.getClaim("scopes").asList(String.class))
        .containsExactlyInAnyOrder("read:sessions:chat-1", "write:sessions:chat-1");
    assertThat(jwt.getIssuer()).isEqualTo("https://id.trigger.dev");
    assertThat(jwt.getAudience()).containsExactly("https://api.trigger.dev");
    assertThat(jwt.getSubject()).isEqualTo("env_proj_test");
    assertThat(jwt.getClaim("pub").asBoolean()).isTrue();
    assertThat(Duration.between(jwt.getIssuedAtAsInstant(), jwt.getExpiresAtAsInstant()))
        .isEqualTo(Duration.ofMinutes(10));
    assertThat(f.http.mintSessionToken(friendly)).isNotBlank();
  }

  @Test
  @DisplayName("T1: a token for a session authorises both its externalId and friendlyId URL forms")
  void bothForms() {
    assertThat(f.append("chat-1", token, msg("chat-1")).status()).isEqualTo(200);
    assertThat(f.append(friendly, token, msg("chat-1")).status()).isEqualTo(200);
    try (SseReader sse = f.openOut(friendly, token, Map.of("Timeout-Seconds", "1"))) {
      assertThat(sse.status()).isEqualTo(200);
    }
  }

  @Test
  @DisplayName("T2: an expired token is 401; nothing is stored")
  void expired() {
    now.set(now.get().plus(Duration.ofMinutes(11)));
    Reply r = f.append("chat-1", token, msg("chat-1"));
    assertThat(r.status()).isEqualTo(401);
    assertThat(r.error()).contains("expired");
    assertThat(f.lastIn("chat-1")).isZero();
    try (SseReader sse = f.openOut("chat-1", token, Map.of())) {
      assertThat(sse.status()).isEqualTo(401);
    }
  }

  @Test
  @DisplayName("T2: a valid token for another chat is 403 on append and on out; nothing is stored")
  void otherChat() {
    Reply r = f.append("chat-2", token, msg("chat-2"));
    assertThat(r.status()).isEqualTo(403);
    assertThat(r.error()).contains("chat-2");
    assertThat(f.lastIn("chat-2")).isZero();
    try (SseReader sse = f.openOut("chat-2", token, Map.of())) {
      assertThat(sse.status()).isEqualTo(403);
    }
    // A token for chat-1 learns nothing about a session it does not name.
    assertThat(f.append("chat-404", token, msg("chat-404")).status()).isEqualTo(403);
  }

  @Test
  @DisplayName("T2: a tampered signature, a foreign key's token and garbage are 401")
  void badSignature() {
    String[] parts = token.split("\\.");
    String payload =
        new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8)
            .replace("chat-1", "chat-2");
    String forged =
        parts[0]
            + "."
            + Base64.getUrlEncoder()
                .withoutPadding()
                .encodeToString(payload.getBytes(StandardCharsets.UTF_8))
            + "."
            + parts[2];
    assertThat(f.append("chat-2", forged, msg("chat-2")).status()).isEqualTo(401);
    char last = parts[2].charAt(0);
    String flipped =
        parts[0] + "." + parts[1] + "." + (last == 'A' ? 'B' : 'A') + parts[2].substring(1);
    assertThat(f.append("chat-1", flipped, msg("chat-1")).status()).isEqualTo(401);
    assertThat(
            f.append("chat-1", sdkToken("some other key", "write:sessions:chat-1"), msg("chat-1"))
                .status())
        .isEqualTo(401);
    assertThat(f.append("chat-1", "garbage", msg("chat-1")).status()).isEqualTo(401);
    assertThat(f.append("chat-1", "a.b.c", msg("chat-1")).status()).isEqualTo(401);
    String none =
        Base64.getUrlEncoder()
                .withoutPadding()
                .encodeToString("{\"alg\":\"none\"}".getBytes(StandardCharsets.UTF_8))
            + "."
            + parts[1]
            + ".";
    assertThat(f.append("chat-1", none, msg("chat-1")).status()).isEqualTo(401);
    assertThat(f.lastIn("chat-1")).isZero();
    assertThat(f.lastIn("chat-2")).isZero();
  }

  @Test
  @DisplayName(
      "http.md Tokens: a token the SDK signs itself with the secret verifies, and so does one signed with a rotated-out key")
  void sdkAndRotation() {
    assertThat(
            f.append(
                    "chat-1",
                    sdkToken(HttpFixture.SECRET, "read:sessions:chat-1", "write:sessions:chat-1"),
                    msg("chat-1"))
                .status())
        .isEqualTo(200);
    assertThat(
            f.append(
                    "chat-1",
                    sdkToken(HttpFixture.OLD_SECRET, "write:sessions:chat-1"),
                    msg("chat-1"))
                .status())
        .isEqualTo(200);
    // The SDK's flattened scope without an id covers every session.
    assertThat(
            f.append("chat-2", sdkToken(HttpFixture.SECRET, "write:sessions"), msg("chat-2"))
                .status())
        .isEqualTo(200);
  }

  @Test
  @DisplayName(
      "T2: a read-only token cannot append; a trigger-style task token is no session token (403)")
  void missingScope() {
    assertThat(
            f.append("chat-1", sdkToken(HttpFixture.SECRET, "read:sessions:chat-1"), msg("chat-1"))
                .status())
        .isEqualTo(403);
    String task = sdkToken(HttpFixture.SECRET, "trigger:tasks:echo", "read:runs:run_1");
    assertThat(f.append("chat-1", task, msg("chat-1")).status()).isEqualTo(403);
    try (SseReader sse = f.openOut("chat-1", task, Map.of())) {
      assertThat(sse.status()).isEqualTo(403);
    }
    assertThat(f.lastIn("chat-1")).isZero();
  }

  @Test
  @DisplayName(
      "W9: the secret key may do everything; a session token on a secret-key-only route is 403")
  void secretOnly() {
    assertThat(f.append("chat-1", HttpFixture.SECRET, msg("chat-1")).status()).isEqualTo(200);
    assertThat(f.append("chat-1", HttpFixture.OLD_SECRET, msg("chat-1")).status()).isEqualTo(200);
    assertThat(
            f.post("/api/v1/sessions", token, "{\"taskIdentifier\":\"echo\",\"externalId\":\"c\"}")
                .status())
        .isEqualTo(403);
    assertThat(f.post("/api/v1/sessions/chat-1/close", token, "{}").status()).isEqualTo(403);
    assertThat(f.post("/api/v1/auth/jwt/claims", token, "{}").status()).isEqualTo(403);
    assertThat(f.chat.session("chat-1").closedAt()).isNull();
  }

  @Test
  @DisplayName(
      "T2, T3: missing or non-bearer authorization is 401; so is a token for another environment")
  void missingAuth() {
    Reply none =
        f.send(
            java.net.http.HttpRequest.newBuilder(f.uri("/realtime/v1/sessions/chat-1/in/append"))
                .header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(msg("chat-1"))));
    assertThat(none.status()).isEqualTo(401);
    Reply basic =
        f.send(
            java.net.http.HttpRequest.newBuilder(f.uri("/realtime/v1/sessions/chat-1/in/append"))
                .header("Authorization", "Basic dXNlcjpwYXNz")
                .header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(msg("chat-1"))));
    assertThat(basic.status()).isEqualTo(401);
    String otherEnv =
        JWT.create()
            .withSubject("env_other")
            .withArrayClaim("scopes", new String[] {"write:sessions:chat-1"})
            .withExpiresAt(Date.from(Instant.now().plusSeconds(60)))
            .sign(Algorithm.HMAC256(HttpFixture.SECRET.getBytes(StandardCharsets.UTF_8)));
    Reply other = f.append("chat-1", otherEnv, msg("chat-1"));
    assertThat(other.status()).isEqualTo(401);
    assertThat(other.json().string("reason")).contains("environment");
    assertThat(f.lastIn("chat-1")).isZero();
  }
}
