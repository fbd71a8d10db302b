package dev.durablechat.storage.memory;

import dev.durablechat.api.Session;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.StreamKind;
import java.util.ArrayList;
import java.util.List;

/**
 * One session's state. The row is an immutable {@link Session} swapped under both stream locks
 * (taken {@code in} then {@code out}), so an append, which holds only its own stream's lock, sees a
 * row that cannot change until it is done: that is what makes the fencing and status checks atomic
 * with the append without a lock shared by both streams.
 */
final class MemorySession {
  final MemoryStream in = new MemoryStream();
  final MemoryStream out = new MemoryStream();

  /** Written only while both stream locks are held; read under either one, or racily by finds. */
  volatile Session row;

  /** The run audit trail, in the order the runs became current; guarded like {@link #row}. */
  final List<SessionRun> runs = new ArrayList<>();

  /**
   * Whether an {@code in} append landed while no run served the session and no run became current
   * since (a recovery mark); guarded like {@link #row}, also written under the {@code in} lock.
   */
  boolean unserved;

  /** The in record the session's runs are attempting, and how often they did; guarded like row. */
  long attemptInSeq;

  int attempts;

  /**
   * Set once, under both stream locks, when the session is deleted: a caller that found the session
   * before the delete and then waited for a lock learns here that it is gone.
   */
  volatile boolean deleted;

  /** When it was deleted; set with {@link #deleted}. */
  volatile java.time.@org.jspecify.annotations.Nullable Instant deletedAt;

  MemorySession(Session row) {
    this.row = row;
  }

  /** Whether the session's current run is running (the last run is the current one). */
  boolean runRunning() {
    if (runs.isEmpty()) {
      return false;
    }
    SessionRun last = runs.get(runs.size() - 1);
    return last.isRunning() && last.runId().equals(row.currentRunId());
  }

  MemoryStream stream(StreamKind kind) {
    return kind == StreamKind.IN ? in : out;
  }

  /** Takes both stream locks, in a fixed order so that two row changes cannot deadlock. */
  void lockRow() {
    in.lock.lock();
    out.lock.lock();
  }

  void unlockRow() {
    out.lock.unlock();
    in.lock.unlock();
  }
}
