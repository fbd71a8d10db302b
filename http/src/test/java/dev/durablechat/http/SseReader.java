package dev.durablechat.http;

import dev.durablechat.api.Json;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonNumber;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonString;
import dev.durablechat.api.JsonValue;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A small SSE reader for tests (the WHATWG event-stream rules the clients' parser follows): lines
 * {@code event:}, {@code data:} (joined with newlines), {@code id:}, comments, a blank line ends an
 * event. A daemon thread reads; the test polls with a timeout.
 */
final class SseReader implements AutoCloseable {
  /** One event. */
  record Event(String event, String data) {
    boolean isBatch() {
      return event.equals("batch");
    }

    JsonObject json() {
      return Json.parseObject(data);
    }

    /** The records of a batch frame. */
    List<WireRecord> records() {
      var out = new ArrayList<WireRecord>();
      for (JsonValue v : ((JsonArray) json().get("records")).elements()) {
        JsonObject r = (JsonObject) v;
        var headers = new ArrayList<List<String>>();
        for (JsonValue h : ((JsonArray) r.get("headers")).elements()) {
          JsonArray pair = (JsonArray) h;
          headers.add(
              List.of(((JsonString) pair.get(0)).value(), ((JsonString) pair.get(1)).value()));
        }
        out.add(
            new WireRecord(
                ((JsonNumber) r.get("seq_num")).longValue(),
                ((JsonNumber) r.get("timestamp")).longValue(),
                headers,
                ((JsonString) r.get("body")).value()));
      }
      return out;
    }
  }

  /** One record of a batch. */
  record WireRecord(long seq, long timestamp, List<List<String>> headers, String body) {
    Optional<String> header(String name) {
      return headers.stream().filter(h -> h.get(0).equals(name)).map(h -> h.get(1)).findFirst();
    }

    Optional<String> control() {
      return header("trigger-control");
    }

    /** Whether this record ends a turn (the stream's turn-complete control record). */
    boolean isTurnComplete() {
      return control().filter("turn-complete"::equals).isPresent();
    }

    /** The UI message chunk of a data record. */
    JsonObject chunk() {
      return (JsonObject) Json.parseObject(body).get("data");
    }

    String recordId() {
      return Json.parseObject(body).string("id").orElseThrow();
    }
  }

  private static final Event END = new Event("", "");

  final HttpResponse<InputStream> response;
  private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
  private final Thread thread;
  private volatile boolean ended;

  SseReader(HttpResponse<InputStream> response) {
    this.response = response;
    this.thread = new Thread(this::read, "test-sse-reader");
    thread.setDaemon(true);
    thread.start();
  }

  int status() {
    return response.statusCode();
  }

  String header(String name) {
    return response.headers().firstValue(name).orElse(null);
  }

  private void read() {
    try (var in =
        new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
      String event = "";
      StringBuilder data = null;
      String line;
      while ((line = in.readLine()) != null) {
        if (line.isEmpty()) {
          if (data != null) {
            events.add(new Event(event.isEmpty() ? "message" : event, data.toString()));
          }
          event = "";
          data = null;
        } else if (line.startsWith(":")) {
          continue;
        } else {
          int colon = line.indexOf(':');
          String field = colon < 0 ? line : line.substring(0, colon);
          String value = colon < 0 ? "" : line.substring(colon + 1);
          if (value.startsWith(" ")) {
            value = value.substring(1);
          }
          if (field.equals("event")) {
            event = value;
          } else if (field.equals("data")) {
            data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
          }
        }
      }
    } catch (IOException e) {
      // closed by the test or the server
    } finally {
      ended = true;
      events.add(END);
    }
  }

  /** The next event, or empty when the stream ended or nothing came within the timeout. */
  Optional<Event> next(Duration timeout) {
    try {
      Event e = events.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (e == null || e == END) {
        if (e == END) {
          events.add(END);
        }
        return Optional.empty();
      }
      return Optional.of(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  /** Every event until the stream ends (at most the timeout). */
  List<Event> untilEnd(Duration timeout) {
    var out = new ArrayList<Event>();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      Optional<Event> e = next(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
      if (e.isEmpty()) {
        break;
      }
      out.add(e.get());
    }
    return out;
  }

  /** Records until one satisfies the predicate (inclusive), failing the wait after the timeout. */
  List<WireRecord> recordsUntil(java.util.function.Predicate<WireRecord> last, Duration timeout) {
    var out = new ArrayList<WireRecord>();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      Optional<Event> e = next(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
      if (e.isEmpty()) {
        break;
      }
      if (e.get().isBatch()) {
        for (WireRecord r : e.get().records()) {
          out.add(r);
          if (last.test(r)) {
            return out;
          }
        }
      }
    }
    throw new AssertionError(
        "stream ended or timed out before the expected record; got " + out.size() + " records");
  }

  boolean ended() {
    return ended;
  }

  @Override
  public void close() {
    try {
      response.body().close();
    } catch (IOException e) {
      // already closed
    }
    thread.interrupt();
  }
}
