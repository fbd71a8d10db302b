/**
 * Folding AI SDK UI message chunks into UI messages (PROTOCOL F1–F6, H2, H4), with the semantics of
 * the Vercel AI SDK's {@code readUIMessageStream}. Depends on nothing in durablechat but the api's
 * value types.
 */
@NullMarked
package dev.durablechat.core.fold;

import org.jspecify.annotations.NullMarked;
