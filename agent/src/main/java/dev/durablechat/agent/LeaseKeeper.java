package dev.durablechat.agent;

import dev.durablechat.api.FencedException;
import dev.durablechat.api.SessionRun;
import dev.durablechat.core.DurableChat;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The run leases of an {@link AgentRuntime} (S8): renews the lease of every run the runtime
 * executes, every third of the lease, and stops a run that lost its session; watches runs that
 * serve a session on another node and looks at the session again once such a run's lease would have
 * expired. Everything runs on one named daemon thread ({@code durablechat-agent-lease}).
 */
final class LeaseKeeper {
  // Logged as the runtime: operators know its name, and the lease is its behaviour.
  private static final Logger LOG = LoggerFactory.getLogger(AgentRuntime.class);

  private final DurableChat chat;
  private final Duration lease;
  private final boolean leases;
  private final BooleanSupplier closing;
  private final Consumer<String> lookAgain;
  private final ScheduledThreadPoolExecutor timer;
  private final Map<String, ScheduledFuture<?>> watches = new ConcurrentHashMap<>();

  /**
   * @param loops the runs the runtime executes now
   * @param closing whether the runtime is closing
   * @param lookAgain called with a watched session's id when its run's lease would have expired
   */
  LeaseKeeper(
      DurableChat chat,
      Duration lease,
      Supplier<Collection<RunLoop<?>>> loops,
      BooleanSupplier closing,
      Consumer<String> lookAgain) {
    this.chat = chat;
    this.lease = lease;
    this.leases = chat.keepsRunLeases();
    this.closing = closing;
    this.lookAgain = lookAgain;
    this.timer =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, "durablechat-agent-lease");
              t.setDaemon(true);
              return t;
            });
    // close() lets a renewal under way finish and drops the watches still waiting.
    timer.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    if (leases) {
      long every = Math.max(1, lease.toMillis() / 3);
      timer.scheduleWithFixedDelay(() -> renew(loops.get()), every, every, TimeUnit.MILLISECONDS);
    }
  }

  /** Whether the store keeps run leases at all. */
  boolean enabled() {
    return leases;
  }

  /** The lease every node must use. */
  Duration lease() {
    return lease;
  }

  /** Whether another owner's lease on the run still holds. */
  boolean holds(SessionRun run) {
    return leases
        && run.isRunning()
        && run.lastAliveAt().plus(lease).isAfter(chat.clock().instant());
  }

  /**
   * Watches a run that serves the session elsewhere: once its lease would have expired, the session
   * is looked at again (taking over if it expired, answering a backlog if it ended). One watch per
   * session; the look decides whether to watch again.
   */
  void watch(String sessionId, SessionRun run) {
    if (!leases || closing.getAsBoolean()) {
      return;
    }
    Duration untilExpiry =
        Duration.between(chat.clock().instant(), run.lastAliveAt().plus(lease)).plusMillis(50);
    long delay = Math.max(50, untilExpiry.toMillis());
    watches.compute(
        sessionId,
        (id, pending) -> {
          if (pending != null && !pending.isDone()) {
            return pending;
          }
          try {
            return timer.schedule(() -> fire(id), delay, TimeUnit.MILLISECONDS);
          } catch (RejectedExecutionException e) {
            return null; // closing
          }
        });
  }

  private void fire(String sessionId) {
    watches.remove(sessionId);
    if (!closing.getAsBoolean()) {
      lookAgain.accept(sessionId);
    }
  }

  /** How many sessions are watched now. */
  int watched() {
    return watches.size();
  }

  /**
   * Renews the lease of every run the runtime executes; runs that lost theirs stop, and runs whose
   * session was closed end.
   */
  private void renew(Collection<RunLoop<?>> loops) {
    for (RunLoop<?> loop : loops) {
      if (loop.retired() || closing.getAsBoolean()) {
        continue;
      }
      try {
        chat.renewRun(loop.sessionId, loop.run.runId());
        loop.renewed(System.nanoTime());
        // A close made through another node's engine reaches this run here, within a third of a
        // lease (a close through this node's engine reached it at once).
        if (chat.session(loop.sessionId).closedAt() != null && !loop.retired()) {
          loop.sessionClosed();
        }
      } catch (FencedException e) {
        if (!loop.retired()) {
          LOG.warn(
              "run [{}] of session [{}] lost the session: {}",
              loop.run.runId(),
              loop.sessionId,
              e.getMessage());
          loop.lostOwnership();
        }
      } catch (RuntimeException e) {
        if (System.nanoTime() - loop.renewedNanos() > lease.toNanos()) {
          LOG.warn(
              "run [{}] of session [{}] could not renew its lease for [{}]; it stops, another"
                  + " node may take over",
              loop.run.runId(),
              loop.sessionId,
              lease,
              e);
          loop.lostOwnership();
        } else {
          LOG.debug("run [{}]: lease renewal failed, retrying: {}", loop.run.runId(), e.toString());
        }
      }
    }
  }

  /** Stops renewing and watching. */
  void close() {
    // Not shutdownNow(): interrupting a renewal in the middle of its JDBC call makes an H2 file
    // database close its file channel, and with it the database for the whole JVM.
    timer.shutdown();
  }
}
