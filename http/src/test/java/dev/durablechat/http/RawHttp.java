package dev.durablechat.http;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Reads an HTTP/1.1 response off a raw socket, for the tests that must see what the server sent
 * byte for byte (its chunks, whether it kept the connection) rather than what a client makes of it.
 */
final class RawHttp {
  private RawHttp() {}

  /**
   * A line of the response head (or a chunk's size line), without its line break.
   *
   * @throws EOFException if the connection ended before the line did
   */
  static String line(InputStream in) throws IOException {
    var line = new StringBuilder();
    int c;
    while ((c = in.read()) != '\n') {
      if (c < 0) {
        throw new EOFException("the connection ended after [" + line + "]");
      }
      if (c != '\r') {
        line.append((char) c);
      }
    }
    return line.toString();
  }

  /** The header lines up to the blank one, by lower-case name. */
  static Map<String, String> headers(InputStream in) throws IOException {
    var headers = new HashMap<String, String>();
    String line;
    while (!(line = line(in)).isEmpty()) {
      int colon = line.indexOf(':');
      headers.put(
          line.substring(0, colon).trim().toLowerCase(Locale.ROOT),
          line.substring(colon + 1).trim());
    }
    return headers;
  }

  /** The whole response body, chunked or not, as text. */
  static String body(InputStream in, Map<String, String> headers) throws IOException {
    var body = new ByteArrayOutputStream();
    String length = headers.get("content-length");
    if (length != null) {
      body.write(in.readNBytes(Integer.parseInt(length)));
    } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
      int size;
      while ((size = Integer.parseInt(line(in), 16)) > 0) {
        body.write(in.readNBytes(size));
        line(in);
      }
      line(in);
    }
    return body.toString(StandardCharsets.UTF_8);
  }

  /**
   * The next chunk of a chunked body that is still being sent (one per write the server made). The
   * line break that ends a chunk may come only with the next one (Jetty sends it ahead of the next
   * size): it is read before the size, never waited for after the data.
   */
  static String chunk(InputStream in) throws IOException {
    String line = line(in);
    if (line.isEmpty()) {
      line = line(in); // the end of the chunk before
    }
    int size = Integer.parseInt(line.trim(), 16);
    byte[] data = in.readNBytes(size);
    if (data.length < size) {
      throw new EOFException("the connection ended inside a chunk of " + size + " bytes");
    }
    return new String(data, StandardCharsets.UTF_8);
  }
}
