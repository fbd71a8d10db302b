package dev.durablechat.http;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import com.auth0.jwt.exceptions.JWTDecodeException;
import com.auth0.jwt.exceptions.SignatureVerificationException;
import com.auth0.jwt.interfaces.Claim;
import com.auth0.jwt.interfaces.DecodedJWT;
import dev.durablechat.api.Environment;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Session tokens (T1–T3, docs/http.md "Security"): mint, verify and rotate the keys of the JWTs the
 * Sessions routes accept, with or without a running HTTP server. An application server that embeds
 * the engine mints a token for the browser with {@link #mint(String, Access, Duration)}; the
 * servlet verifies it with the same instance (share it with {@link SessionsServlet.Builder#tokens})
 * or with one built from the same keys.
 *
 * <p>The format is the one the SDK's {@code auth.createPublicToken} makes, so that tokens minted
 * here and tokens the SDK signs itself with the same secret key both verify: an HMAC JWT signed
 * with the key's UTF-8 bytes, {@code iss https://id.trigger.dev}, {@code aud
 * https://api.trigger.dev}, {@code sub} = the environment id, {@code pub: true}, {@code scopes}
 * ({@code read:sessions:<key>}, and {@code write:sessions:<key>} unless read-only), {@code iat} and
 * {@code exp}.
 *
 * <p>Verification refuses ({@link InvalidTokenException}, naming the {@link
 * InvalidTokenException.Reason}): an algorithm other than the configured ones ({@code none}
 * included), a bad signature, no {@code exp}, an expired token, a lifetime ({@code exp} minus
 * {@code iat}) above {@link Builder#maxTokenTtl}, an {@code nbf} or {@code iat} in the future
 * beyond {@link Builder#clockSkew}, and a token of another environment ({@code sub}) or audience.
 *
 * <p>Keys: the first key signs; every key verifies. {@link #rotate} puts a new signing key in front
 * and keeps the keys it replaces for {@link Builder#rotationOverlap}. Keys never appear in
 * messages, exceptions or logs. Thread-safe.
 */
public final class SessionTokens {
  /**
   * The fewest bytes (UTF-8) a secret key may have: an HMAC key shorter than this is guessable
   * offline from one token. {@code openssl rand -base64 32} makes a good one.
   */
  public static final int MIN_SECRET_KEY_BYTES = 16;

  /** The issuer the SDK writes ({@code JWT_ISSUER} in {@code @trigger.dev/core}). */
  static final String ISSUER = "https://id.trigger.dev";

  /** The audience the SDK writes ({@code JWT_AUDIENCE}). */
  static final String AUDIENCE = "https://api.trigger.dev";

  private static final List<String> HMAC = List.of("HS256", "HS384", "HS512");

  /** What a session token lets its bearer do. */
  public enum Access {
    /** Read {@code out} and append to {@code in}: what a chat client needs. */
    READ_WRITE,
    /** Read {@code out} only: an append is refused with 403 (a viewer, a second screen). */
    READ_ONLY
  }

  private final String environmentId;
  private final List<String> algorithms;
  private final Duration defaultTtl;
  private final Duration maxTtl;
  private final Duration clockSkew;
  private final Duration rotationOverlap;
  private final Clock clock;

  /** The keys, the signing one first; replaced whole (copy on write) by a rotation. */
  private volatile List<Key> keys;

  private SessionTokens(Builder b) {
    this.environmentId = Objects.requireNonNull(b.environmentId);
    this.algorithms = List.copyOf(b.algorithms);
    this.defaultTtl = b.tokenTtl;
    this.maxTtl = b.maxTokenTtl;
    this.clockSkew = b.clockSkew;
    this.rotationOverlap = b.rotationOverlap != null ? b.rotationOverlap : b.maxTokenTtl;
    this.clock = b.clock;
    var list = new ArrayList<Key>();
    for (String k : b.secretKeys) {
      list.add(new Key(k, algorithms, null));
    }
    this.keys = List.copyOf(list);
  }

  /** A builder; {@link Builder#secretKeys} and an environment are required. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The environment id the servlet uses for an engine's environment when none is set: {@code
   * env_<projectRef>_<envSlug>}.
   */
  public static String environmentId(Environment environment) {
    return "env_" + environment.projectRef() + "_" + environment.envSlug();
  }

  /** The environment id: the {@code sub} of every token and of the claims route. */
  public String environmentId() {
    return environmentId;
  }

  /** The lifetime of a token minted without one. */
  public Duration defaultTtl() {
    return defaultTtl;
  }

  /** The longest lifetime a token may have, minted here or by the SDK. */
  public Duration maxTtl() {
    return maxTtl;
  }

  /** A read-write session token for the session key with the default lifetime. */
  public String mint(String sessionKey) {
    return mint(sessionKey, Access.READ_WRITE, defaultTtl);
  }

  /**
   * A session token (T1) for the session known by {@code sessionKey} (its chat id, the external id,
   * or its {@code session_…} friendly id; a token for either form authorises both), signed with the
   * current signing key.
   *
   * @param ttl how long the token lives: positive, at most {@link #maxTtl()}
   * @throws IllegalArgumentException for a blank key or a lifetime out of range
   */
  public String mint(String sessionKey, Access access, Duration ttl) {
    if (sessionKey == null || sessionKey.isBlank()) {
      throw new IllegalArgumentException("session key must not be blank");
    }
    Objects.requireNonNull(access, "access must not be null");
    if (ttl.isNegative() || ttl.isZero() || ttl.compareTo(maxTtl) > 0) {
      throw new IllegalArgumentException(
          "token ttl ["
              + ttl
              + "] must be positive and at most the max token ttl ["
              + maxTtl
              + "]");
    }
    String[] scopes =
        access == Access.READ_ONLY
            ? new String[] {"read:sessions:" + sessionKey}
            : new String[] {"read:sessions:" + sessionKey, "write:sessions:" + sessionKey};
    Instant now = clock.instant();
    return JWT.create()
        .withIssuer(ISSUER)
        .withAudience(AUDIENCE)
        .withSubject(environmentId)
        .withClaim("pub", true)
        .withArrayClaim("scopes", scopes)
        .withIssuedAt(Date.from(now))
        .withExpiresAt(Date.from(now.plus(ttl)))
        .sign(keys.get(0).algorithm(algorithms.get(0)));
  }

  private static boolean isCanonicalBase64Url(String text) {
    try {
      byte[] bytes = Base64.getUrlDecoder().decode(text);
      return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes).equals(text);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /**
   * Verifies a token (T2, T3).
   *
   * @return what the token allows
   * @throws InvalidTokenException naming the reason it is refused; the message never holds the
   *     token
   */
  public VerifiedToken verify(String token) {
    DecodedJWT jwt;
    try {
      jwt = JWT.decode(Objects.requireNonNull(token, "token must not be null"));
    } catch (JWTDecodeException e) {
      throw new InvalidTokenException(
          InvalidTokenException.Reason.MALFORMED, "bearer is neither a secret key nor a valid jwt");
    }
    if (!isCanonicalBase64Url(jwt.getSignature())) {
      // Base64 decoders drop the unused low bits of the last character, so without this check one
      // signature would have several spellings and a token altered in its last character would
      // still verify: a bearer is accepted only in the one form that mint() produces.
      throw new InvalidTokenException(
          InvalidTokenException.Reason.SIGNATURE, "token signature is not canonical base64url");
    }
    String alg = jwt.getAlgorithm();
    if (alg == null || !algorithms.contains(alg)) {
      throw new InvalidTokenException(
          InvalidTokenException.Reason.ALGORITHM,
          "token algorithm [" + alg + "] is not allowed, expected one of " + algorithms);
    }
    Instant now = clock.instant();
    boolean verified = false;
    for (Key key : liveKeys(now)) {
      try {
        key.algorithm(alg).verify(jwt);
        verified = true;
        break;
      } catch (SignatureVerificationException e) {
        // try the next key (rotation)
      }
    }
    if (!verified) {
      throw new InvalidTokenException(
          InvalidTokenException.Reason.SIGNATURE, "token signature does not verify");
    }
    Instant expiresAt = jwt.getExpiresAtAsInstant();
    if (expiresAt == null) {
      throw new InvalidTokenException(
          InvalidTokenException.Reason.NO_EXPIRY, "token has no expiry (exp)");
    }
    // exp is strict (the clients refresh on 401); the skew only forgives a clock that runs ahead.
    if (!now.isBefore(expiresAt)) {
      throw new InvalidTokenException(
          InvalidTokenException.Reason.EXPIRED,
          "token expired at [" + expiresAt + "] (now [" + now + "])");
    }
    Instant issuedAt = jwt.getIssuedAtAsInstant();
    Instant latest = now.plus(clockSkew);
    if (issuedAt != null && issuedAt.isAfter(latest)) {
      throw new InvalidTokenException(
          InvalidTokenException.Reason.NOT_YET_VALID,
          "token is issued in the future at ["
              + issuedAt
              + "], beyond the clock skew of ["
              + clockSkew
              + "] (now ["
              + now
              + "])");
    }
    Instant notBefore = jwt.getNotBeforeAsInstant();
    if (notBefore != null && notBefore.isAfter(latest)) {
      throw new InvalidTokenException(
          InvalidTokenException.Reason.NOT_YET_VALID,
          "token is not valid before ["
              + notBefore
              + "], beyond the clock skew of ["
              + clockSkew
              + "] (now ["
              + now
              + "])");
    }
    // The lifetime from the earlier of iat and now: a token issued "in the future" cannot stretch
    // its reach past the maximum either.
    Instant from = issuedAt != null && issuedAt.isBefore(now) ? issuedAt : now;
    Duration lifetime = Duration.between(from, expiresAt);
    if (lifetime.compareTo(maxTtl) > 0) {
      throw new InvalidTokenException(
          InvalidTokenException.Reason.LIFETIME,
          "token lifetime [" + lifetime + "] is over the maximum [" + maxTtl + "]");
    }
    String subject = jwt.getSubject();
    if (subject == null || !subject.equals(environmentId)) {
      throw new InvalidTokenException(
          InvalidTokenException.Reason.ENVIRONMENT,
          "token is for environment [" + subject + "], this is [" + environmentId + "]");
    }
    List<String> audience = jwt.getAudience();
    if (audience != null && !audience.contains(AUDIENCE)) {
      throw new InvalidTokenException(
          InvalidTokenException.Reason.AUDIENCE,
          "token audience " + audience + " must include [" + AUDIENCE + "]");
    }
    return new VerifiedToken(subject, scopes(jwt.getClaim("scopes")), issuedAt, expiresAt);
  }

  /**
   * Puts a new signing key in front (T3). The keys it replaces still verify tokens, and are still
   * accepted as the server-side bearer, for the rotation overlap ({@link Builder#rotationOverlap},
   * default the max token ttl: every token they signed expires before they go).
   *
   * @throws IllegalArgumentException for a blank key or one shorter than {@link
   *     #MIN_SECRET_KEY_BYTES}; nothing changes then
   */
  public void rotate(String newSecretKey) {
    checkKey(newSecretKey);
    synchronized (this) {
      Instant now = clock.instant();
      Instant retires = now.plus(rotationOverlap);
      var next = new ArrayList<Key>();
      next.add(new Key(newSecretKey, algorithms, null));
      for (Key k : keys) {
        if (k.retiresAt == null) {
          next.add(k.retiring(retires));
        } else if (k.retiresAt.isAfter(now)) {
          next.add(k);
        }
      }
      this.keys = List.copyOf(next);
    }
  }

  /** How many keys verify now (the signing key and those still in their overlap). */
  public int liveKeyCount() {
    return liveKeys(clock.instant()).size();
  }

  private List<Key> liveKeys(Instant now) {
    List<Key> all = keys;
    var live = new ArrayList<Key>(all.size());
    for (Key k : all) {
      if (k.retiresAt == null || k.retiresAt.isAfter(now)) {
        live.add(k);
      }
    }
    return live;
  }

  /**
   * Whether the bearer is one of the live secret keys. Compares digests in constant time, against
   * every key without stopping early.
   */
  boolean isSecretKey(String bearer) {
    byte[] presented = sha256(bearer.getBytes(StandardCharsets.UTF_8));
    boolean match = false;
    for (Key k : liveKeys(clock.instant())) {
      match |= MessageDigest.isEqual(presented, k.digest);
    }
    return match;
  }

  /**
   * Who presents the {@code Authorization} header.
   *
   * @throws HttpError 401 if it is missing, not a bearer, not a key and not a valid token (the body
   *     names the reason)
   */
  Principal authenticate(@Nullable String authorization) {
    if (authorization == null || authorization.isBlank()) {
      throw unauthorized(
          "missing", "missing authorization header (expected [Bearer ...])", "unauthorized");
    }
    String value = authorization.trim();
    if (value.length() < 7 || !value.regionMatches(true, 0, "Bearer ", 0, 7)) {
      throw unauthorized(
          "missing", "authorization header must be [Bearer <token>]", "unauthorized");
    }
    String bearer = value.substring(7).trim();
    if (isSecretKey(bearer)) {
      return Principal.SECRET;
    }
    try {
      VerifiedToken verified = verify(bearer);
      // The rate limit's key: a digest, so that no token is kept in memory as text.
      return new Principal(
          false,
          verified.scopes(),
          java.util.HexFormat.of().formatHex(sha256(bearer.getBytes(StandardCharsets.UTF_8))));
    } catch (InvalidTokenException e) {
      throw unauthorized(
          e.reason().code(),
          e.getMessage(),
          e.reason() == InvalidTokenException.Reason.EXPIRED ? "token_expired" : "unauthorized");
    }
  }

  private static HttpError unauthorized(String reason, String message, String code) {
    return HttpError.of(401, code, message)
        .with("reason", dev.durablechat.api.JsonValue.of(reason));
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
    return Set.copyOf(scopes);
  }

  static void checkKey(@Nullable String key) {
    if (key == null || key.isBlank()) {
      throw new IllegalArgumentException("a secret key must not be blank");
    }
    int bytes = key.getBytes(StandardCharsets.UTF_8).length;
    if (bytes < MIN_SECRET_KEY_BYTES) {
      // Never the key itself in the message: only its length, and how to make a good one.
      throw new IllegalArgumentException(
          "a secret key of ["
              + bytes
              + "] bytes is too short to sign tokens safely, expected at least ["
              + MIN_SECRET_KEY_BYTES
              + "]; make one with `openssl rand -base64 32`");
    }
  }

  private static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  /** One secret key: its digest (for bearer comparison) and its HMAC per allowed algorithm. */
  private static final class Key {
    final byte[] digest;
    final Map<String, Algorithm> byName;
    final @Nullable Instant retiresAt;

    Key(String secret, List<String> algorithms, @Nullable Instant retiresAt) {
      byte[] bytes = secret.getBytes(StandardCharsets.UTF_8);
      this.digest = sha256(bytes);
      var map = new java.util.HashMap<String, Algorithm>();
      for (String name : algorithms) {
        map.put(
            name,
            switch (name) {
              case "HS256" -> Algorithm.HMAC256(bytes);
              case "HS384" -> Algorithm.HMAC384(bytes);
              default -> Algorithm.HMAC512(bytes);
            });
      }
      this.byName = Map.copyOf(map);
      this.retiresAt = retiresAt;
    }

    private Key(byte[] digest, Map<String, Algorithm> byName, Instant retiresAt) {
      this.digest = digest;
      this.byName = byName;
      this.retiresAt = retiresAt;
    }

    Key retiring(Instant at) {
      return new Key(digest, byName, at);
    }

    Algorithm algorithm(String name) {
      return Objects.requireNonNull(byName.get(name));
    }
  }

  /**
   * What a verified token allows: its environment, its scopes ({@code action:resource[:id]}) and
   * its times.
   *
   * @param environmentId the token's {@code sub}
   * @param scopes the token's scopes
   * @param issuedAt its {@code iat}, if it has one
   * @param expiresAt its {@code exp}
   */
  public record VerifiedToken(
      String environmentId, Set<String> scopes, @Nullable Instant issuedAt, Instant expiresAt) {

    /** The record, its scopes copied. */
    public VerifiedToken {
      scopes = Set.copyOf(scopes);
    }

    /** Whether the token may read {@code out} of the session known by the key (T2). */
    public boolean mayRead(String sessionKey) {
      return new Principal(false, scopes, "").may("read", List.of(sessionKey));
    }

    /** Whether the token may append to {@code in} of the session known by the key (T2). */
    public boolean mayWrite(String sessionKey) {
      return new Principal(false, scopes, "").may("write", List.of(sessionKey));
    }
  }

  /**
   * Who is calling: the secret key (may do everything, W9) or a token with scopes.
   *
   * @param secret whether the bearer is a secret key
   * @param scopes the token's scopes ({@code action:resource[:id]})
   * @param bearerId a digest of the token (the append rate limit's key); empty for the secret key
   */
  record Principal(boolean secret, Set<String> scopes, String bearerId) {
    static final Principal SECRET = new Principal(true, Set.of(), "");

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

  /** Builds {@link SessionTokens}. */
  public static final class Builder {
    final List<String> secretKeys = new ArrayList<>();
    @Nullable String environmentId;
    final List<String> algorithms = new ArrayList<>(List.of("HS256"));
    Duration tokenTtl = Duration.ofHours(1);
    Duration maxTokenTtl = Duration.ofHours(24);
    Duration clockSkew = Duration.ofSeconds(30);
    @Nullable Duration rotationOverlap;
    Clock clock = Clock.systemUTC();

    private Builder() {}

    /**
     * The environment's secret keys (required): the first signs new tokens; every one verifies
     * tokens and is accepted as the server-side bearer. Each must have at least {@link
     * #MIN_SECRET_KEY_BYTES} bytes.
     *
     * @throws IllegalArgumentException for a blank key or one too short to sign safely; the message
     *     never holds the key, and the builder keeps none of the keys of this call
     */
    public Builder secretKeys(String... keys) {
      for (String key : keys) {
        checkKey(key);
      }
      // All or nothing: a refused key leaves the builder as it was.
      secretKeys.addAll(List.of(keys));
      return this;
    }

    /**
     * The environment id, the {@code sub} every token carries (required, or {@link #environment}).
     */
    public Builder environmentId(String environmentId) {
      if (environmentId == null || environmentId.isBlank()) {
        throw new IllegalArgumentException("environment id must not be blank");
      }
      this.environmentId = environmentId;
      return this;
    }

    /** The environment id of the engine's environment ({@code env_<projectRef>_<envSlug>}). */
    public Builder environment(Environment environment) {
      return environmentId(SessionTokens.environmentId(environment));
    }

    /**
     * The HMAC algorithms accepted ({@code HS256}, {@code HS384}, {@code HS512}); the first signs.
     * Default {@code HS256} only, what the SDK signs with. Every other algorithm, {@code none}
     * included, is refused.
     */
    public Builder algorithms(String... names) {
      if (names.length == 0) {
        throw new IllegalArgumentException("at least one algorithm is required");
      }
      var checked = new ArrayList<String>();
      for (String n : names) {
        if (!HMAC.contains(n)) {
          throw new IllegalArgumentException(
              "algorithm [" + n + "] is not supported, expected one of " + HMAC);
        }
        if (!checked.contains(n)) {
          checked.add(n);
        }
      }
      algorithms.clear();
      algorithms.addAll(checked);
      return this;
    }

    /** How long a token minted without a lifetime lives (T1); default one hour. */
    public Builder tokenTtl(Duration ttl) {
      this.tokenTtl = positive(ttl, "token ttl");
      return this;
    }

    /**
     * The longest lifetime ({@code exp} minus {@code iat}) a token may have, minted here or by the
     * SDK; default 24 hours. A longer one is refused at verification (401) and at minting.
     */
    public Builder maxTokenTtl(Duration max) {
      this.maxTokenTtl = positive(max, "max token ttl");
      return this;
    }

    /**
     * How far ahead of this server's clock a token's {@code nbf} or {@code iat} may be (another
     * server minted it); default 30 s. {@code exp} is not stretched by it.
     */
    public Builder clockSkew(Duration skew) {
      if (skew.isNegative()) {
        throw new IllegalArgumentException("clock skew [" + skew + "] must not be negative");
      }
      this.clockSkew = skew;
      return this;
    }

    /**
     * How long a key replaced by {@link SessionTokens#rotate} still verifies; default the max token
     * ttl, so that every token it signed expires first.
     */
    public Builder rotationOverlap(Duration overlap) {
      if (overlap.isNegative()) {
        throw new IllegalArgumentException(
            "rotation overlap [" + overlap + "] must not be negative");
      }
      this.rotationOverlap = overlap;
      return this;
    }

    /** The clock for token times; default the UTC system clock. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock must not be null");
      return this;
    }

    /**
     * The tokens.
     *
     * @throws IllegalStateException without a secret key or an environment, or with a token ttl
     *     over the max
     */
    public SessionTokens build() {
      if (secretKeys.isEmpty()) {
        throw new IllegalStateException("session tokens need secretKeys(String...)");
      }
      if (environmentId == null) {
        throw new IllegalStateException("session tokens need environmentId(String)");
      }
      if (tokenTtl.compareTo(maxTokenTtl) > 0) {
        throw new IllegalStateException(
            "token ttl [" + tokenTtl + "] is over the max token ttl [" + maxTokenTtl + "]");
      }
      return new SessionTokens(this);
    }

    private static Duration positive(Duration d, String what) {
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(what + " [" + d + "] must be positive");
      }
      return d;
    }
  }
}
