package dev.durablechat.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.SessionRun;
import dev.durablechat.http.HttpFixture.Reply;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("the session's run over the wire: its idleTimeoutInSeconds (S9) and POST …/close")
class SessionRunRouteTest {
  // The "echo" agent idles for 30 s, longer than any wait here: only the session can end its run.
  private final HttpFixture f = new HttpFixture();

  @AfterEach
  void close() {
    f.close();
  }

  private void create(String chatId, String triggerConfig) {
    Reply r =
        f.post(
            "/api/v1/sessions",
            HttpFixture.SECRET,
            "{\"type\":\"chat.agent\",\"externalId\":\""
                + chatId
                + "\",\"taskIdentifier\":\"echo\",\"triggerConfig\":"
                + triggerConfig
                + "}");
    assertThat(r.status()).as(r.body()).isEqualTo(201);
  }

  private SessionRun onlyRun(String chatId) {
    List<SessionRun> runs = f.chat.runs(chatId);
    assertThat(runs).hasSize(1);
    return runs.get(0);
  }

  @Test
  @DisplayName(
      "S9: a session created with idleTimeoutInSeconds 1 has its run end idle; one created without"
          + " keeps the agent's idle timeout and runs on")
  void sessionIdleTimeoutFromTheCreateRoute() {
    create("keeps", "{}");
    create("quick", "{\"idleTimeoutInSeconds\":1}");

    HttpFixture.await("the quick session's idle end", () -> !onlyRun("quick").isRunning());
    assertThat(onlyRun("quick").endReason()).isEqualTo("idle");
    assertThat(onlyRun("keeps").isRunning()).isTrue();
  }

  @Test
  @DisplayName(
      "POST /api/v1/sessions/{id}/close ends the session's idle run at once, reason closed")
  void closeRouteEndsTheRun() {
    create("c1", "{}");
    assertThat(onlyRun("c1").isRunning()).isTrue();

    assertThat(f.post("/api/v1/sessions/c1/close", HttpFixture.SECRET, "{}").status())
        .isEqualTo(200);

    HttpFixture.await("the run's end", () -> !onlyRun("c1").isRunning());
    assertThat(onlyRun("c1").endReason()).isEqualTo("closed");
    assertThat(f.runtime.runningRunId("c1")).isNull();
  }
}
