/**
 * The agent runtime: {@link dev.durablechat.agent.ChatAgent} defines a chat agent (hooks and a
 * {@code run} function), {@link dev.durablechat.agent.AgentRuntime} runs it on sessions of a {@link
 * dev.durablechat.core.DurableChat} (PROTOCOL L1–L10), and {@link dev.durablechat.agent.AgentChat}
 * is the server-side chat client. {@link dev.durablechat.agent.ScriptedModel} is a deterministic
 * stand-in for a model, for tests and demos.
 */
@NullMarked
package dev.durablechat.agent;

import org.jspecify.annotations.NullMarked;
