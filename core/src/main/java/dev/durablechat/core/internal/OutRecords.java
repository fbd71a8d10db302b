package dev.durablechat.core.internal;

import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonNumber;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonString;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.UIMessageChunk;

/**
 * The one codec of stored {@code out} records (W6): every {@code out} payload the engine writes is
 * encoded here and every one it reads is decoded here. A chunk record is {@code
 * {"data":<chunk>,"id":<part id>}} (the body the SSE wire carries), a control record {@code
 * {"control":"turn-complete","sessionInEventId":<n>}} or {@code {"control":"upgrade-required"}}.
 *
 * <p>It lives in core rather than on the api's {@link OutEvent}: the api may not depend on core,
 * and the format must have exactly one reader and one writer, one of which (the chunk writer below)
 * is on the append hot path and uses the engine's buffers. The api's {@link OutEvent} is therefore
 * a plain value type with no JSON form of its own.
 */
public final class OutRecords {
  private static final String TURN_COMPLETE = "turn-complete";
  private static final String UPGRADE_REQUIRED = "upgrade-required";

  /** A builder per thread for {@link #encode}, so an append does not grow a fresh one. */
  private static final ThreadLocal<StringBuilder> BUFFER =
      ThreadLocal.withInitial(() -> new StringBuilder(256));

  private static final int MAX_KEPT_BUFFER = 16 * 1024;

  private OutRecords() {}

  /**
   * The stored text of an {@code out} record. A chunk record, by far the most frequent append, is
   * written straight from its chunk without building the wrapper object first.
   */
  public static String encode(OutEvent event) {
    StringBuilder out = BUFFER.get();
    out.setLength(0);
    if (event instanceof OutEvent.Chunk chunk) {
      out.append("{\"data\":");
      Json.write(chunk.chunk().json(), out);
      if (chunk.partId() != null) {
        out.append(",\"id\":");
        Json.write(new JsonString(chunk.partId()), out);
      }
      out.append('}');
    } else if (event instanceof OutEvent.TurnComplete tc) {
      out.append("{\"control\":\"" + TURN_COMPLETE + "\",\"sessionInEventId\":")
          .append(tc.lastDispatchedInEventId())
          .append('}');
    } else {
      out.append("{\"control\":\"" + UPGRADE_REQUIRED + "\"}");
    }
    String text = out.toString();
    if (out.capacity() > MAX_KEPT_BUFFER) {
      // One huge record must not pin its buffer to the thread for good.
      BUFFER.remove();
    }
    return text;
  }

  /**
   * Reads a stored record's text.
   *
   * @throws InvalidPayloadException if it is not JSON, or neither a chunk nor a known control
   *     record
   */
  public static OutEvent decode(String payload) {
    return decode(JsonCodec.parseObject(payload));
  }

  /**
   * Reads a stored record.
   *
   * @throws InvalidPayloadException if it is neither a chunk nor a known control record
   */
  public static OutEvent decode(JsonObject json) {
    if (json.get("data") instanceof JsonObject data) {
      return new OutEvent.Chunk(new UIMessageChunk(data), json.string("id").orElse(null));
    }
    String control = json.string("control").orElse(null);
    if (control == null) {
      throw new InvalidPayloadException(
          "out record must have a data object or a control name, got ["
              + JsonCodec.abbreviate(json.toString())
              + "]");
    }
    switch (control) {
      case TURN_COMPLETE:
        if (!(json.get("sessionInEventId") instanceof JsonNumber n)) {
          throw new InvalidPayloadException("turn-complete needs a numeric sessionInEventId");
        }
        return new OutEvent.TurnComplete(n.longValue());
      case UPGRADE_REQUIRED:
        return new OutEvent.UpgradeRequired();
      default:
        throw new InvalidPayloadException("unknown out control record [" + control + "]");
    }
  }

  /**
   * Whether the stored text may hold a control record. False only when it cannot: every control
   * record has a {@code "control"} member, and {@link #encode} writes that name literally. Lets a
   * scan for {@code turn-complete} records skip the far more frequent chunk records unparsed.
   */
  public static boolean mayBeControl(String payload) {
    return payload.contains("\"control\"");
  }
}
