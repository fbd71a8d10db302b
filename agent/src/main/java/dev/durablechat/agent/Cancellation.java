package dev.durablechat.agent;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** A one-shot stop signal for one turn; waits on it end early when it fires (L7). */
final class Cancellation {
  private final CountDownLatch fired = new CountDownLatch(1);

  void cancel() {
    fired.countDown();
  }

  boolean isCancelled() {
    return fired.getCount() == 0;
  }

  /** Waits up to the duration; true if the signal fired (at once or while waiting). */
  boolean await(Duration duration) {
    try {
      return fired.await(Math.max(0, duration.toNanos()), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return isCancelled();
    }
  }
}
