package dev.durablechat.agent.model;

import java.util.List;

/**
 * One model call per step, as a framework adapter makes it: it converts the messages to its
 * framework's, starts a streaming call, reports what streams back to the {@link StepSink} (from any
 * thread), and returns a handle that cancels the call.
 */
@FunctionalInterface
public interface StepModel {
  /**
   * Starts one streaming model call.
   *
   * @param messages the model's input, system prompt first
   * @param sink where the call's text, reasoning, tool calls, finish and error go
   * @return how to cancel the call (a stop)
   * @throws Exception if the call could not start; it ends the turn with an {@code error} chunk
   */
  Call stream(List<ModelMessage> messages, StepSink sink) throws Exception;

  /** A running model call. */
  @FunctionalInterface
  interface Call {
    /** Cancels the call; events that still arrive are ignored. */
    void cancel();
  }
}
