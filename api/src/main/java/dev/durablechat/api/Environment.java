package dev.durablechat.api;

import java.util.regex.Pattern;

/**
 * Where sessions live: a project and one of its environments (e.g. {@code dev}, {@code prod}). Both
 * parts appear in storage keys, so they are restricted to URL- and path-safe characters.
 */
public record Environment(String projectRef, String envSlug) {
  private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9_-]{1,64}");

  /** Validates both parts: 1–64 characters of letters, digits, {@code _} and {@code -}. */
  public Environment {
    check("project ref", projectRef);
    check("env slug", envSlug);
  }

  private static void check(String what, String value) {
    if (value == null || !SAFE.matcher(value).matches()) {
      throw new InvalidInputException(
          what + " [" + value + "] must be 1 to 64 characters of letters, digits, '_' or '-'");
    }
  }

  @Override
  public String toString() {
    return projectRef + "/" + envSlug;
  }
}
