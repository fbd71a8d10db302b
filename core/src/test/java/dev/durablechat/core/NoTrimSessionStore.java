package dev.durablechat.core;

import dev.durablechat.api.StreamKind;
import dev.durablechat.api.UnsupportedCapabilityException;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoreCapability;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real memory store seen through a wrapper that declares no capabilities, as a backend that
 * cannot trim does: {@link #trim} refuses and changes nothing (not a mock: every other call reaches
 * the real store).
 */
final class NoTrimSessionStore extends ForwardingSessionStore {
  final AtomicInteger trims = new AtomicInteger();

  NoTrimSessionStore(SessionStore delegate) {
    super(delegate);
  }

  @Override
  public Set<StoreCapability> capabilities() {
    return Set.of();
  }

  @Override
  public long trim(String sessionId, StreamKind stream, long throughSeq) {
    trims.incrementAndGet();
    throw new UnsupportedCapabilityException("session store [no-trim] cannot trim");
  }
}
