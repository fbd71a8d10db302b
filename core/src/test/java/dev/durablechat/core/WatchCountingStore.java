package dev.durablechat.core;

import dev.durablechat.api.StreamKind;
import dev.durablechat.api.spi.SessionStore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The real memory store, passed through, counting the watches that are open: lets a test see that a
 * cancelled tail released its watch. Every call goes to the real store; nothing is faked.
 */
final class WatchCountingStore extends ForwardingSessionStore {
  private final AtomicInteger open = new AtomicInteger();

  WatchCountingStore(SessionStore delegate) {
    super(delegate);
  }

  int openWatches() {
    return open.get();
  }

  @Override
  public AutoCloseable watch(String sessionId, StreamKind stream, Runnable onAppend) {
    AutoCloseable handle = delegate.watch(sessionId, stream, onAppend);
    open.incrementAndGet();
    AtomicBoolean closed = new AtomicBoolean();
    return () -> {
      if (closed.compareAndSet(false, true)) {
        open.decrementAndGet();
        handle.close();
      }
    };
  }
}
