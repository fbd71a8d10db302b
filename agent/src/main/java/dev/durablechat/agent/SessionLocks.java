package dev.durablechat.agent;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One lock per session, held only while someone needs it: an entry exists while a thread holds or
 * waits for the session's lock and is removed when the last one leaves, so a long-lived runtime
 * keeps no entry for the sessions it served. Reentrant, so a runtime method that holds a session's
 * lock may call another that takes it again.
 */
final class SessionLocks {
  private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();

  /** A lock and how many threads hold it or wait for it (changed only inside the map's compute). */
  private static final class Entry {
    final ReentrantLock lock = new ReentrantLock();
    int users;
  }

  /**
   * Takes the session's lock, waiting for it; pair with {@link #unlock} in a {@code finally}, as
   * with a {@code synchronized} block.
   */
  void lock(String sessionId) {
    Entry entry =
        entries.compute(
            sessionId,
            (id, e) -> {
              Entry held = e == null ? new Entry() : e;
              held.users++;
              return held;
            });
    entry.lock.lock();
  }

  /**
   * Releases the session's lock that this thread took with {@link #lock}; the entry goes when no
   * thread holds or waits for it any more.
   *
   * @throws IllegalMonitorStateException if this thread does not hold it
   */
  void unlock(String sessionId) {
    Entry entry = entries.get(sessionId);
    if (entry == null) {
      throw new IllegalMonitorStateException("session [" + sessionId + "] is not locked");
    }
    entry.lock.unlock();
    entries.computeIfPresent(sessionId, (id, e) -> --e.users == 0 ? null : e);
  }

  /** How many sessions have an entry now (for tests: none once nobody holds a lock). */
  int size() {
    return entries.size();
  }
}
