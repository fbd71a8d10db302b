package dev.durablechat.api;

/** A JSON boolean. */
public enum JsonBoolean implements JsonValue {
  /** JSON {@code true}. */
  TRUE,
  /** JSON {@code false}. */
  FALSE;

  /** The boolean's JSON value. */
  public static JsonBoolean of(boolean value) {
    return value ? TRUE : FALSE;
  }

  /** The Java value. */
  public boolean value() {
    return this == TRUE;
  }

  @Override
  public String toString() {
    return this == TRUE ? "true" : "false";
  }
}
