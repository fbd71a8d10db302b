package dev.durablechat.api;

import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.time.Instant;
import java.util.Base64;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Which sessions to list and from where: filters, a page size and an opaque cursor (keyset
 * pagination, newest first by default). Built with {@link #builder()}; every setter validates its
 * value and names it when it refuses one.
 *
 * <p>The order is by creation time, ties broken by friendly id, so a position in the list is a
 * {@code (createdAt, friendlyId)} pair that no later insert can move: paging through a list while
 * sessions are being created never shows a session twice and never skips one that existed when the
 * listing began (newest first, sessions created meanwhile sort before the cursor and are not shown;
 * oldest first, they may appear on a later page).
 *
 * <p>Every filter is optional and they combine with AND. Time ranges are half-open: {@code from}
 * inclusive, {@code to} exclusive. The status is the one at the store's {@code now} (S4).
 */
public final class SessionQuery {
  /** The page size when none is given. */
  public static final int DEFAULT_LIMIT = 50;

  /** The largest page a query may ask for. */
  public static final int MAX_LIMIT = 500;

  /** The longest agent id or tag a filter may name. */
  static final int MAX_FILTER_LENGTH = 512;

  private static final String CURSOR_VERSION = "c1";

  /** The order of a listing. */
  public enum Order {
    /** The most recently created session first (the default). */
    NEWEST_FIRST,
    /** The oldest session first. */
    OLDEST_FIRST
  }

  /**
   * A position in a listing: the sort key of the last session of the previous page.
   *
   * @param createdAt that session's creation time
   * @param friendlyId that session's friendly id (the tie-breaker)
   */
  public record Position(Instant createdAt, String friendlyId) {
    /** Requires both parts. */
    public Position {
      Objects.requireNonNull(createdAt, "created at");
      Objects.requireNonNull(friendlyId, "friendly id");
    }

    /** The position right after this session. */
    public static Position after(Session session) {
      return new Position(session.createdAt(), session.friendlyId());
    }
  }

  private final int limit;
  private final Order order;
  private final @Nullable Position after;
  private final @Nullable String agentId;
  private final @Nullable String tag;
  private final @Nullable SessionStatus status;
  private final @Nullable Instant createdFrom;
  private final @Nullable Instant createdTo;
  private final @Nullable Instant updatedFrom;
  private final @Nullable Instant updatedTo;

  private SessionQuery(Builder b) {
    this.limit = b.limit;
    this.order = b.order;
    this.after = b.after;
    this.agentId = b.agentId;
    this.tag = b.tag;
    this.status = b.status;
    this.createdFrom = b.createdFrom;
    this.createdTo = b.createdTo;
    this.updatedFrom = b.updatedFrom;
    this.updatedTo = b.updatedTo;
  }

  /** A builder for the first page of every session, newest first, {@link #DEFAULT_LIMIT} a page. */
  public static Builder builder() {
    return new Builder();
  }

  /** The first page of every session, newest first. */
  public static SessionQuery all() {
    return builder().build();
  }

  /** How many sessions a page holds at most. */
  public int limit() {
    return limit;
  }

  /** The order of the listing. */
  public Order order() {
    return order;
  }

  /** Where the page starts (exclusive), or null for the first page. */
  public @Nullable Position after() {
    return after;
  }

  /** Only sessions served by this agent, or null for any. */
  public @Nullable String agentId() {
    return agentId;
  }

  /** Only sessions whose trigger config carries this tag, or null for any. */
  public @Nullable String tag() {
    return tag;
  }

  /** Only sessions with this status at the store's {@code now}, or null for any. */
  public @Nullable SessionStatus status() {
    return status;
  }

  /** Only sessions created at or after this time, or null. */
  public @Nullable Instant createdFrom() {
    return createdFrom;
  }

  /** Only sessions created before this time, or null. */
  public @Nullable Instant createdTo() {
    return createdTo;
  }

  /** Only sessions last updated at or after this time, or null. */
  public @Nullable Instant updatedFrom() {
    return updatedFrom;
  }

  /** Only sessions last updated before this time, or null. */
  public @Nullable Instant updatedTo() {
    return updatedTo;
  }

  /**
   * Whether the session passes every filter of this query at {@code now} (not the position): the
   * one definition of the filters, for stores that filter in memory.
   */
  public boolean matches(Session s, Instant now) {
    return (agentId == null || agentId.equals(s.agentId()))
        && (tag == null || s.triggerConfig().tags().contains(tag))
        && (status == null || status == s.status(now))
        && (createdFrom == null || !s.createdAt().isBefore(createdFrom))
        && (createdTo == null || s.createdAt().isBefore(createdTo))
        && (updatedFrom == null || !s.updatedAt().isBefore(updatedFrom))
        && (updatedTo == null || s.updatedAt().isBefore(updatedTo));
  }

  /** Whether the session comes after this query's position in its order (true on a first page). */
  public boolean isAfterPosition(Session s) {
    if (after == null) {
      return true;
    }
    int c = s.createdAt().compareTo(after.createdAt());
    if (c == 0) {
      c = s.friendlyId().compareTo(after.friendlyId());
    }
    return order == Order.NEWEST_FIRST ? c < 0 : c > 0;
  }

  /** The opaque cursor that continues after the position, in this query's order. */
  public String cursorAfter(Position position) {
    String plain =
        CURSOR_VERSION
            + ":"
            + (order == Order.NEWEST_FIRST ? "d" : "a")
            + ":"
            + position.createdAt().getEpochSecond()
            + ":"
            + position.createdAt().getNano()
            + ":"
            + position.friendlyId();
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(plain.getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public String toString() {
    return "SessionQuery[limit="
        + limit
        + ", order="
        + order
        + ", after="
        + after
        + ", agentId="
        + agentId
        + ", tag="
        + tag
        + ", status="
        + status
        + ", created=["
        + createdFrom
        + ", "
        + createdTo
        + "), updated=["
        + updatedFrom
        + ", "
        + updatedTo
        + ")]";
  }

  /**
   * Builds a {@link SessionQuery}; each setter refuses a bad value with {@link
   * InvalidInputException}.
   */
  public static final class Builder {
    private int limit = DEFAULT_LIMIT;
    private Order order = Order.NEWEST_FIRST;
    private @Nullable Position after;
    private @Nullable String cursor;
    private @Nullable Order cursorOrder;
    private @Nullable String agentId;
    private @Nullable String tag;
    private @Nullable SessionStatus status;
    private @Nullable Instant createdFrom;
    private @Nullable Instant createdTo;
    private @Nullable Instant updatedFrom;
    private @Nullable Instant updatedTo;

    private Builder() {}

    /** The page size, 1 to {@link #MAX_LIMIT}. */
    public Builder limit(int limit) {
      if (limit < 1 || limit > MAX_LIMIT) {
        throw new InvalidInputException("limit [" + limit + "] must be between 1 and " + MAX_LIMIT);
      }
      this.limit = limit;
      return this;
    }

    /** The order (default {@link Order#NEWEST_FIRST}). */
    public Builder order(Order order) {
      this.order = Objects.requireNonNull(order, "order");
      return this;
    }

    /**
     * Continue after the page that returned this cursor ({@link SessionPage#nextCursor()}); null
     * starts at the first page.
     *
     * @throws InvalidInputException naming the cursor if it is not one this library made
     */
    public Builder cursor(@Nullable String cursor) {
      if (cursor == null) {
        this.after = null;
        this.cursor = null;
        this.cursorOrder = null;
        return this;
      }
      String plain;
      try {
        plain = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        throw malformed(cursor, "not base64url");
      }
      String[] parts = plain.split(":", 5);
      if (parts.length != 5 || !parts[0].equals(CURSOR_VERSION)) {
        throw malformed(cursor, "unknown format");
      }
      Order o;
      if (parts[1].equals("d")) {
        o = Order.NEWEST_FIRST;
      } else if (parts[1].equals("a")) {
        o = Order.OLDEST_FIRST;
      } else {
        throw malformed(cursor, "unknown order");
      }
      Instant at;
      try {
        at = Instant.ofEpochSecond(Long.parseLong(parts[2]), Long.parseLong(parts[3]));
      } catch (NumberFormatException | DateTimeException | ArithmeticException e) {
        throw malformed(cursor, "bad time");
      }
      if (!parts[4].startsWith(Session.FRIENDLY_ID_PREFIX)) {
        throw malformed(cursor, "bad session id");
      }
      this.after = new Position(at, parts[4]);
      this.cursor = cursor;
      this.cursorOrder = o;
      return this;
    }

    /** Only sessions of this agent (null: any). */
    public Builder agentId(@Nullable String agentId) {
      this.agentId = checkFilter("agent id", agentId);
      return this;
    }

    /** Only sessions carrying this tag (null: any). */
    public Builder tag(@Nullable String tag) {
      this.tag = checkFilter("tag", tag);
      return this;
    }

    /** Only sessions with this status (null: any). */
    public Builder status(@Nullable SessionStatus status) {
      this.status = status;
      return this;
    }

    /** Only sessions created in {@code [from, to)}; either bound may be null. */
    public Builder created(@Nullable Instant from, @Nullable Instant to) {
      checkRange("created", from, to);
      this.createdFrom = from;
      this.createdTo = to;
      return this;
    }

    /** Only sessions last updated in {@code [from, to)}; either bound may be null. */
    public Builder updated(@Nullable Instant from, @Nullable Instant to) {
      checkRange("updated", from, to);
      this.updatedFrom = from;
      this.updatedTo = to;
      return this;
    }

    /**
     * The query.
     *
     * @throws InvalidInputException if the cursor was made for the other order
     */
    public SessionQuery build() {
      if (cursorOrder != null && cursorOrder != order) {
        throw new InvalidInputException(
            "cursor ["
                + cursor
                + "] continues a listing in order ["
                + cursorOrder
                + "], not ["
                + order
                + "]");
      }
      return new SessionQuery(this);
    }

    private static @Nullable String checkFilter(String what, @Nullable String value) {
      if (value == null) {
        return null;
      }
      if (value.isBlank() || value.length() > MAX_FILTER_LENGTH) {
        throw new InvalidInputException(
            what
                + " filter ["
                + value
                + "] must be 1 to "
                + MAX_FILTER_LENGTH
                + " characters, not blank");
      }
      return value;
    }

    private static void checkRange(String what, @Nullable Instant from, @Nullable Instant to) {
      if (from != null && to != null && !from.isBefore(to)) {
        throw new InvalidInputException(
            what + " range [" + from + ", " + to + ") is empty: from must be before to");
      }
    }

    private static InvalidInputException malformed(String cursor, String why) {
      String shown = cursor.length() > 64 ? cursor.substring(0, 64) + "..." : cursor;
      return new InvalidInputException("cursor [" + shown + "] is malformed (" + why + ")");
    }
  }
}
