package dev.durablechat.api;

/**
 * An immutable JSON value. durablechat keeps messages, chunks and client data as JSON values so
 * that fields it does not know survive every round trip unchanged (PROTOCOL F6).
 *
 * <p>{@link #toString()} of every value is its compact JSON text; {@link Json#parse} reads it back.
 */
public sealed interface JsonValue
    permits JsonObject, JsonArray, JsonString, JsonNumber, JsonBoolean, JsonNull {

  /** The compact JSON text of this value. */
  @Override
  String toString();

  /** A JSON string. */
  static JsonString of(String value) {
    return new JsonString(value);
  }

  /** A JSON number. */
  static JsonNumber of(long value) {
    return JsonNumber.of(value);
  }

  /** A JSON boolean. */
  static JsonBoolean of(boolean value) {
    return JsonBoolean.of(value);
  }
}
