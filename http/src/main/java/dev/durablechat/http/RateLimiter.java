package dev.durablechat.http;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A token bucket per key (T4: appends per session token): {@code permits} at once, refilled at
 * {@code permits} per {@code window}. Buckets that have refilled completely are forgotten (a fresh
 * bucket is the same), so memory follows the keys active within one window.
 */
final class RateLimiter {
  private static final int SWEEP_EVERY = 1024;

  private final int permits;
  private final long windowNanos;
  private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();
  private final AtomicLong calls = new AtomicLong();

  RateLimiter(int permits, Duration window) {
    this.permits = permits;
    this.windowNanos = window.toNanos();
  }

  /**
   * Takes one permit for the key.
   *
   * @return 0 if taken, else how many nanoseconds until one is available (nothing was taken)
   */
  long acquire(String key) {
    long now = System.nanoTime();
    if (calls.incrementAndGet() % SWEEP_EVERY == 0) {
      buckets.values().removeIf(b -> b.full(now));
    }
    Bucket bucket = buckets.computeIfAbsent(key, k -> new Bucket(now));
    return bucket.take(now);
  }

  /** Nanoseconds to refill one permit. */
  private double nanosPerPermit() {
    return (double) windowNanos / permits;
  }

  private final class Bucket {
    private double available;
    private long refilledAt;

    Bucket(long now) {
      this.available = permits;
      this.refilledAt = now;
    }

    synchronized long take(long now) {
      refill(now);
      if (available >= 1) {
        available -= 1;
        return 0;
      }
      return (long) Math.ceil((1 - available) * nanosPerPermit());
    }

    synchronized boolean full(long now) {
      refill(now);
      return available >= permits;
    }

    private void refill(long now) {
      long elapsed = now - refilledAt;
      if (elapsed > 0) {
        available = Math.min(permits, available + elapsed / nanosPerPermit());
        refilledAt = now;
      }
    }
  }
}
