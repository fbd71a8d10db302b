package dev.durablechat.core;

import java.security.SecureRandom;
import java.util.Base64;

/**
 * Generates the engine's identifiers: friendly session ids ({@code session_…}) and run ids ({@code
 * run_…}). Inject a deterministic one in tests; the default is {@link #random()}.
 *
 * <p>An id must start with the prefix it is asked for, be unique for the life of the store, and
 * consist of URL- and path-safe characters ({@code A-Z a-z 0-9 _ -}), at most 128 in all.
 */
@FunctionalInterface
public interface IdGenerator {

  /** The prefix of friendly session ids. */
  String SESSION_PREFIX = "session_";

  /** The prefix of run ids. */
  String RUN_PREFIX = "run_";

  /**
   * A new id that starts with {@code prefix}.
   *
   * @param prefix {@value #SESSION_PREFIX} or {@value #RUN_PREFIX}
   */
  String next(String prefix);

  /**
   * The default: the prefix plus 120 random bits from {@link SecureRandom}, URL-safe base64 without
   * padding (20 characters).
   */
  static IdGenerator random() {
    return RandomIds.INSTANCE;
  }
}

/** The default generator; a holder so the {@link SecureRandom} is made once. */
final class RandomIds implements IdGenerator {
  static final RandomIds INSTANCE = new RandomIds();

  private final SecureRandom random = new SecureRandom();
  private final Base64.Encoder encoder = Base64.getUrlEncoder().withoutPadding();

  private RandomIds() {}

  @Override
  public String next(String prefix) {
    byte[] bytes = new byte[15];
    random.nextBytes(bytes);
    return prefix + encoder.encodeToString(bytes);
  }
}
