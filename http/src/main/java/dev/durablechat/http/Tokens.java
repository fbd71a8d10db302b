package dev.durablechat.http;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import com.auth0.jwt.exceptions.JWTDecodeException;
import com.auth0.jwt.exceptions.SignatureVerificationException;
import com.auth0.jwt.interfaces.Claim;
import com.auth0.jwt.interfaces.DecodedJWT;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Session tokens (PROTOCOL T1, T2; http.md "Tokens"): HS256 JWTs signed with a secret key's UTF-8
 * bytes, in the shape the SDK's {@code auth.createPublicToken} makes, so tokens minted here and
 * tokens the SDK mints with the same secret both verify. The first key signs; every key verifies
 * (rotation). A secret key presented as the bearer itself is the server-side credential.
 *
 * <p>Keys never appear in messages or logs.
 */
final class Tokens {
  /** The issuer the SDK writes ({@code JWT_ISSUER} in {@code @trigger.dev/core}). */
  static final String ISSUER = "https://id.trigger.dev";

  /** The audience the SDK writes ({@code JWT_AUDIENCE}). */
  static final String AUDIENCE = "https://api.trigger.dev";

  private final List<byte[]> keyDigests = new ArrayList<>();
  private final List<Algorithm> algorithms = new ArrayList<>();
  private final String environmentId;
  private final Duration ttl;
  private final Clock clock;

  Tokens(List<String> secretKeys, String environmentId, Duration ttl, Clock clock) {
    if (secretKeys.isEmpty()) {
      throw new IllegalArgumentException("at least one secret key is required");
    }
    for (String key : secretKeys) {
      if (key == null || key.isBlank()) {
        throw new IllegalArgumentException("a secret key must not be blank");
      }
      byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
      keyDigests.add(sha256(bytes));
      algorithms.add(Algorithm.HMAC256(bytes));
    }
    this.environmentId = environmentId;
    this.ttl = ttl;
    this.clock = clock;
  }

  /** The environment id: the {@code sub} of every token and of the claims route. */
  String environmentId() {
    return environmentId;
  }

  /** A session token (T1) for the session key: read and write scopes, signed with the first key. */
  String mint(String sessionKey) {
    Instant now = clock.instant();
    return JWT.create()
        .withIssuer(ISSUER)
        .withAudience(AUDIENCE)
        .withSubject(environmentId)
        .withClaim("pub", true)
        .withArrayClaim(
            "scopes", new String[] {"read:sessions:" + sessionKey, "write:sessions:" + sessionKey})
        .withIssuedAt(Date.from(now))
        .withExpiresAt(Date.from(now.plus(ttl)))
        .sign(algorithms.get(0));
  }

  /**
   * Who presents the {@code Authorization} header.
   *
   * @throws HttpError 401 if it is missing, not a bearer, not a key and not a valid token, or the
   *     token is expired; 403 if the token is for another environment
   */
  Principal authenticate(@Nullable String authorization) {
    if (authorization == null || authorization.isBlank()) {
      throw HttpError.of(
          401, "unauthorized", "missing authorization header (expected [Bearer ...])");
    }
    String value = authorization.trim();
    if (value.length() < 7 || !value.regionMatches(true, 0, "Bearer ", 0, 7)) {
      throw HttpError.of(401, "unauthorized", "authorization header must be [Bearer <token>]");
    }
    String bearer = value.substring(7).trim();
    if (isSecretKey(bearer)) {
      return Principal.SECRET;
    }
    return verify(bearer);
  }

  /** Compares digests in constant time, against every key without stopping early. */
  private boolean isSecretKey(String bearer) {
    byte[] presented = sha256(bearer.getBytes(StandardCharsets.UTF_8));
    boolean match = false;
    for (byte[] digest : keyDigests) {
      match |= MessageDigest.isEqual(presented, digest);
    }
    return match;
  }

  private Principal verify(String token) {
    DecodedJWT jwt;
    try {
      jwt = JWT.decode(token);
    } catch (JWTDecodeException e) {
      throw HttpError.of(401, "unauthorized", "bearer is neither a secret key nor a valid jwt");
    }
    if (!"HS256".equals(jwt.getAlgorithm())) {
      throw HttpError.of(
          401, "unauthorized", "token algorithm [" + jwt.getAlgorithm() + "] must be [HS256]");
    }
    boolean verified = false;
    for (Algorithm algorithm : algorithms) {
      try {
        algorithm.verify(jwt);
        verified = true;
        break;
      } catch (SignatureVerificationException e) {
        // try the next key (rotation)
      }
    }
    if (!verified) {
      throw HttpError.of(401, "unauthorized", "token signature does not verify");
    }
    Instant now = clock.instant();
    Instant expiresAt = jwt.getExpiresAtAsInstant();
    if (expiresAt == null) {
      throw HttpError.of(401, "unauthorized", "token has no expiry (exp)");
    }
    if (!now.isBefore(expiresAt)) {
      throw HttpError.of(
          401, "token_expired", "token expired at [" + expiresAt + "] (now [" + now + "])");
    }
    Instant notBefore = jwt.getNotBeforeAsInstant();
    if (notBefore != null && now.isBefore(notBefore)) {
      throw HttpError.of(401, "unauthorized", "token is not valid before [" + notBefore + "]");
    }
    String subject = jwt.getSubject();
    if (subject != null && !subject.equals(environmentId)) {
      throw HttpError.of(
          403,
          "forbidden",
          "token is for environment [" + subject + "], this is [" + environmentId + "]");
    }
    List<String> audience = jwt.getAudience();
    if (audience != null && !audience.contains(AUDIENCE)) {
      throw HttpError.of(
          401, "unauthorized", "token audience " + audience + " must include [" + AUDIENCE + "]");
    }
    return new Principal(false, scopes(jwt.getClaim("scopes")));
  }

  private static Set<String> scopes(Claim claim) {
    var scopes = new LinkedHashSet<String>();
    if (claim.isMissing() || claim.isNull()) {
      return scopes;
    }
    List<String> list = null;
    try {
      list = claim.asList(String.class);
    } catch (JWTDecodeException e) {
      // not a list of strings
    }
    if (list != null) {
      for (String s : list) {
        if (s != null) {
          scopes.add(s);
        }
      }
    } else if (claim.asString() != null) {
      // Some issuers write scopes as one space-separated string.
      for (String s : claim.asString().split(" ")) {
        if (!s.isBlank()) {
          scopes.add(s);
        }
      }
    }
    return scopes;
  }

  private static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  /**
   * Who is calling: the secret key (may do everything, W9) or a token with scopes.
   *
   * @param secret whether the bearer is a secret key
   * @param scopes the token's scopes ({@code action:resource[:id]})
   */
  record Principal(boolean secret, Set<String> scopes) {
    static final Principal SECRET = new Principal(true, Set.of());

    /**
     * Whether the principal may do {@code action} ({@code read} or {@code write}) on a session
     * known by any of {@code keys} (its external id and friendly id, T1). Accepts {@code
     * action:sessions:key}, {@code action:sessions} and {@code action} (every session), {@code
     * action:all} and {@code admin}, the forms the SDK's scope flattening produces.
     */
    boolean may(String action, List<String> keys) {
      if (secret || scopes.contains("admin") || scopes.contains(action + ":all")) {
        return true;
      }
      // {read: true} flattens to "read"; {read: {sessions: true}} to "read:sessions".
      if (scopes.contains(action) || scopes.contains(action + ":sessions")) {
        return true;
      }
      for (String key : keys) {
        if (scopes.contains(action + ":sessions:" + key)) {
          return true;
        }
      }
      return false;
    }
  }
}
