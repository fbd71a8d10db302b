package dev.durablechat.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.agent.AgentRuntime;
import dev.durablechat.agent.ChatAgent;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.core.DurableChat;
import dev.durablechat.http.SessionsServlet;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * A Spring Boot application with the starter, PostgreSQL as its {@code DataSource} and two agent
 * beans, on a random port of its own (Tomcat): the published {@code @trigger.dev/sdk}
 * TriggerChatTransport, unchanged under Node, creates a session, streams replies, reloads the page
 * mid-reply and resumes, all through the routes the starter mounted under {@code /chat}.
 */
@SpringBootTest(
    classes = SpringBootNodeClientsTest.App.class,
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {
      "durablechat.http.secret-keys=" + SpringBootNodeClientsTest.SECRET,
      "durablechat.http.base-path=/chat",
      "durablechat.project=boot",
      "durablechat.environment=node-clients"
    })
@DisplayName(
    "The published TriggerChatTransport against a Spring Boot application with the starter")
class SpringBootNodeClientsTest {
  static final String SECRET = "tr_dev_durablechat-spring-boot-secret";
  private static final String PREFIX = "sb" + UUID.randomUUID().toString().substring(0, 8);

  @SpringBootConfiguration
  @EnableAutoConfiguration
  static class App {
    @Bean
    ChatAgent<JsonValue> echo() {
      return TestAgents.rich("echo");
    }

    @Bean
    ChatAgent<JsonValue> slow() {
      return TestAgents.echo("slow", Duration.ofMillis(100));
    }
  }

  @DynamicPropertySource
  static void postgres(DynamicPropertyRegistry registry) {
    registry.add("spring.datasource.url", TestPostgres::url);
  }

  @LocalServerPort int port;
  @Autowired DurableChat chat;
  @Autowired AgentRuntime runtime;
  @Autowired SessionsServlet servlet;

  @Test
  @DisplayName(
      "preload and two turns streamed into the AI SDK's fold, then a reload mid-reply resumes the"
          + " reply from the persisted token and cursor; everything is on PostgreSQL")
  void transportCreatesStreamsReloadsAndResumes() {
    NodeClients.Run run =
        NodeClients.run(
            Map.of(
                "TRIGGER_API_URL", "http://127.0.0.1:" + port + "/chat",
                "TRIGGER_SECRET_KEY", SECRET,
                "CHAT_PREFIX", PREFIX),
            "transport.mjs",
            "reply",
            "resume-reload");

    assertThat(run.scenarios().keySet())
        .as("scenarios printed; stderr:%n%s", run.stderr())
        .containsExactlyInAnyOrder("reply", "resume-reload");
    run.scenarios()
        .forEach(
            (name, line) ->
                assertThat(line.get("ok"))
                    .as("scenario [%s]: %s", name, line)
                    .isEqualTo(JsonValue.of(true)));
    assertThat(run.exitCode()).as(run.stdout()).isZero();

    // What the engine on PostgreSQL stored meanwhile.
    assertThat(messagesIn("reply")).containsExactly("hello there", "and again");
    assertThat(turnCompletes("reply")).isEqualTo(2);
    assertThat(messagesIn("resume-reload")).hasSize(2);
    assertThat(turnCompletes("resume-reload")).isEqualTo(2);
  }

  private List<String> messagesIn(String scenario) {
    return chat.readIn(PREFIX + "-" + scenario, 0, 1000).stream()
        .map(StreamRecord::event)
        .filter(e -> e instanceof InEvent.Message m && m.payload().message() != null)
        .map(e -> ((InEvent.Message) e).payload().message().text())
        .toList();
  }

  private long turnCompletes(String scenario) {
    return chat.readOut(PREFIX + "-" + scenario, 0, 10_000).stream()
        .filter(r -> r.event() instanceof OutEvent.TurnComplete)
        .count();
  }
}
