package dev.durablechat.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.durablechat.agent.ChatAgent;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.core.DurableChat;
import dev.durablechat.storage.memory.MemorySessionStore;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.availability.ApplicationAvailability;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.test.annotation.DirtiesContext;

/**
 * Graceful shutdown in Spring's shutdown phase while a reply streams: readiness goes down, new
 * appends get 503 with Retry-After, the turn in flight finishes and reaches its reader, and then
 * the reader's stream ends with an SSE retry hint.
 */
@SpringBootTest(
    classes = GracefulShutdownTest.App.class,
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {
      "durablechat.http.secret-keys=" + GracefulShutdownTest.SECRET,
      "durablechat.shutdown.retry-hint=1500ms"
    })
@DirtiesContext
@DisplayName("Graceful shutdown of the starter")
class GracefulShutdownTest {
  static final String SECRET = "tr_dev_durablechat-shutdown-secret";

  @SpringBootConfiguration
  @EnableAutoConfiguration
  static class App {
    @Bean
    SessionStore sessionStore() {
      return new MemorySessionStore();
    }

    @Bean
    ChatAgent<JsonValue> slow() {
      return TestAgents.echo("slow", Duration.ofMillis(100));
    }
  }

  @LocalServerPort int port;
  @Autowired DurableChatShutdown shutdown;
  @Autowired ApplicationAvailability availability;
  @Autowired DurableChat chat;

  @Test
  @DisplayName(
      "mid-reply: readiness refuses traffic, appends get 503 shutting_down with Retry-After, the"
          + " turn completes for its reader, then the stream ends with retry: 1500")
  void drainsMidReply() throws Exception {
    var wire = new Wire(port, "/durablechat", SECRET);
    String token = wire.createSession("bye", "slow");
    try (Wire.Sse sse = wire.openOut("bye", token, 0)) {
      String words = "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17 w18 w19";
      assertThat(wire.submit("bye", token, words).status()).isEqualTo(200);
      assertThat(sse.readUntil("text-delta")).isTrue();
      assertThat(availability.getReadinessState()).isEqualTo(ReadinessState.ACCEPTING_TRAFFIC);

      var stopped = new CountDownLatch(1);
      shutdown.stop(stopped::countDown);

      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> availability.getReadinessState() == ReadinessState.REFUSING_TRAFFIC);
      Wire.Reply refused = wire.submit("bye", token, "one more");
      assertThat(refused.status()).as(refused.body()).isEqualTo(503);
      assertThat(refused.json().string("code")).hasValue("shutting_down");
      assertThat(refused.header("retry-after")).hasValue("1");

      List<String> rest = sse.readToEnd();
      assertThat(String.join("\n", rest)).contains("turn-complete");
      assertThat(rest).contains("retry: 1500");
      // The hint comes after the turn's records: the reader saw the whole reply first.
      assertThat(rest.indexOf("retry: 1500"))
          .isGreaterThan(indexOfFirstContaining(rest, "turn-complete"));
      assertThat(stopped.await(30, TimeUnit.SECONDS)).isTrue();
    }
    assertThat(chat.readOut("bye", 0, 10_000))
        .filteredOn(r -> r.event() instanceof OutEvent.TurnComplete)
        .hasSize(1);
    assertThat(shutdown.isRunning()).isFalse();
  }

  private static int indexOfFirstContaining(List<String> lines, String text) {
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).contains(text)) {
        return i;
      }
    }
    return -1;
  }
}
