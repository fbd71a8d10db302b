package dev.durablechat.core;

import dev.durablechat.api.Environment;
import dev.durablechat.api.Session;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.spi.AppendResult;
import dev.durablechat.api.spi.CreateOutcome;
import dev.durablechat.api.spi.NewRecord;
import dev.durablechat.api.spi.NewSession;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoreCapability;
import dev.durablechat.api.spi.StoredRecord;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * A session store that passes every call to a real one; tests extend it to observe or restrict one
 * behaviour (not a mock: whatever is not overridden reaches the real store).
 */
abstract class ForwardingSessionStore implements SessionStore {
  final SessionStore delegate;

  ForwardingSessionStore(SessionStore delegate) {
    this.delegate = delegate;
  }

  @Override
  public Set<StoreCapability> capabilities() {
    return delegate.capabilities();
  }

  @Override
  public CreateOutcome createSession(NewSession session) {
    return delegate.createSession(session);
  }

  @Override
  public Optional<Session> findByFriendlyId(Environment environment, String friendlyId) {
    return delegate.findByFriendlyId(environment, friendlyId);
  }

  @Override
  public Optional<Session> findByExternalId(Environment environment, String externalId) {
    return delegate.findByExternalId(environment, externalId);
  }

  @Override
  public Session closeSession(String sessionId, @Nullable String reason, Instant at) {
    return delegate.closeSession(sessionId, reason, at);
  }

  @Override
  public Session swapRun(
      String sessionId,
      long expectedVersion,
      @Nullable String expectedRunId,
      SessionRun newRun,
      Instant now) {
    return delegate.swapRun(sessionId, expectedVersion, expectedRunId, newRun, now);
  }

  @Override
  public SessionRun endRun(String sessionId, String runId, Instant at, String endReason) {
    return delegate.endRun(sessionId, runId, at, endReason);
  }

  @Override
  public SessionRun renewRun(String sessionId, String runId, Instant now) {
    return delegate.renewRun(sessionId, runId, now);
  }

  @Override
  public List<SessionRun> runs(String sessionId) {
    return delegate.runs(sessionId);
  }

  @Override
  public AppendResult append(
      String sessionId,
      StreamKind stream,
      List<NewRecord> records,
      @Nullable String fencingRunId,
      Instant now) {
    return delegate.append(sessionId, stream, records, fencingRunId, now);
  }

  @Override
  public List<StoredRecord> read(String sessionId, StreamKind stream, long afterSeq, int limit) {
    return delegate.read(sessionId, stream, afterSeq, limit);
  }

  @Override
  public long lastSeq(String sessionId, StreamKind stream) {
    return delegate.lastSeq(sessionId, stream);
  }

  @Override
  public long trim(String sessionId, StreamKind stream, long throughSeq) {
    return delegate.trim(sessionId, stream, throughSeq);
  }

  @Override
  public AutoCloseable watch(String sessionId, StreamKind stream, Runnable onAppend) {
    return delegate.watch(sessionId, stream, onAppend);
  }

  @Override
  public void close() {
    delegate.close();
  }
}
