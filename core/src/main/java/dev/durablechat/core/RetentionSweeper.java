package dev.durablechat.core;

import dev.durablechat.api.Environment;
import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.Session;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.UnsupportedCapabilityException;
import dev.durablechat.api.spi.SessionStore;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One engine's retention sweep (S11): closes expired sessions, deletes sessions closed longer than
 * the grace period, and deletes the snapshots of deleted sessions that are still recorded. Each
 * step reads the store in batches of {@link RetentionPolicy#batchSize()}, at most {@link
 * RetentionPolicy#MAX_BATCHES_PER_SWEEP} per sweep, through index-backed queries, so a sweep costs
 * the same whatever the store holds; what is left waits for the next sweep.
 */
final class RetentionSweeper {
  private static final Logger LOG = LoggerFactory.getLogger(RetentionSweeper.class);

  /** The reason an expired session is closed with. */
  static final String EXPIRED = "expired";

  private final DurableChat chat;
  private final RetentionPolicy policy;
  private final AtomicBoolean unsupportedLogged = new AtomicBoolean();
  private final Object running = new Object();

  RetentionSweeper(DurableChat chat, RetentionPolicy policy) {
    this.chat = chat;
    this.policy = policy;
  }

  /** One sweep; concurrent calls on this engine run one after the other. */
  RetentionSweep sweep() {
    synchronized (running) {
      int closed = policy.closeExpired() ? closeExpired() : 0;
      int deleted = policy.deleteClosedAfter() != null ? deleteClosed() : 0;
      int snapshots = deleteSnapshots();
      if (closed + deleted + snapshots > 0) {
        LOG.info(
            "retention sweep in [{}]: closed [{}] expired, deleted [{}] closed, [{}] snapshots",
            chat.environment(),
            closed,
            deleted,
            snapshots);
      }
      return new RetentionSweep(closed, deleted, snapshots);
    }
  }

  /** The periodic run: one sweep, failures logged (the next sweep tries again). */
  void run() {
    try {
      sweep();
    } catch (RuntimeException e) {
      if (chat.isClosed()) {
        return;
      }
      LOG.warn(
          "retention sweep in [{}] failed, the next one retries: {}",
          chat.environment(),
          e.toString());
    }
  }

  private int closeExpired() {
    SessionStore store = chat.sessionStore();
    Environment env = chat.environment();
    int n = 0;
    for (int batch = 0; batch < RetentionPolicy.MAX_BATCHES_PER_SWEEP; batch++) {
      List<Session> expired =
          store.expiredSessions(env, chat.clock().instant(), policy.batchSize());
      for (Session s : expired) {
        Instant at = s.expiresAt() != null ? s.expiresAt() : chat.clock().instant();
        try {
          chat.closeExpired(s.friendlyId(), EXPIRED, at);
          n++;
        } catch (NoSuchSessionException e) {
          // Deleted meanwhile (another node's sweep): nothing to close.
        }
      }
      if (expired.size() < policy.batchSize()) {
        break;
      }
    }
    return n;
  }

  private int deleteClosed() {
    SessionStore store = chat.sessionStore();
    Environment env = chat.environment();
    Duration grace = policy.deleteClosedAfter();
    int n = 0;
    for (int batch = 0; batch < RetentionPolicy.MAX_BATCHES_PER_SWEEP; batch++) {
      Instant cutoff = chat.clock().instant().minus(grace);
      List<Session> closed = store.closedSessions(env, cutoff, policy.batchSize());
      for (Session s : closed) {
        try {
          chat.deleteSession(s.friendlyId());
          n++;
        } catch (NoSuchSessionException e) {
          // Another node's sweep deleted it first.
        } catch (UnsupportedCapabilityException e) {
          if (unsupportedLogged.compareAndSet(false, true)) {
            LOG.warn(
                "retention: session store [{}] cannot delete sessions; closed ones are kept",
                store);
          }
          return n;
        }
      }
      if (closed.size() < policy.batchSize()) {
        break;
      }
    }
    return n;
  }

  private int deleteSnapshots() {
    SessionStore store = chat.sessionStore();
    int n = 0;
    for (int batch = 0; batch < RetentionPolicy.MAX_BATCHES_PER_SWEEP; batch++) {
      List<SnapshotKey> pending =
          store.pendingSnapshotDeletions(chat.environment(), policy.batchSize());
      int failed = 0;
      for (SnapshotKey key : pending) {
        if (chat.deleteSnapshot(key)) {
          n++;
        } else {
          failed++;
        }
      }
      // A failing snapshot store fails the whole batch again: wait for the next sweep.
      if (pending.size() < policy.batchSize() || failed > 0) {
        break;
      }
    }
    return n;
  }
}
