package dev.durablechat.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.durablechat.api.SessionRun;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A long-lived runtime keeps no memory per chat it ever served: its per-session state (running
 * loops, session locks, lease watches) is freed once a session's run has ended (L3 idle end, or a
 * close).
 */
@DisplayName("A runtime keeps no per-session entry for sessions it no longer serves")
class ServedSessionsTest {
  private static final int SESSIONS = 10_000;
  private static final int WINDOW = 100;
  private static final Duration WAIT = Duration.ofSeconds(30);

  @Test
  @DisplayName(
      "serving 10,000 short sessions (half end idle, L3; half are closed) leaves no per-session"
          + " entry behind")
  void tenThousandShortSessionsLeaveNothingBehind() {
    ChatAgent<?> shortLived =
        ChatAgent.builder("short")
            .idleTimeout(Duration.ofMillis(20))
            .run((turn, out) -> out.text("ok"))
            .build();
    ChatAgent<?> longLived =
        ChatAgent.builder("long")
            .idleTimeout(Duration.ofMinutes(5))
            .run((turn, out) -> out.text("ok"))
            .build();
    try (var f = new AgentFixture(shortLived, longLived)) {
      // The accessor sees a session that is being served...
      AgentChat marker = f.client("long", "marker");
      assertThat(marker.sendMessage("hi").text(WAIT)).isEqualTo("ok");
      assertThat(f.runtime.sessionEntries()).isEqualTo(1);

      var chatIds = new ArrayList<String>(SESSIONS);
      for (int from = 0; from < SESSIONS; from += WINDOW) {
        var replies = new ArrayList<Reply>(WINDOW);
        for (int i = from; i < from + WINDOW; i++) {
          String chatId = "c" + i;
          chatIds.add(chatId);
          AgentChat chat = f.client("short", chatId);
          replies.add(chat.sendMessage("hi"));
          if (i % 2 == 0) {
            chat.close();
          }
        }
        for (Reply reply : replies) {
          assertThat(reply.text(WAIT)).isEqualTo("ok");
        }
      }

      // ...every short session's run ends...
      List<String> serving = new ArrayList<>(chatIds);
      await("every short session's run to end")
          .atMost(WAIT.multipliedBy(2))
          .until(
              () -> {
                serving.removeIf(id -> f.runs(id).stream().noneMatch(SessionRun::isRunning));
                return serving.isEmpty();
              });
      // ...and then only the marker's entry is left, until it is closed too.
      await("the runtime to free the short sessions")
          .atMost(WAIT)
          .until(() -> f.runtime.sessionEntries() == 1);
      assertThat(f.runtime.runningRunId("marker")).isNotNull();
      marker.close();
      await("the runtime to free the marker session")
          .atMost(WAIT)
          .until(() -> f.runtime.sessionEntries() == 0);
      assertThat(f.runs("marker")).noneMatch(SessionRun::isRunning);
    }
  }
}
