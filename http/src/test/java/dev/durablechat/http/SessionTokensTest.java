package dev.durablechat.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import dev.durablechat.api.Environment;
import dev.durablechat.http.InvalidTokenException.Reason;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The token API on its own, with no server running (T1, T3). */
@DisplayName("SessionTokens: mint, verify and rotate without a server (T1, T3)")
class SessionTokensTest {
  private static final String KEY = "st_test_key_0123456789";
  private static final String NEXT = "st_test_key_next_0123456789";
  private static final String ENV = "env_proj_test";

  private final AtomicReference<Instant> now =
      new AtomicReference<>(Instant.parse("2026-01-01T00:00:00Z"));
  private final Clock clock =
      new Clock() {
        @Override
        public ZoneId getZone() {
          return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
          return this;
        }

        @Override
        public Instant instant() {
          return now.get();
        }
      };

  private SessionTokens.Builder builder() {
    return SessionTokens.builder().secretKeys(KEY).environmentId(ENV).clock(clock);
  }

  private void advance(Duration d) {
    now.set(now.get().plus(d));
  }

  private static Reason reason(Runnable r) {
    try {
      r.run();
    } catch (InvalidTokenException e) {
      assertThat(e.getMessage()).doesNotContain(KEY);
      return e.reason();
    }
    throw new AssertionError("the token verified");
  }

  @Test
  @DisplayName(
      "T1: a read-write token has both scopes, a read-only one only read; each with its own lifetime")
  void mintsReadWriteAndReadOnly() {
    SessionTokens tokens = builder().build();
    String rw = tokens.mint("chat-1", SessionTokens.Access.READ_WRITE, Duration.ofMinutes(5));
    String ro = tokens.mint("chat-1", SessionTokens.Access.READ_ONLY, Duration.ofMinutes(30));

    var write = tokens.verify(rw);
    assertThat(write.mayRead("chat-1")).isTrue();
    assertThat(write.mayWrite("chat-1")).isTrue();
    assertThat(write.mayRead("chat-2")).isFalse();
    assertThat(write.environmentId()).isEqualTo(ENV);
    assertThat(write.expiresAt()).isEqualTo(now.get().plus(Duration.ofMinutes(5)));
    var read = tokens.verify(ro);
    assertThat(read.mayRead("chat-1")).isTrue();
    assertThat(read.mayWrite("chat-1")).isFalse();
    assertThat(read.expiresAt()).isEqualTo(now.get().plus(Duration.ofMinutes(30)));
    // The SDK's shape: HS256, iss, aud, sub, pub.
    var jwt = JWT.decode(ro);
    assertThat(jwt.getAlgorithm()).isEqualTo("HS256");
    assertThat(jwt.getIssuer()).isEqualTo("https://id.trigger.dev");
    assertThat(jwt.getAudience()).containsExactly("https://api.trigger.dev");
    assertThat(jwt.getClaim("pub").asBoolean()).isTrue();
    assertThat(jwt.getClaim("scopes").asList(String.class)).containsExactly("read:sessions:chat-1");
  }

  @Test
  @DisplayName("T3: a lifetime over the maximum is refused at minting, and nothing is signed")
  void mintRefusesTooLong() {
    SessionTokens tokens = builder().maxTokenTtl(Duration.ofHours(2)).build();
    assertThatThrownBy(
            () -> tokens.mint("chat-1", SessionTokens.Access.READ_WRITE, Duration.ofHours(3)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("token ttl [PT3H] must be positive and at most the max token ttl [PT2H]");
    assertThatThrownBy(() -> builder().tokenTtl(Duration.ofHours(48)).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("over the max token ttl");
  }

  @Test
  @DisplayName("T3: expired, not yet valid past the skew, too long, no exp: each names its reason")
  void timesAreChecked() {
    SessionTokens tokens =
        builder().maxTokenTtl(Duration.ofHours(1)).clockSkew(Duration.ofSeconds(30)).build();
    String token = tokens.mint("chat-1", SessionTokens.Access.READ_WRITE, Duration.ofMinutes(10));
    advance(Duration.ofMinutes(10));
    assertThat(reason(() -> tokens.verify(token))).isEqualTo(Reason.EXPIRED);

    Algorithm hs256 = Algorithm.HMAC256(KEY.getBytes(StandardCharsets.UTF_8));
    Instant t = now.get();
    String withinSkew =
        JWT.create()
            .withSubject(ENV)
            .withNotBefore(Date.from(t.plusSeconds(20)))
            .withExpiresAt(Date.from(t.plusSeconds(600)))
            .sign(hs256);
    assertThat(tokens.verify(withinSkew).environmentId()).isEqualTo(ENV);
    String beyondSkew =
        JWT.create()
            .withSubject(ENV)
            .withNotBefore(Date.from(t.plusSeconds(40)))
            .withExpiresAt(Date.from(t.plusSeconds(600)))
            .sign(hs256);
    assertThat(reason(() -> tokens.verify(beyondSkew))).isEqualTo(Reason.NOT_YET_VALID);
    String issuedInFuture =
        JWT.create()
            .withSubject(ENV)
            .withIssuedAt(Date.from(t.plusSeconds(3600)))
            .withExpiresAt(Date.from(t.plusSeconds(3700)))
            .sign(hs256);
    assertThat(reason(() -> tokens.verify(issuedInFuture))).isEqualTo(Reason.NOT_YET_VALID);
    String tooLong =
        JWT.create()
            .withSubject(ENV)
            .withIssuedAt(Date.from(t))
            .withExpiresAt(Date.from(t.plus(Duration.ofMinutes(61))))
            .sign(hs256);
    assertThat(reason(() -> tokens.verify(tooLong))).isEqualTo(Reason.LIFETIME);
    // Without iat, the lifetime counts from now.
    String tooLongNoIat =
        JWT.create()
            .withSubject(ENV)
            .withExpiresAt(Date.from(t.plus(Duration.ofMinutes(61))))
            .sign(hs256);
    assertThat(reason(() -> tokens.verify(tooLongNoIat))).isEqualTo(Reason.LIFETIME);
    String noExp = JWT.create().withSubject(ENV).sign(hs256);
    assertThat(reason(() -> tokens.verify(noExp))).isEqualTo(Reason.NO_EXPIRY);
  }

  @Test
  @DisplayName("T3: only the configured algorithms verify; HS512 is accepted only when configured")
  void algorithms() {
    Instant t = now.get();
    String hs512 =
        JWT.create()
            .withSubject(ENV)
            .withExpiresAt(Date.from(t.plusSeconds(60)))
            .sign(Algorithm.HMAC512(KEY.getBytes(StandardCharsets.UTF_8)));
    assertThat(reason(() -> builder().build().verify(hs512))).isEqualTo(Reason.ALGORITHM);
    SessionTokens both = builder().algorithms("HS256", "HS512").build();
    assertThat(both.verify(hs512).environmentId()).isEqualTo(ENV);
    assertThat(JWT.decode(both.mint("c")).getAlgorithm()).isEqualTo("HS256");
    assertThat(reason(() -> both.verify(SecuritySuiteTest.algNone(both.mint("c")))))
        .isEqualTo(Reason.ALGORITHM);
    assertThatThrownBy(() -> builder().algorithms("RS256"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("algorithm [RS256] is not supported, expected one of [HS256, HS384, HS512]");
    assertThatThrownBy(() -> builder().algorithms("none"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  @DisplayName("T3: a token of another environment, or of none, is refused")
  void environmentBound() {
    SessionTokens tokens = builder().build();
    String other =
        SessionTokens.builder()
            .secretKeys(KEY)
            .environment(new Environment("proj", "prod"))
            .clock(clock)
            .build()
            .mint("chat-1");
    assertThat(reason(() -> tokens.verify(other))).isEqualTo(Reason.ENVIRONMENT);
    String none =
        JWT.create()
            .withExpiresAt(Date.from(now.get().plusSeconds(60)))
            .sign(Algorithm.HMAC256(KEY.getBytes(StandardCharsets.UTF_8)));
    assertThat(reason(() -> tokens.verify(none))).isEqualTo(Reason.ENVIRONMENT);
    assertThat(reason(() -> tokens.verify("not a token"))).isEqualTo(Reason.MALFORMED);
  }

  @Test
  @DisplayName(
      "T3: a signature is accepted in its one canonical spelling; a last character changed only in"
          + " the bits base64 drops is refused, as is any other changed character")
  void signatureSpelledOneWay() {
    SessionTokens tokens = builder().build();
    for (int i = 0; i < 32; i++) {
      String token = tokens.mint("chat-" + i);
      assertThat(tokens.verify(token).mayWrite("chat-" + i)).isTrue();
      String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      char last = token.charAt(token.length() - 1);
      // HS256 signs 32 bytes: 43 characters, the last carrying 4 bits and 2 unused (zero) ones.
      char sameBits = alphabet.charAt(alphabet.indexOf(last) | 1);
      String respelled = token.substring(0, token.length() - 1) + sameBits;
      assertThat(reason(() -> tokens.verify(respelled))).isEqualTo(Reason.SIGNATURE);
      int mid = token.lastIndexOf('.') + 10;
      char other = token.charAt(mid) == 'Q' ? 'R' : 'Q';
      String altered = token.substring(0, mid) + other + token.substring(mid + 1);
      assertThat(reason(() -> tokens.verify(altered))).isEqualTo(Reason.SIGNATURE);
    }
  }

  @Test
  @DisplayName(
      "T3: after a rotation the new key signs, the old key's tokens verify for the overlap, then not")
  void rotation() {
    SessionTokens tokens =
        builder().maxTokenTtl(Duration.ofHours(2)).rotationOverlap(Duration.ofHours(1)).build();
    String old = tokens.mint("chat-1", SessionTokens.Access.READ_WRITE, Duration.ofHours(2));
    assertThat(tokens.isSecretKey(KEY)).isTrue();

    tokens.rotate(NEXT);

    String fresh = tokens.mint("chat-1", SessionTokens.Access.READ_WRITE, Duration.ofHours(2));
    SessionTokens nextOnly =
        SessionTokens.builder().secretKeys(NEXT).environmentId(ENV).clock(clock).build();
    assertThat(nextOnly.verify(fresh).mayWrite("chat-1")).as("signed with the new key").isTrue();
    assertThat(tokens.verify(old).mayWrite("chat-1")).as("the old key in its overlap").isTrue();
    assertThat(tokens.isSecretKey(KEY)).isTrue();
    assertThat(tokens.liveKeyCount()).isEqualTo(2);

    advance(Duration.ofMinutes(61));

    assertThat(reason(() -> tokens.verify(old))).isEqualTo(Reason.SIGNATURE);
    assertThat(tokens.isSecretKey(KEY)).as("the old key as a bearer").isFalse();
    assertThat(tokens.isSecretKey(NEXT)).isTrue();
    assertThat(tokens.verify(fresh).mayWrite("chat-1")).isTrue();
    assertThat(tokens.liveKeyCount()).isEqualTo(1);
  }

  @Test
  @DisplayName("a short or blank key is refused by the builder and by rotate, naming no key")
  void shortKeys() {
    SessionTokens tokens = builder().build();
    assertThatThrownBy(() -> tokens.rotate("short"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("[5] bytes is too short")
        .message()
        .doesNotContain("[short]");
    assertThat(tokens.liveKeyCount()).isEqualTo(1);
    assertThatThrownBy(() -> SessionTokens.builder().secretKeys(" "))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("a secret key must not be blank");
    assertThatThrownBy(() -> SessionTokens.builder().secretKeys(KEY).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("session tokens need environmentId(String)");
  }
}
