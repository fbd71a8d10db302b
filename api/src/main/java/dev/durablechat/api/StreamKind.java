package dev.durablechat.api;

import java.util.Locale;

/** The two streams of a session (W1). */
public enum StreamKind {
  /** Client to agent: messages, stops, actions. */
  IN,
  /** Agent to client: UI message chunks and control records. */
  OUT;

  /** {@code in} or {@code out}. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The stream for a wire name. */
  public static StreamKind fromWireName(String name) {
    for (StreamKind kind : values()) {
      if (kind.wireName().equals(name)) {
        return kind;
      }
    }
    throw new InvalidInputException("unknown stream [" + name + "], expected [in] or [out]");
  }
}
