/**
 * The HTTP adapter: {@link dev.durablechat.http.HttpAdapter} serves the Sessions wire protocol (v2)
 * that the published chat clients speak (the SSE {@code out} stream, {@code in/append}, session
 * create and close, token claims) over a {@link dev.durablechat.agent.AgentRuntime}, on the JDK's
 * {@code com.sun.net.httpserver.HttpServer}.
 */
@NullMarked
package dev.durablechat.http;

import org.jspecify.annotations.NullMarked;
