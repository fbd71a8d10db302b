package dev.durablechat.agent;

/**
 * The answer to {@link AgentRuntime#startSession} (the counterpart of {@code
 * chat.createStartSessionAction}'s result).
 *
 * @param sessionId the session's friendly id
 * @param chatId the chat (external) id
 * @param runId the session's current run, which serves it now
 * @param created whether this call created the session; false when it existed (S1)
 */
public record StartedSession(String sessionId, String chatId, String runId, boolean created) {}
