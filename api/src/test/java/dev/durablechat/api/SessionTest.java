package dev.durablechat.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Sessions, environments and snapshot keys")
class SessionTest {
  private static final Environment ENV = new Environment("proj_1", "prod");
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  private static Session session(Instant closedAt, Instant expiresAt) {
    return new Session(
        "session_abc",
        "chat-1",
        ENV,
        "agent",
        null,
        0,
        JsonObject.empty(),
        TriggerConfig.none(),
        T0,
        T0,
        closedAt,
        closedAt == null ? null : "done",
        expiresAt);
  }

  @Test
  @DisplayName("S4: status is derived: closed wins over expired, expired from expiresAt on")
  void statusIsDerived() {
    assertThat(session(null, null).status(T0)).isEqualTo(SessionStatus.ACTIVE);
    assertThat(session(null, T0.plusSeconds(1)).status(T0)).isEqualTo(SessionStatus.ACTIVE);
    assertThat(session(null, T0).status(T0)).isEqualTo(SessionStatus.EXPIRED);
    assertThat(session(T0, T0).status(T0)).isEqualTo(SessionStatus.CLOSED);
    assertThat(session(T0, null).isActive(T0)).isFalse();
  }

  @Test
  @DisplayName("S2: a friendly id must carry the session_ prefix")
  void friendlyIdPrefix() {
    assertThatThrownBy(
            () ->
                new Session(
                    "chat-1",
                    null,
                    ENV,
                    "agent",
                    null,
                    0,
                    JsonObject.empty(),
                    TriggerConfig.none(),
                    T0,
                    T0,
                    null,
                    null,
                    null))
        .isInstanceOf(InvalidInputException.class)
        .hasMessage("friendly id [chat-1] must start with [session_]");
  }

  @Test
  @DisplayName("an environment is two path-safe names")
  void environment() {
    assertThat(ENV).hasToString("proj_1/prod");
    assertThatThrownBy(() -> new Environment("a/b", "prod"))
        .isInstanceOf(InvalidInputException.class)
        .hasMessage("project ref [a/b] must be 1 to 64 characters of letters, digits, '_' or '-'");
  }

  @Test
  @DisplayName("H1: a snapshot lives at packets/{project}/{env}/sessions/{session}/snapshot.json")
  void snapshotKey() {
    assertThat(new SnapshotKey(ENV, "session_abc").path())
        .isEqualTo("packets/proj_1/prod/sessions/session_abc/snapshot.json");
    assertThatThrownBy(() -> new SnapshotKey(ENV, "session_../x"))
        .isInstanceOf(InvalidInputException.class)
        .hasMessage("snapshot session id [session_../x] must be a friendly id (session_...)");
  }

  @Test
  @DisplayName("S6: run reasons and triggers have lowercase wire names and read back")
  void wireNames() {
    for (RunReason reason : RunReason.values()) {
      assertThat(RunReason.fromWireName(reason.wireName())).isEqualTo(reason);
    }
    for (Trigger trigger : Trigger.values()) {
      assertThat(Trigger.fromWireName(trigger.wireName())).isEqualTo(trigger);
    }
    assertThat(RunReason.CONTINUATION.wireName()).isEqualTo("continuation");
    assertThatThrownBy(() -> RunReason.fromWireName("reboot"))
        .isInstanceOf(InvalidInputException.class)
        .hasMessage("unknown run reason [reboot]");
  }
}
