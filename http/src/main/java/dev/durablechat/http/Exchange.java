package dev.durablechat.http;

import java.io.IOException;
import java.io.InputStream;
import org.jspecify.annotations.Nullable;

/**
 * One request as the protocol layer sees it, whatever server received it: the binding (the servlet)
 * adapts its own request type to this, and writes the {@link Reply} the routes return.
 */
interface Exchange {
  /** The request method, upper case. */
  String method();

  /** The raw (still percent-encoded) path below where the routes are mounted, from {@code /}. */
  String rawPath();

  /** The raw (still percent-encoded) query string, without the {@code ?}, or null if none. */
  @Nullable String rawQuery();

  /** The first value of a request header, or null. */
  @Nullable String header(String name);

  /** The size of the request's header block as received, roughly: names, values, separators. */
  long headerBytes();

  /** The request body. */
  InputStream body() throws IOException;
}
