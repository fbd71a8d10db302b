package dev.durablechat.api;

import java.util.Locale;

/** Why a run became the session's current run (S6); recorded on its {@link SessionRun}. */
public enum RunReason {
  /** The session's first run, started by the first message. */
  INITIAL,
  /** The session's first run, started eagerly before any message. */
  PRELOAD,
  /** A later run: the previous one ended (idle timeout, crash) and a message came. */
  CONTINUATION,
  /** The previous run asked to hand over to a newer version of the agent. */
  UPGRADE,
  /** An operator or the application swapped the run by hand. */
  MANUAL;

  /** The lowercase name used on the wire and in storage. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The reason for a wire name. */
  public static RunReason fromWireName(String name) {
    for (RunReason reason : values()) {
      if (reason.wireName().equals(name)) {
        return reason;
      }
    }
    throw new InvalidInputException("unknown run reason [" + name + "]");
  }
}
