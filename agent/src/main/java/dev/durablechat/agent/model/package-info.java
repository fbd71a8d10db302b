/**
 * A neutral toolkit for driving a {@link dev.durablechat.agent.ChatAgent} turn with a real model:
 * the UI message history converted to framework-neutral {@link
 * dev.durablechat.agent.model.ModelMessage}s, and a {@link dev.durablechat.agent.model.ModelLoop}
 * that turns one model stream per step into AI SDK UI message chunks, runs server tools between
 * steps, ends the turn on client tools and approvals, and cancels the stream on stop. The model
 * framework adapters ({@code model-spring-ai}, {@code model-langchain4j}) only convert their own
 * types.
 */
@NullMarked
package dev.durablechat.agent.model;

import org.jspecify.annotations.NullMarked;
