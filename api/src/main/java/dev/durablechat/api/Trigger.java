package dev.durablechat.api;

/** The {@code trigger} of a wire payload (W3), with the rules on what each one carries. */
public enum Trigger {
  /** Carries the one new user message, or an assistant message whose tool parts advanced. */
  SUBMIT_MESSAGE("submit-message"),
  /** Carries no message: the agent trims its own tail and answers again. */
  REGENERATE_MESSAGE("regenerate-message"),
  /** Carries no message: boot the agent ahead of the first message. */
  PRELOAD("preload"),
  /** Carries no message: end the chat. */
  CLOSE("close"),
  /** Carries no message, but an {@code action} value. */
  ACTION("action"),
  /** Head-start only: carries the prior history in {@code headStartMessages}. */
  HANDOVER_PREPARE("handover-prepare");

  private final String wireName;

  Trigger(String wireName) {
    this.wireName = wireName;
  }

  /** The name on the wire, e.g. {@code submit-message}. */
  public String wireName() {
    return wireName;
  }

  /** The trigger for a wire name. */
  public static Trigger fromWireName(String name) {
    for (Trigger trigger : values()) {
      if (trigger.wireName.equals(name)) {
        return trigger;
      }
    }
    throw new InvalidPayloadException(
        "unknown trigger ["
            + name
            + "], expected one of [submit-message, regenerate-message, preload, close, action,"
            + " handover-prepare]");
  }
}
