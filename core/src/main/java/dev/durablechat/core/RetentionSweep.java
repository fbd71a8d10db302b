package dev.durablechat.core;

/**
 * What one retention sweep did ({@link DurableChat#sweepRetention()}).
 *
 * @param expiredClosed expired sessions it closed with the reason {@code expired}
 * @param deleted closed sessions it deleted after their grace period
 * @param snapshotsDeleted snapshots of deleted sessions it deleted (or found gone) and cleared
 */
public record RetentionSweep(int expiredClosed, int deleted, int snapshotsDeleted) {}
