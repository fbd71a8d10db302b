package dev.durablechat.api;

import java.math.BigDecimal;

/**
 * A JSON number, kept as its literal text so that a round trip never changes it ({@code 1.0} stays
 * {@code 1.0}, a 30-digit integer keeps every digit).
 */
public record JsonNumber(String literal) implements JsonValue {

  /**
   * Requires a valid JSON number literal of at most {@link Json#MAX_NUMBER_DIGITS} digits, so that
   * what is written can always be read back.
   */
  public JsonNumber {
    if (literal == null || !Json.isNumberLiteral(literal)) {
      throw new IllegalArgumentException("not a json number literal [" + literal + "]");
    }
    if (Json.digits(literal) > Json.MAX_NUMBER_DIGITS) {
      throw new IllegalArgumentException(
          "json number literal ["
              + Json.abbreviate(literal)
              + "] has more than "
              + Json.MAX_NUMBER_DIGITS
              + " digits");
    }
  }

  /** The number for a long. */
  public static JsonNumber of(long value) {
    return new JsonNumber(Long.toString(value));
  }

  /** The number for a finite double; non-finite values have no JSON form. */
  public static JsonNumber of(double value) {
    if (!Double.isFinite(value)) {
      throw new IllegalArgumentException("json numbers must be finite, got [" + value + "]");
    }
    return new JsonNumber(Double.toString(value));
  }

  /** The exact value. */
  public BigDecimal toBigDecimal() {
    return new BigDecimal(literal);
  }

  /** The value as a long; fails if it is not an integer in range. */
  public long longValue() {
    return toBigDecimal().longValueExact();
  }

  @Override
  public String toString() {
    return literal;
  }
}
