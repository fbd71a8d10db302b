package dev.durablechat.api;

/**
 * One AI SDK UI message chunk (F1), e.g. {@code {"type":"text-delta","id":"t0","delta":"Hi"}}. The
 * whole JSON object is kept, so chunk types and fields durablechat does not know pass through.
 */
public record UIMessageChunk(JsonObject json) {

  /** Requires a string {@code type}. */
  public UIMessageChunk {
    if (json == null) {
      throw new NullPointerException("chunk json must not be null");
    }
    if (!(json.get("type") instanceof JsonString)) {
      throw new InvalidPayloadException(
          "chunk.type must be a string, got [" + Json.abbreviate(json.toString()) + "]");
    }
  }

  /** Parses and validates a chunk from JSON text. */
  public static UIMessageChunk parse(String json) {
    return new UIMessageChunk(Json.parseObject(json));
  }

  /** The chunk type, e.g. {@code text-delta}. */
  public String type() {
    return ((JsonString) json.get("type")).value();
  }

  @Override
  public String toString() {
    return json.toString();
  }
}
