package dev.durablechat.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.DurableChatException;
import dev.durablechat.api.Environment;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.spi.StoreLoader;
import dev.durablechat.storage.memory.MemorySessionStore;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The engine and its builder")
class EngineTest {
  private static final Environment ENV = new Environment("proj", "test");

  @Test
  @DisplayName("the builder names everything that is missing")
  void builderNamesMissing() {
    assertThatThrownBy(() -> DurableChat.builder().build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("environment(Environment)")
        .hasMessageContaining("sessionStore(SessionStore) or the system property")
        .hasMessageContaining(StoreLoader.SESSION_STORE_PROPERTY);
    try (var store = new MemorySessionStore()) {
      assertThatThrownBy(() -> DurableChat.builder().sessionStore(store).build())
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("durablechat builder is missing environment(Environment)");
    }
    assertThatThrownBy(() -> DurableChat.builder().maxAppendBytes(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("[0]");
  }

  @Test
  @DisplayName("without a session store, the one named by the system property is opened by scheme")
  void storeFromSystemProperty() {
    String previous = System.getProperty(StoreLoader.SESSION_STORE_PROPERTY);
    System.setProperty(StoreLoader.SESSION_STORE_PROPERTY, "memory:from-property");
    try (var chat = DurableChat.builder().environment(ENV).build()) {
      CreatedSession created =
          chat.createSession(CreateSessionRequest.builder("a").externalId("x").build());

      assertThat(created.created()).isTrue();
      assertThat(chat.session("x")).isEqualTo(created.session());
    } finally {
      if (previous == null) {
        System.clearProperty(StoreLoader.SESSION_STORE_PROPERTY);
      } else {
        System.setProperty(StoreLoader.SESSION_STORE_PROPERTY, previous);
      }
    }
  }

  @Test
  @DisplayName("the default ids are prefixed, URL-safe and carry at least 96 random bits")
  void defaultIds() {
    Pattern shape = Pattern.compile("run_[A-Za-z0-9_-]{16,}");
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 1000; i++) {
      String id = IdGenerator.random().next(IdGenerator.RUN_PREFIX);
      assertThat(id).matches(shape);
      seen.add(id);
    }
    assertThat(seen).hasSize(1000);
    // 16 base64 characters hold 96 bits.
    assertThat(IdGenerator.random().next("session_").length() - "session_".length())
        .isGreaterThanOrEqualTo(16);
  }

  @Test
  @DisplayName("an id generator that breaks its contract is refused clearly and nothing is stored")
  void badIdGenerator() {
    try (var store = new MemorySessionStore();
        var chat =
            DurableChat.builder()
                .environment(ENV)
                .sessionStore(store)
                .idGenerator(prefix -> "oops/" + prefix)
                .build()) {
      assertThatThrownBy(
              () -> chat.createSession(CreateSessionRequest.builder("a").externalId("x").build()))
          .isInstanceOf(DurableChatException.class)
          .hasMessageContaining("id generator returned [oops/session_]");
      assertThat(store.findByExternalId(ENV, "x")).isEmpty();
    }
  }

  @Test
  @DisplayName("tails are delivered on named daemon threads that close() stops")
  void ownedThreads() throws Exception {
    AtomicReference<Thread> deliveredOn = new AtomicReference<>();
    try (var store = new MemorySessionStore()) {
      var chat = DurableChat.builder().environment(ENV).sessionStore(store).build();
      chat.createSession(CreateSessionRequest.builder("a").externalId("x").build());
      String run = chat.ensureRun("x", RunReason.INITIAL).run().runId();
      chat.appendOut("x", run, new OutEvent.TurnComplete(0));
      var sub =
          new TestSubscriber<TailItem<OutEvent>>() {
            @Override
            public void onNext(TailItem<OutEvent> item) {
              deliveredOn.set(Thread.currentThread());
              super.onNext(item);
            }
          };
      chat.subscribeOut("x", 0).subscribe(sub);
      sub.request(1);
      sub.next();

      assertThat(deliveredOn.get().getName()).startsWith("durablechat-tail-");
      assertThat(deliveredOn.get().isDaemon()).isTrue();

      chat.close();
      deliveredOn.get().join(5000);
      assertThat(deliveredOn.get().isAlive()).isFalse();
      assertThatThrownBy(() -> chat.session("x"))
          .isInstanceOf(DurableChatException.class)
          .hasMessage("durablechat engine is closed");
    }
  }
}
