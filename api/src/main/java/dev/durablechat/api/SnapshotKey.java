package dev.durablechat.api;

import org.jspecify.annotations.Nullable;

/**
 * Where a session's snapshot lives (H1): {@code
 * packets/{projectRef}/{envSlug}/sessions/{sessionId}/snapshot.json}, or one of the immutable
 * segment objects beside it, {@code .../sessions/{sessionId}/seg-{segment}.json}, that a manifest
 * in {@code snapshot.json} names.
 *
 * <p>A snapshot store keeps every key as its own object: the segment keys need no other store
 * method than {@code snapshot.json} does. The engine creates a segment once under a fresh name (a
 * write expecting no version) and never changes it.
 *
 * @param environment the session's environment
 * @param sessionId the session's friendly id
 * @param segment the segment's name, or null for the session's {@code snapshot.json}
 */
public record SnapshotKey(Environment environment, String sessionId, @Nullable String segment) {

  /** The file name prefix of segment objects in a session's folder: {@value}. */
  public static final String SEGMENT_PREFIX = "seg-";

  /** Requires a friendly session id and a segment name of at most 64 letters, digits, - or _. */
  public SnapshotKey {
    if (environment == null) {
      throw new NullPointerException("environment must not be null");
    }
    if (sessionId == null
        || !sessionId.startsWith(Session.FRIENDLY_ID_PREFIX)
        || !sessionId.matches("[A-Za-z0-9_-]{1,128}")) {
      throw new InvalidInputException(
          "snapshot session id [" + sessionId + "] must be a friendly id (session_...)");
    }
    if (segment != null && !segment.matches("[A-Za-z0-9_-]{1,64}")) {
      throw new InvalidInputException(
          "snapshot segment name [" + segment + "] must be 1 to 64 letters, digits, '-' or '_'");
    }
  }

  /** The key of the session's {@code snapshot.json}. */
  public SnapshotKey(Environment environment, String sessionId) {
    this(environment, sessionId, null);
  }

  /** The key of the segment object {@code name} beside this session's {@code snapshot.json}. */
  public SnapshotKey withSegment(String name) {
    return new SnapshotKey(environment, sessionId, name);
  }

  /** The key of this session's {@code snapshot.json} (this key if it is that one). */
  public SnapshotKey withoutSegment() {
    return segment == null ? this : new SnapshotKey(environment, sessionId, null);
  }

  /** Whether this is a segment's key rather than the session's {@code snapshot.json}. */
  public boolean isSegment() {
    return segment != null;
  }

  /** The object key / relative path, with forward slashes. */
  public String path() {
    return folder() + (segment == null ? "snapshot.json" : SEGMENT_PREFIX + segment + ".json");
  }

  /**
   * The session's folder, {@code packets/{projectRef}/{envSlug}/sessions/{sessionId}/}, with the
   * trailing slash: every key of the session, its snapshot and its segments, starts with it.
   */
  public String folder() {
    return "packets/"
        + environment.projectRef()
        + "/"
        + environment.envSlug()
        + "/sessions/"
        + sessionId
        + "/";
  }
}
