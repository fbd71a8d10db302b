package dev.durablechat.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/** Records what a publisher signals; the test drives demand by hand. */
class TestSubscriber<T> implements Flow.Subscriber<T> {
  private final BlockingQueue<T> items = new LinkedBlockingQueue<>();
  private final CountDownLatch subscribed = new CountDownLatch(1);
  private final CountDownLatch terminated = new CountDownLatch(1);
  private final AtomicInteger concurrent = new AtomicInteger();
  private volatile boolean overlapped;
  private volatile Flow.@Nullable Subscription subscription;
  private volatile @Nullable Throwable error;
  private volatile boolean completed;

  @Override
  public void onSubscribe(Flow.Subscription s) {
    subscription = s;
    subscribed.countDown();
  }

  @Override
  public void onNext(T item) {
    if (concurrent.incrementAndGet() != 1) {
      overlapped = true;
    }
    items.add(item);
    concurrent.decrementAndGet();
  }

  @Override
  public void onError(Throwable t) {
    error = t;
    terminated.countDown();
  }

  @Override
  public void onComplete() {
    completed = true;
    terminated.countDown();
  }

  Flow.Subscription subscription() throws InterruptedException {
    assertThat(subscribed.await(5, TimeUnit.SECONDS)).as("onSubscribe within 5 s").isTrue();
    return subscription;
  }

  void request(long n) throws InterruptedException {
    subscription().request(n);
  }

  void cancel() throws InterruptedException {
    subscription().cancel();
  }

  T next() throws InterruptedException {
    T item = items.poll(5, TimeUnit.SECONDS);
    assertThat(item).as("an item within 5 s").isNotNull();
    return item;
  }

  List<T> next(int n) throws InterruptedException {
    List<T> list = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      list.add(next());
    }
    return list;
  }

  /**
   * Asserts that nothing has arrived. Delivery is asynchronous: call it after a marker that arrives
   * after anything that could have been delivered (e.g. {@code TailTest.settle()}).
   */
  void expectNothing() {
    assertThat(items).as("no item").isEmpty();
  }

  Throwable awaitError() throws InterruptedException {
    assertThat(terminated.await(5, TimeUnit.SECONDS)).as("terminated within 5 s").isTrue();
    assertThat(completed).isFalse();
    return error;
  }

  boolean overlapped() {
    return overlapped;
  }
}
