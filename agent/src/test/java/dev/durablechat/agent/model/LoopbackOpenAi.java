package dev.durablechat.agent.model;

import dev.durablechat.api.Json;
import dev.durablechat.api.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * An OpenAI-compatible chat-completions endpoint on loopback that replays scripted responses, one
 * per request, in the documented streaming wire format ({@code data: {chat.completion.chunk}}
 * lines, then {@code data: [DONE]}), and records every request it received.
 *
 * <p>It speaks HTTP/1.1 over a plain socket so that a test can break a stream for real: a cut
 * closes the connection in the middle of the chunked body, and a held response keeps the stream
 * open until the client goes away (a stop) or the test releases it.
 */
public final class LoopbackOpenAi implements AutoCloseable {
  /** One scripted response. */
  public sealed interface Response {}

  /**
   * A streamed answer.
   *
   * @param chunks the {@code chat.completion.chunk} objects, in order
   * @param cutAfter close the connection after this many chunks, without {@code [DONE]} or the end
   *     of the chunked body (-1: the whole stream)
   * @param holdAfter after this many chunks, keep the stream open until {@link #release()} or the
   *     client disconnects (-1: never)
   * @param delayMillis a pause before each chunk, so that a reply streams for a while
   */
  public record Stream(List<JsonObject> chunks, int cutAfter, int holdAfter, long delayMillis)
      implements Response {
    /** A stream without pauses. */
    public Stream(List<JsonObject> chunks, int cutAfter, int holdAfter) {
      this(chunks, cutAfter, holdAfter, 0);
    }

    /** The same stream with a pause before each chunk. */
    public Stream paced(long millis) {
      return new Stream(chunks, cutAfter, holdAfter, millis);
    }
  }

  /** An HTTP error before any stream, with an OpenAI-style error body. */
  public record Status(int code, String message, String type) implements Response {}

  /** A request as received. */
  public record Request(String path, String authorization, JsonObject body) {
    /** The request's {@code messages}. */
    public List<JsonObject> messages() {
      var list = new ArrayList<JsonObject>();
      for (var m : ((dev.durablechat.api.JsonArray) body.get("messages")).elements()) {
        list.add((JsonObject) m);
      }
      return list;
    }
  }

  private final ServerSocket server;
  private final BlockingQueue<Response> responses = new LinkedBlockingQueue<>();
  private final List<Request> requests = new CopyOnWriteArrayList<>();
  private final CopyOnWriteArrayList<String> events = new CopyOnWriteArrayList<>();
  private volatile CountDownLatch release = new CountDownLatch(1);
  private final Thread acceptor;

  /** Starts the server on a free loopback port. */
  public LoopbackOpenAi() {
    try {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    acceptor = new Thread(this::accept, "loopback-openai");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** The base URL the clients take ({@code http://127.0.0.1:PORT/v1}). */
  public String baseUrl() {
    return "http://127.0.0.1:" + server.getLocalPort() + "/v1";
  }

  /** Queues responses for the next requests. */
  public LoopbackOpenAi enqueue(Response... next) {
    responses.addAll(List.of(next));
    return this;
  }

  /** The requests received so far. */
  public List<Request> requests() {
    return List.copyOf(requests);
  }

  /**
   * What happened on the wire, in order: {@code request}, {@code held}, {@code client-closed} (the
   * client went away while a response was held), {@code released}, {@code done}, {@code cut}.
   */
  public List<String> events() {
    return List.copyOf(events);
  }

  /** Lets a held response go on. */
  public void release() {
    release.countDown();
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket socket = server.accept();
        Thread t = new Thread(() -> serve(socket), "loopback-openai-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket socket) {
    try (socket) {
      InputStream in = socket.getInputStream();
      String head = readHead(in);
      if (head.isEmpty()) {
        return;
      }
      String[] lines = head.split("\r\n");
      String path = lines[0].split(" ")[1];
      int length = 0;
      String authorization = "";
      boolean chunkedRequest = false;
      for (String line : lines) {
        String lower = line.toLowerCase(Locale.ROOT);
        if (lower.startsWith("content-length:")) {
          length = Integer.parseInt(line.substring(15).trim());
        } else if (lower.startsWith("authorization:")) {
          authorization = line.substring(14).trim();
        } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
          chunkedRequest = true;
        }
      }
      byte[] body = chunkedRequest ? readChunked(in) : in.readNBytes(length);
      requests.add(
          new Request(
              path, authorization, Json.parseObject(new String(body, StandardCharsets.UTF_8))));
      events.add("request");
      Response response = responses.poll(10, TimeUnit.SECONDS);
      OutputStream out = socket.getOutputStream();
      if (response == null) {
        response = new Status(500, "loopback server: no response scripted", "server_error");
      }
      if (response instanceof Status s) {
        String error =
            JsonObject.builder()
                .put(
                    "error",
                    JsonObject.builder()
                        .put("message", s.message())
                        .put("type", s.type())
                        .put("code", s.type())
                        .build())
                .build()
                .toString();
        byte[] bytes = error.getBytes(StandardCharsets.UTF_8);
        out.write(
            ("HTTP/1.1 "
                    + s.code()
                    + " Error\r\nContent-Type: application/json\r\nContent-Length: "
                    + bytes.length
                    + "\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.write(bytes);
        out.flush();
        events.add("done");
        return;
      }
      Stream stream = (Stream) response;
      out.write(
          ("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                  + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      int i = 0;
      for (JsonObject chunk : stream.chunks()) {
        if (i == stream.cutAfter()) {
          events.add("cut");
          return; // the socket closes mid-body: no [DONE], no last chunk
        }
        if (i == stream.holdAfter()) {
          hold(socket, in);
          if (socket.isClosed()) {
            return;
          }
        }
        if (stream.delayMillis() > 0) {
          Thread.sleep(stream.delayMillis()); // pacing the wire, not gating an assertion
        }
        writeChunk(out, "data: " + chunk + "\n\n");
        i++;
      }
      if (stream.cutAfter() >= 0 && i >= stream.cutAfter()) {
        events.add("cut");
        return;
      }
      writeChunk(out, "data: [DONE]\n\n");
      out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      events.add("done");
    } catch (IOException e) {
      events.add("client-closed");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Waits for release, or for the client to close the connection (read returns -1). */
  private void hold(Socket socket, InputStream in) throws IOException, InterruptedException {
    events.add("held");
    socket.setSoTimeout(20);
    while (true) {
      if (release.await(0, TimeUnit.MILLISECONDS)) {
        events.add("released");
        release = new CountDownLatch(1);
        socket.setSoTimeout(0);
        return;
      }
      try {
        if (in.read() < 0) {
          events.add("client-closed");
          socket.close();
          return;
        }
      } catch (java.net.SocketTimeoutException e) {
        // still open
      } catch (IOException e) {
        events.add("client-closed");
        socket.close();
        return;
      }
    }
  }

  private static void writeChunk(OutputStream out, String data) throws IOException {
    byte[] bytes = data.getBytes(StandardCharsets.UTF_8);
    out.write((Integer.toHexString(bytes.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
    out.write(bytes);
    out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
    out.flush();
  }

  private static String readHead(InputStream in) throws IOException {
    var head = new ByteArrayOutputStream();
    int matched = 0;
    byte[] end = {'\r', '\n', '\r', '\n'};
    int b;
    while ((b = in.read()) >= 0) {
      head.write(b);
      matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
      if (matched == 4) {
        break;
      }
    }
    return head.toString(StandardCharsets.US_ASCII);
  }

  private static byte[] readChunked(InputStream in) throws IOException {
    var body = new ByteArrayOutputStream();
    while (true) {
      var line = new StringBuilder();
      int b;
      while ((b = in.read()) >= 0 && b != '\n') {
        if (b != '\r') {
          line.append((char) b);
        }
      }
      int size = Integer.parseInt(line.toString().trim(), 16);
      if (size == 0) {
        in.read();
        in.read();
        return body.toByteArray();
      }
      body.write(in.readNBytes(size));
      in.read();
      in.read();
    }
  }

  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    release();
  }
}
