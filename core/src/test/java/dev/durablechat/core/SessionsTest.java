package dev.durablechat.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.InvalidExternalIdException;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.Session;
import dev.durablechat.api.SessionClosedException;
import dev.durablechat.api.SessionStatus;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.TriggerConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("Sessions")
class SessionsTest {
  private final Fixture f = new Fixture();

  @AfterEach
  void close() {
    f.close();
  }

  @Nested
  @DisplayName("S1: create is idempotent on (environment, externalId)")
  class Create {

    @Test
    @DisplayName("a second create with the same external id returns the same row, not created")
    void sameRowTwice() {
      CreatedSession first =
          f.chat.createSession(
              CreateSessionRequest.builder("agent")
                  .externalId("chat-1")
                  .clientData(JsonObject.builder().put("user", "u1").build())
                  .triggerConfig(
                      new TriggerConfig("small", 2, List.of("t"), null, null, JsonObject.empty()))
                  .build());
      CreatedSession second =
          f.chat.createSession(CreateSessionRequest.builder("agent").externalId("chat-1").build());

      assertThat(first.created()).isTrue();
      assertThat(second.created()).isFalse();
      assertThat(second.session().friendlyId()).isEqualTo(first.session().friendlyId());
      assertThat(first.session().friendlyId()).startsWith("session_");
      assertThat(first.session().clientData())
          .isEqualTo(JsonObject.builder().put("user", "u1").build());
      assertThat(first.session().triggerConfig().machine()).isEqualTo("small");
    }

    @Test
    @DisplayName("without an external id every create makes a new row")
    void noExternalId() {
      Session a = f.chat.createSession(CreateSessionRequest.builder("agent").build()).session();
      Session b = f.chat.createSession(CreateSessionRequest.builder("agent").build()).session();

      assertThat(a.friendlyId()).isNotEqualTo(b.friendlyId());
      assertThat(a.externalId()).isNull();
      assertThat(f.chat.session(a.friendlyId())).isEqualTo(a);
    }

    @Test
    @DisplayName("invariant 1: 8 racing creators get one row, exactly one of them created it")
    void racingCreators() throws Exception {
      ExecutorService pool = Executors.newFixedThreadPool(8);
      try {
        var start = new CountDownLatch(1);
        List<Future<CreatedSession>> futures = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
          Callable<CreatedSession> call =
              () -> {
                start.await();
                return f.chat.createSession(
                    CreateSessionRequest.builder("agent").externalId("race").build());
              };
          futures.add(pool.submit(call));
        }
        start.countDown();
        List<CreatedSession> results = new ArrayList<>();
        for (Future<CreatedSession> future : futures) {
          results.add(future.get());
        }

        assertThat(results.stream().map(r -> r.session().friendlyId()).collect(Collectors.toSet()))
            .hasSize(1);
        assertThat(results.stream().filter(CreatedSession::created).count()).isEqualTo(1);
      } finally {
        pool.shutdownNow();
      }
    }

    @Test
    @DisplayName("S2: the external id is trimmed before it is stored and looked up")
    void trims() {
      Session s = f.newSession("  chat-2 \t");

      assertThat(s.externalId()).isEqualTo("chat-2");
      assertThat(f.chat.session("chat-2").friendlyId()).isEqualTo(s.friendlyId());
      assertThat(f.chat.session(" chat-2 ").friendlyId()).isEqualTo(s.friendlyId());
    }

    @Test
    @DisplayName("S2: an external id of exactly 256 characters is accepted")
    void longestAccepted() {
      String id = "x".repeat(256);

      assertThat(f.newSession(id).externalId()).isEqualTo(id);
    }

    @ParameterizedTest(name = "[{0}]")
    @DisplayName(
        "S2: a blank, too long or session_-prefixed external id is refused and creates nothing")
    @ValueSource(strings = {"", "   ", "session_abc", "  session_x  ", "LONG"})
    void badExternalId(String raw) {
      String externalId = raw.equals("LONG") ? "y".repeat(257) : raw;

      assertThatThrownBy(
              () ->
                  f.chat.createSession(
                      CreateSessionRequest.builder("agent").externalId(externalId).build()))
          .isInstanceOf(InvalidExternalIdException.class)
          .hasMessageContaining("external id")
          .hasMessageContaining("(S2)");
      assertThat(f.store.findByExternalId(Fixture.ENV, externalId.trim())).isEmpty();
      // The id generator was never asked for a session id: nothing reached the store.
      assertThat(f.newSession("after").friendlyId()).isEqualTo("session_t1");
    }
  }

  @Nested
  @DisplayName("S3: addresses")
  class Addresses {

    @Test
    @DisplayName("both the friendly id and the external id resolve to the session everywhere")
    void bothForms() {
      Session s = f.newSession("chat-3");

      assertThat(f.chat.session("chat-3")).isEqualTo(s);
      assertThat(f.chat.session(s.friendlyId())).isEqualTo(s);
      assertThat(f.chat.ensureRun(s.friendlyId(), RunReason.INITIAL).run().runId())
          .isEqualTo(f.chat.ensureRun("chat-3", RunReason.INITIAL).run().runId());
      assertThat(f.chat.lastEventId("chat-3", StreamKind.IN)).isZero();
    }

    @Test
    @DisplayName("an unknown address is refused with an error naming it")
    void unknown() {
      assertThatThrownBy(() -> f.chat.session("nope"))
          .isInstanceOf(NoSuchSessionException.class)
          .hasMessage("no session at address [nope] in [proj/test]");
      assertThatThrownBy(() -> f.chat.session("session_nope"))
          .isInstanceOf(NoSuchSessionException.class)
          .hasMessageContaining("[session_nope]");
      assertThatThrownBy(() -> f.chat.appendIn("nope", Fixture.utf8("{\"kind\":\"stop\"}"), null))
          .isInstanceOf(NoSuchSessionException.class);
      assertThatThrownBy(() -> f.chat.ensureRun("nope", RunReason.INITIAL))
          .isInstanceOf(NoSuchSessionException.class);
      assertThatThrownBy(() -> f.chat.subscribeOut("nope", 0))
          .isInstanceOf(NoSuchSessionException.class);
    }

    @Test
    @DisplayName("a session of another environment is not found by its external id")
    void otherEnvironment() {
      f.newSession("chat-env");
      try (DurableChat other =
          DurableChat.builder()
              .environment(new dev.durablechat.api.Environment("proj", "prod"))
              .sessionStore(f.store)
              .build()) {
        assertThatThrownBy(() -> other.session("chat-env"))
            .isInstanceOf(NoSuchSessionException.class)
            .hasMessageContaining("[proj/prod]");
      }
    }
  }

  @Nested
  @DisplayName("S4, S5: closed and expired sessions")
  class Closing {

    @Test
    @DisplayName("S4: the first close's reason wins")
    void firstReasonWins() {
      f.newSession("chat-4");

      Session first = f.chat.closeSession("chat-4", "done");
      f.clock.advance(Duration.ofMinutes(1));
      Session second = f.chat.closeSession("chat-4", "other");

      assertThat(second.closedReason()).isEqualTo("done");
      assertThat(second.closedAt()).isEqualTo(first.closedAt()).isEqualTo(Fixture.START);
      assertThat(second.status(f.clock.instant())).isEqualTo(SessionStatus.CLOSED);
    }

    @Test
    @DisplayName("S5: create on a closed session is a conflict and triggers nothing")
    void createOnClosed() {
      f.newSession("chat-5");
      f.chat.closeSession("chat-5", "done");
      Fixture.State before = f.state("chat-5");

      assertThatThrownBy(
              () ->
                  f.chat.createSession(
                      CreateSessionRequest.builder("agent").externalId("chat-5").build()))
          .isInstanceOf(SessionClosedException.class)
          .hasMessageContaining("create")
          .hasMessageContaining("closed");
      assertThat(f.state("chat-5")).isEqualTo(before);
    }

    @Test
    @DisplayName("S5: create on an expired session is a conflict and triggers nothing")
    void createOnExpired() {
      f.chat.createSession(
          CreateSessionRequest.builder("agent")
              .externalId("chat-6")
              .expiresAt(Fixture.START.plus(Duration.ofHours(1)))
              .build());
      f.clock.advance(Duration.ofHours(2));
      Fixture.State before = f.state("chat-6");

      assertThatThrownBy(
              () ->
                  f.chat.createSession(
                      CreateSessionRequest.builder("agent").externalId("chat-6").build()))
          .isInstanceOf(SessionClosedException.class)
          .hasMessageContaining("expired");
      assertThat(f.state("chat-6")).isEqualTo(before);
    }

    @Test
    @DisplayName("S5: appends and run changes on a closed session are refused and write nothing")
    void closedRefusesEverything() {
      f.newSession("chat-7");
      String runId = f.chat.ensureRun("chat-7", RunReason.INITIAL).run().runId();
      f.chat.appendIn("chat-7", Fixture.utf8(Fixture.submit("chat-7", "m1", "hi")), null);
      f.chat.closeSession("chat-7", "done");
      Fixture.State before = f.state("chat-7");

      assertThatThrownBy(
              () ->
                  f.chat.appendIn(
                      "chat-7", Fixture.utf8(Fixture.submit("chat-7", "m2", "x")), null))
          .isInstanceOf(SessionClosedException.class);
      assertThatThrownBy(
              () ->
                  f.chat.appendOut(
                      "chat-7", runId, new dev.durablechat.api.OutEvent.TurnComplete(1)))
          .isInstanceOf(SessionClosedException.class);
      assertThatThrownBy(() -> f.chat.ensureRun("chat-7", RunReason.INITIAL))
          .isInstanceOf(SessionClosedException.class);
      assertThatThrownBy(() -> f.chat.endAndContinue("chat-7", runId, RunReason.UPGRADE))
          .isInstanceOf(SessionClosedException.class);
      assertThat(f.state("chat-7")).isEqualTo(before);
      // Reading a closed session is still allowed.
      assertThat(f.chat.readIn("chat-7", 0, 10)).hasSize(1);
    }

    @Test
    @DisplayName("S5: appends and run changes on an expired session are refused and write nothing")
    void expiredRefusesEverything() {
      f.chat.createSession(
          CreateSessionRequest.builder("agent")
              .externalId("chat-8")
              .expiresAt(Fixture.START.plus(Duration.ofMinutes(5)))
              .build());
      String runId = f.chat.ensureRun("chat-8", RunReason.INITIAL).run().runId();
      f.clock.advance(Duration.ofMinutes(5));
      Fixture.State before = f.state("chat-8");

      assertThatThrownBy(
              () ->
                  f.chat.appendIn("chat-8", Fixture.utf8(Fixture.submit("chat-8", "m", "x")), null))
          .isInstanceOf(SessionClosedException.class);
      assertThatThrownBy(() -> f.chat.ensureRun("chat-8", RunReason.INITIAL))
          .isInstanceOf(SessionClosedException.class)
          .hasMessageContaining("expired");
      assertThatThrownBy(() -> f.chat.endAndContinue("chat-8", runId, RunReason.UPGRADE))
          .isInstanceOf(SessionClosedException.class);
      assertThat(f.state("chat-8")).isEqualTo(before);
    }
  }
}
