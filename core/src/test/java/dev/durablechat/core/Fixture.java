package dev.durablechat.core;

import dev.durablechat.api.Environment;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.Session;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.storage.memory.MemorySessionStore;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/** A fresh engine on a fresh memory store, with a hand-moved clock and counting ids. */
final class Fixture implements AutoCloseable {
  static final Environment ENV = new Environment("proj", "test");
  static final Instant START = Instant.parse("2026-11-29T04:00:00Z");

  final TestClock clock = new TestClock(START);
  final SessionStore store;
  final DurableChat chat;
  private final AtomicLong counter = new AtomicLong();

  Fixture() {
    this(DurableChat.DEFAULT_MAX_APPEND_BYTES);
  }

  Fixture(int maxAppendBytes) {
    this(new MemorySessionStore(), maxAppendBytes);
  }

  Fixture(SessionStore store, int maxAppendBytes) {
    this(store, maxAppendBytes, null);
  }

  /** With the executor that delivers live tails (null: the engine's own). */
  Fixture(SessionStore store, int maxAppendBytes, @Nullable Executor tails) {
    this.store = store;
    var builder =
        DurableChat.builder()
            .environment(ENV)
            .sessionStore(store)
            .clock(clock)
            .maxAppendBytes(maxAppendBytes)
            .idGenerator(prefix -> prefix + "t" + counter.incrementAndGet());
    if (tails != null) {
      builder.executor(tails);
    }
    this.chat = builder.build();
  }

  Session newSession(String externalId) {
    return chat.createSession(CreateSessionRequest.builder("agent").externalId(externalId).build())
        .session();
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String submit(String chatId, String messageId, String text) {
    return "{\"kind\":\"message\",\"payload\":{\"chatId\":\""
        + chatId
        + "\",\"trigger\":\"submit-message\",\"message\":{\"id\":\""
        + messageId
        + "\",\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":\""
        + text
        + "\"}]}}}";
  }

  /** Everything an engine call could change about one session, to compare before and after. */
  record State(
      long version,
      @Nullable String currentRunId,
      @Nullable Instant closedAt,
      List<SessionRun> runs,
      long lastIn,
      long lastOut,
      List<StreamRecord<InEvent>> in,
      List<StreamRecord<OutEvent>> out) {}

  State state(String address) {
    Session s = chat.session(address);
    return new State(
        s.version(),
        s.currentRunId(),
        s.closedAt(),
        chat.runs(address),
        chat.lastEventId(address, StreamKind.IN),
        chat.lastEventId(address, StreamKind.OUT),
        chat.readIn(address, 0, 1000),
        chat.readOut(address, 0, 1000));
  }

  @Override
  public void close() {
    chat.close();
    store.close();
  }
}
