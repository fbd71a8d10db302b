/**
 * Drives a {@link dev.durablechat.agent.ChatAgent} turn with a LangChain4j {@code
 * StreamingChatModel}: {@link dev.durablechat.model.langchain4j.LangChain4jModel}.
 */
@NullMarked
package dev.durablechat.model.langchain4j;

import org.jspecify.annotations.NullMarked;
