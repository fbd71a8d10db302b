package dev.durablechat.api;

/** JSON {@code null}. */
public enum JsonNull implements JsonValue {
  /** The one JSON {@code null}. */
  INSTANCE;

  @Override
  public String toString() {
    return "null";
  }
}
