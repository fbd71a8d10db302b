package dev.durablechat.storage.tck;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.jspecify.annotations.Nullable;

/**
 * Runs a task on several threads released together by a latch, so that they really race, and
 * collects what each one returned or threw.
 */
final class Race {
  private static final long TIMEOUT_SECONDS = 120;

  private Race() {}

  /** A task for thread number {@code i}. */
  @FunctionalInterface
  interface Task<T> {
    T run(int i) throws Exception;
  }

  /** What one thread got: a value, or the exception it threw. */
  record Outcome<T>(@Nullable T value, @Nullable Throwable error) {
    boolean ok() {
      return error == null;
    }
  }

  static <T> List<Outcome<T>> run(String name, int threads, Task<T> task) {
    var ready = new CountDownLatch(threads);
    var go = new CountDownLatch(1);
    var outcomes = new AtomicReferenceArray<Outcome<T>>(threads);
    var started = new ArrayList<Thread>(threads);
    for (int t = 0; t < threads; t++) {
      final int i = t;
      Thread thread =
          new Thread(
              () -> {
                ready.countDown();
                try {
                  go.await();
                  outcomes.set(i, new Outcome<>(task.run(i), null));
                } catch (Throwable e) {
                  outcomes.set(i, new Outcome<>(null, e));
                }
              },
              "tck-" + name + "-" + i);
      thread.setDaemon(true);
      thread.start();
      started.add(thread);
    }
    try {
      if (!ready.await(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        throw new AssertionError("race [" + name + "]: threads did not start");
      }
      go.countDown();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
      for (Thread thread : started) {
        thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        if (thread.isAlive()) {
          throw new AssertionError(
              "race [" + name + "]: thread [" + thread.getName() + "] did not finish in time");
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("race [" + name + "] interrupted", e);
    }
    var result = new ArrayList<Outcome<T>>(threads);
    for (int i = 0; i < threads; i++) {
      result.add(outcomes.get(i));
    }
    return result;
  }

  /** Rethrows the first unexpected exception, so a failed thread does not pass unnoticed. */
  static <T> List<T> values(List<Outcome<T>> outcomes) {
    var values = new ArrayList<T>(outcomes.size());
    for (Outcome<T> o : outcomes) {
      if (o.error() != null) {
        throw new AssertionError("a racing thread failed: " + o.error(), o.error());
      }
      values.add(o.value());
    }
    return values;
  }
}
