package dev.durablechat.api;

/** A JSON string. */
public record JsonString(String value) implements JsonValue {

  /** Requires a non-null value. */
  public JsonString {
    if (value == null) {
      throw new NullPointerException("json string value must not be null");
    }
  }

  @Override
  public String toString() {
    return Json.write(this);
  }
}
