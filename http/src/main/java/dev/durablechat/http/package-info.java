/**
 * The HTTP binding: the Sessions wire protocol (v2) that the published chat clients speak (the SSE
 * {@code out} stream, {@code in/append}, session create and close, token claims) over a {@link
 * dev.durablechat.agent.AgentRuntime}. {@link dev.durablechat.http.SessionsServlet} is a Jakarta
 * Servlet 6.0 servlet with async, non-blocking SSE, to mount in any servlet container; {@link
 * dev.durablechat.http.HttpAdapter} runs it on an embedded Jetty 12.1.
 */
@NullMarked
package dev.durablechat.http;

import org.jspecify.annotations.NullMarked;
