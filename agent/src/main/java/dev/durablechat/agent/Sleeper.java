package dev.durablechat.agent;

import java.time.Duration;

/**
 * How {@link ScriptedModel} waits between chunks. Tests inject one that records or skips waits; the
 * default waits on the turn's stop signal, so a stop ends the wait at once (L7).
 */
@FunctionalInterface
public interface Sleeper {
  /** Waits for the duration (or less, if the implementation chooses). */
  void sleep(Duration duration) throws InterruptedException;
}
