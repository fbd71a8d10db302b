/**
 * Drives a {@link dev.durablechat.agent.ChatAgent} turn with a Spring AI {@code StreamingChatModel}
 * ({@code stream(Prompt)}), no Spring Boot needed: {@link
 * dev.durablechat.model.springai.SpringAiModel}.
 */
@NullMarked
package dev.durablechat.model.springai;

import org.jspecify.annotations.NullMarked;
