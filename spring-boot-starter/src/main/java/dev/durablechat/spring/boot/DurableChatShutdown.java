package dev.durablechat.spring.boot;

import dev.durablechat.agent.AgentRuntime;
import java.time.Duration;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.SmartLifecycle;

/**
 * Graceful shutdown in Spring's shutdown phase, before the web server's own: readiness goes to
 * {@code REFUSING_TRAFFIC}, the Sessions routes stop accepting messages (503 with {@code
 * Retry-After}, which the clients retry), the turns in flight finish (at most {@code
 * durablechat.shutdown.timeout}; a turn still running then is ended by the runtime's close without
 * a {@code turn-complete}, and the node that serves its session next answers its message again),
 * and then the open SSE readers are closed with a {@code retry} hint, so they reconnect and resume
 * from their last event id. The runtime and the engine are closed after this, as beans.
 */
public final class DurableChatShutdown implements SmartLifecycle {
  /**
   * The phase: stops before the web server's graceful shutdown ({@code DEFAULT_PHASE - 1024}),
   * which would otherwise wait for the SSE streams, and its stop ({@code DEFAULT_PHASE - 2048}).
   */
  public static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 512;

  private static final Logger LOG = LoggerFactory.getLogger(DurableChatShutdown.class);

  private final ObjectProvider<AgentRuntime> runtime;
  private final ObjectProvider<Routes> routes;
  private final ApplicationEventPublisher events;
  private final DurableChatProperties.Shutdown settings;
  private volatile boolean running;

  DurableChatShutdown(
      ObjectProvider<AgentRuntime> runtime,
      ObjectProvider<Routes> routes,
      ApplicationEventPublisher events,
      DurableChatProperties.Shutdown settings) {
    this.runtime = runtime;
    this.routes = routes;
    this.events = events;
    this.settings = settings;
  }

  @Override
  public void start() {
    running = true;
  }

  @Override
  public void stop() {
    drain();
  }

  @Override
  public void stop(Runnable callback) {
    // Off the caller's thread: Spring stops the other beans of this phase meanwhile, and waits
    // for the callback at most spring.lifecycle.timeout-per-shutdown-phase.
    Thread thread =
        new Thread(
            () -> {
              try {
                drain();
              } finally {
                callback.run();
              }
            },
            "durablechat-shutdown");
    thread.setDaemon(true);
    thread.start();
  }

  private void drain() {
    if (!running) {
      return;
    }
    running = false;
    // Refusing first: whoever sees readiness down finds the routes refusing already.
    routes.orderedStream().forEach(Routes::stopAccepting);
    AvailabilityChangeEvent.publish(events, this, ReadinessState.REFUSING_TRAFFIC);
    @Nullable AgentRuntime agents = runtime.getIfUnique();
    if (agents != null) {
      try {
        if (!agents.awaitTurns(settings.getTimeout())) {
          LOG.info(
              "durablechat shutdown: turns still running after [{}]; the next node answers them",
              settings.getTimeout());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    routes.orderedStream().forEach(r -> r.closeStreams(settings.getRetryHint()));
  }

  /**
   * Served routes that take part in the shutdown (the Sessions servlet; a bean of the web
   * auto-configuration, so that this class needs no servlet API on the class path).
   */
  interface Routes {
    /** Refuse new requests from now on. */
    void stopAccepting();

    /** End the open streams after a reconnection hint. */
    void closeStreams(Duration retryHint);
  }

  @Override
  public boolean isRunning() {
    return running;
  }

  @Override
  public int getPhase() {
    return PHASE;
  }
}
