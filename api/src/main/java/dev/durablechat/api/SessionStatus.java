package dev.durablechat.api;

/** A session's status, derived from its timestamps (S4). */
public enum SessionStatus {
  /** Neither closed nor expired. */
  ACTIVE,
  /** {@code closedAt} is set. */
  CLOSED,
  /** {@code expiresAt} has passed. */
  EXPIRED
}
