package dev.durablechat.agent;

import dev.durablechat.api.Session;
import dev.durablechat.core.DurableChat;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An {@link AgentRuntime}'s recovery sweep (S12): at start, and then every half lease, asks the
 * store for the sessions of the runtime's agents whose run died (running, its lease expired) or
 * whose {@code in} grew while no run served them, and hands each to the runtime, which takes it
 * over through the compare-and-set of S8 (of several nodes sweeping at once one wins). Also checks
 * single sessions on request (a reader connected to one). Everything runs on one named daemon
 * thread ({@code durablechat-agent-recovery}), never on the lease thread, whose renewals must not
 * wait for a sweep.
 *
 * <p>Bounded: the store answers from an index in pages of {@link #BATCH}, and one sweep looks at
 * most at {@link #MAX_PER_SWEEP} sessions, the next sweep going on after the last one seen, so a
 * store with a million sessions costs what one with a hundred does when as few need a run.
 */
final class RecoverySweep {
  // Logged as the runtime: operators know its name, and recovery is its behaviour.
  private static final Logger LOG = LoggerFactory.getLogger(AgentRuntime.class);

  /** Sessions asked of the store at a time. */
  static final int BATCH = 100;

  /** Sessions one sweep looks at, at most; the next sweep goes on from there. */
  static final int MAX_PER_SWEEP = 1_000;

  /** Reader checks waiting at most; more are dropped (the sweep finds those sessions anyway). */
  static final int MAX_PENDING_CHECKS = 10_000;

  private final DurableChat chat;
  private final Set<String> agentIds;
  private final Duration lease;
  private final BooleanSupplier closing;
  private final Consumer<String> recover;
  private final Consumer<String> check;
  private final ScheduledThreadPoolExecutor timer;
  private final Set<String> pending = ConcurrentHashMap.newKeySet();
  // Where the next sweep starts, when the last one stopped at MAX_PER_SWEEP; the timer thread's.
  private @Nullable String resumeAfter;

  /**
   * @param recover called with each session the store found
   * @param check called with each session a reader connected to
   */
  RecoverySweep(
      DurableChat chat,
      Set<String> agentIds,
      Duration lease,
      BooleanSupplier closing,
      Consumer<String> recover,
      Consumer<String> check) {
    this.chat = chat;
    this.agentIds = Set.copyOf(agentIds);
    this.lease = lease;
    this.closing = closing;
    this.recover = recover;
    this.check = check;
    this.timer =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, "durablechat-agent-recovery");
              t.setDaemon(true);
              return t;
            });
    timer.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
  }

  /** The period between sweeps: half a lease, so a dead run is taken over within 1.5 leases. */
  Duration period() {
    return Duration.ofMillis(Math.max(50, lease.toMillis() / 2));
  }

  /** Sweeps now, and then every {@link #period()}. */
  void start() {
    timer.scheduleWithFixedDelay(this::sweep, 0, period().toMillis(), TimeUnit.MILLISECONDS);
  }

  /** One sweep; a failure is logged and the next sweep tries again. */
  private void sweep() {
    try {
      Instant aliveBefore = chat.clock().instant().minus(lease);
      String after = resumeAfter;
      int seen = 0;
      while (!closing.getAsBoolean()) {
        List<Session> page = chat.sessionsToRecover(agentIds, aliveBefore, after, BATCH);
        for (Session session : page) {
          if (closing.getAsBoolean()) {
            return;
          }
          hand(recover, session.friendlyId());
        }
        seen += page.size();
        if (page.size() < BATCH) {
          resumeAfter = null;
          return;
        }
        after = page.get(page.size() - 1).friendlyId();
        if (seen >= MAX_PER_SWEEP) {
          resumeAfter = after;
          return;
        }
      }
    } catch (RuntimeException e) {
      if (closing.getAsBoolean() || chat.isClosed()) {
        return;
      }
      LOG.warn("recovery sweep failed; the next one tries again in [{}]", period(), e);
    }
  }

  /** Looks at the session soon (a reader connected to it); one pending check per session. */
  void check(String sessionId) {
    if (closing.getAsBoolean() || pending.size() >= MAX_PENDING_CHECKS || !pending.add(sessionId)) {
      return;
    }
    try {
      timer.execute(
          () -> {
            pending.remove(sessionId);
            if (!closing.getAsBoolean()) {
              hand(check, sessionId);
            }
          });
    } catch (RejectedExecutionException e) {
      pending.remove(sessionId); // closing
    }
  }

  private void hand(Consumer<String> to, String sessionId) {
    try {
      to.accept(sessionId);
    } catch (RuntimeException e) {
      if (!closing.getAsBoolean() && !chat.isClosed()) {
        LOG.warn("session [{}]: recovery failed; the next sweep tries again", sessionId, e);
      }
    }
  }

  /** How many reader checks wait. */
  int pending() {
    return pending.size();
  }

  /** Stops sweeping; a sweep under way ends after its current session. */
  void close() {
    // Not shutdownNow(): an interrupt in the middle of a JDBC call can close an H2 file database.
    timer.shutdown();
  }
}
