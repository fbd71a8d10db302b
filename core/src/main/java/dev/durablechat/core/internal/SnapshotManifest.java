package dev.durablechat.core.internal;

import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonNumber;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.SnapshotKey;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The version 2 content of {@code snapshot.json} (PROTOCOL H1): a small manifest naming the
 * immutable segment objects beside it, instead of the whole history. Not public API.
 *
 * <pre>{@code
 * {"version":2,"savedAt":"...","lastOutEventId":N,"lastInEventId":M,"messages":<count>,
 *  "segments":[{"name":"...","from":0,"count":C,"bytes":B,"tier":2}, ...]}
 * }</pre>
 *
 * <p>The history is rebuilt by applying the segments in order to an empty list: each one truncates
 * the list to {@code from} messages, then appends its {@code count} messages. The first segment is
 * the base ({@code from} 0); the list ends with {@code messages} messages. A segment's object is
 * {@link SnapshotKey#withSegment} of its name and holds a version 1 snapshot document ({@link
 * SnapshotCodec}) whose messages are the segment's; {@code bytes} is that object's size and {@code
 * tier} how many merges it went through (0: one turn, 1: merged turns, 2: a base); {@code dead},
 * written when not 0, is how many of its bytes later segments truncated away.
 *
 * @param savedAt when the manifest was written
 * @param lastOutEventId the {@code out} event the history is complete up to
 * @param lastInEventId the highest {@code in} event folded into the history
 * @param messages how many messages the history has
 * @param segments the segments, in the order they are applied; the first is the base
 */
public record SnapshotManifest(
    Instant savedAt,
    long lastOutEventId,
    long lastInEventId,
    int messages,
    List<Segment> segments) {

  /** The format version of a manifest. */
  public static final int VERSION = 2;

  // Every manifest this class writes starts with these bytes: the cheap test that tells a
  // manifest from a version 1 document without parsing the (possibly large) latter.
  private static final byte[] PREFIX =
      ("{\"version\":" + VERSION + ",").getBytes(StandardCharsets.UTF_8);

  /** Copies the segments. */
  public SnapshotManifest {
    segments = List.copyOf(segments);
  }

  /**
   * One segment of a manifest.
   *
   * @param name its name, for {@link SnapshotKey#withSegment}
   * @param from how many messages the history is truncated to before this segment's are appended
   * @param count how many messages it appends
   * @param bytes the size of its object
   * @param tier 0 for one turn, 1 for merged turns, 2 for a base
   * @param dead how many of its bytes later segments truncated away (so a rebuild parses them for
   *     nothing)
   */
  public record Segment(String name, int from, int count, long bytes, int tier, long dead) {
    /** A segment none of whose bytes are dead yet. */
    public Segment(String name, int from, int count, long bytes, int tier) {
      this(name, from, count, bytes, tier, 0);
    }

    /** This segment with {@code more} of its bytes dead. */
    public Segment plusDead(long more) {
      return new Segment(name, from, count, bytes, tier, Math.min(bytes, dead + more));
    }
  }

  /** Whether the content is a manifest (as this class writes it) rather than a full document. */
  public static boolean isManifest(byte[] content) {
    if (content.length < PREFIX.length) {
      return false;
    }
    for (int i = 0; i < PREFIX.length; i++) {
      if (content[i] != PREFIX[i]) {
        return false;
      }
    }
    return true;
  }

  /** The manifest's JSON document as UTF-8 bytes. */
  public byte[] encode() {
    var list = new ArrayList<JsonValue>(segments.size());
    for (Segment s : segments) {
      JsonObject.Builder segment =
          JsonObject.builder()
              .put("name", s.name())
              .put("from", s.from())
              .put("count", s.count())
              .put("bytes", s.bytes())
              .put("tier", s.tier());
      if (s.dead() > 0) {
        segment.put("dead", s.dead());
      }
      list.add(segment.build());
    }
    return JsonCodec.writeBytes(
        JsonObject.builder()
            .put("version", VERSION)
            .put("savedAt", savedAt.toString())
            .put("lastOutEventId", lastOutEventId)
            .put("lastInEventId", lastInEventId)
            .put("messages", messages)
            .put("segments", JsonArray.adopt(list))
            .build());
  }

  /**
   * Reads a manifest.
   *
   * @throws InvalidPayloadException if the content is not a valid version 2 manifest, naming what
   *     is wrong
   */
  public static SnapshotManifest decode(byte[] content) {
    JsonObject json;
    try {
      json = JsonCodec.parseObject(content);
    } catch (InvalidPayloadException e) {
      throw new InvalidPayloadException("snapshot manifest is not readable: " + e.getMessage(), e);
    }
    long version = number(json, "version", "");
    if (version != VERSION) {
      throw new InvalidPayloadException(
          "snapshot manifest version [" + version + "] is not supported, expected [2]");
    }
    String rawSavedAt = json.string("savedAt").orElse(null);
    Instant savedAt;
    try {
      savedAt = Instant.parse(String.valueOf(rawSavedAt));
    } catch (DateTimeParseException e) {
      throw new InvalidPayloadException(
          "snapshot manifest savedAt [" + rawSavedAt + "] is not an ISO-8601 instant", e);
    }
    long lastOut = number(json, "lastOutEventId", "");
    long lastIn = number(json, "lastInEventId", "");
    long messages = number(json, "messages", "");
    if (lastOut < 0 || lastIn < 0 || messages < 0 || messages > Integer.MAX_VALUE) {
      throw new InvalidPayloadException(
          "snapshot manifest watermarks and count must be non-negative, got out ["
              + lastOut
              + "] in ["
              + lastIn
              + "] messages ["
              + messages
              + "]");
    }
    if (!(json.get("segments") instanceof JsonArray array) || array.size() == 0) {
      throw new InvalidPayloadException(
          "snapshot manifest segments must be a non-empty array, got "
              + describe(json.get("segments")));
    }
    var segments = new ArrayList<Segment>(array.size());
    long length = 0;
    for (int i = 0; i < array.size(); i++) {
      String where = ".segments[" + i + "]";
      if (!(array.get(i) instanceof JsonObject s)) {
        throw new InvalidPayloadException(
            "snapshot manifest" + where + " must be an object, got " + describe(array.get(i)));
      }
      String name = s.string("name").orElse(null);
      if (name == null || !name.matches("[A-Za-z0-9_-]{1,64}")) {
        throw new InvalidPayloadException(
            "snapshot manifest" + where + ".name [" + name + "] is not a segment name");
      }
      long from = number(s, "from", where);
      long count = number(s, "count", where);
      long bytes = number(s, "bytes", where);
      long tier = number(s, "tier", where);
      long dead = s.get("dead") == null ? 0 : number(s, "dead", where);
      if (from < 0
          || from > length
          || (i == 0 && from != 0)
          || count < 0
          || bytes < 0
          || tier < 0
          || tier > 2
          || dead < 0
          || dead > bytes) {
        throw new InvalidPayloadException(
            "snapshot manifest"
                + where
                + " truncates to ["
                + from
                + "] of ["
                + length
                + "] messages and appends ["
                + count
                + "]: not a valid segment");
      }
      length = from + count;
      segments.add(new Segment(name, (int) from, (int) count, bytes, (int) tier, dead));
    }
    if (length != messages) {
      throw new InvalidPayloadException(
          "snapshot manifest segments give ["
              + length
              + "] messages, the manifest says ["
              + messages
              + "]");
    }
    return new SnapshotManifest(savedAt, lastOut, lastIn, (int) messages, segments);
  }

  private static long number(JsonObject json, String field, String where) {
    if (json.get(field) instanceof JsonNumber n) {
      try {
        return n.longValue();
      } catch (ArithmeticException e) {
        throw new InvalidPayloadException(
            "snapshot manifest" + where + "." + field + " must be an integer, got [" + n + "]", e);
      }
    }
    throw new InvalidPayloadException(
        "snapshot manifest"
            + where
            + "."
            + field
            + " must be a number, got "
            + describe(json.get(field)));
  }

  private static String describe(@Nullable JsonValue value) {
    return value == null ? "nothing" : "[" + JsonCodec.abbreviate(value.toString()) + "]";
  }
}
