package dev.durablechat.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.agent.AgentRuntime;
import dev.durablechat.agent.ChatAgent;
import dev.durablechat.api.Environment;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.core.CreateSessionRequest;
import dev.durablechat.core.DurableChat;
import dev.durablechat.core.Telemetry;
import dev.durablechat.http.SessionsServlet;
import dev.durablechat.storage.file.FileSnapshotStore;
import dev.durablechat.storage.memory.MemorySessionStore;
import dev.durablechat.storage.memory.MemorySnapshotStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.boot.web.servlet.ServletRegistrationBean;

/**
 * The starter's auto-configuration, context by context: what it builds from the application's
 * DataSource and properties, that the application's own beans always win, and that a missing secret
 * key or an unreachable store stops the start with a message saying what to do.
 */
@DisplayName("The durablechat auto-configuration")
class AutoConfigurationTest {
  private static final String SECRET = "tr_dev_durablechat-autoconfig-secret";

  private static final AutoConfigurations DURABLECHAT =
      AutoConfigurations.of(
          DataSourceAutoConfiguration.class,
          DurableChatTelemetryAutoConfiguration.class,
          DurableChatAutoConfiguration.class,
          DurableChatWebAutoConfiguration.class,
          DurableChatHealthAutoConfiguration.class);

  private static String h2() {
    return "spring.datasource.url=jdbc:h2:mem:ac-"
        + UUID.randomUUID()
        + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH;DB_CLOSE_DELAY=-1";
  }

  private final ApplicationContextRunner runner =
      new ApplicationContextRunner().withConfiguration(DURABLECHAT);

  private final WebApplicationContextRunner web =
      new WebApplicationContextRunner().withConfiguration(DURABLECHAT);

  private static ChatAgent<JsonValue> agent() {
    return TestAgents.echo("echo", Duration.ZERO);
  }

  @Nested
  @DisplayName("builds from the application's configuration")
  class Builds {
    @Test
    @DisplayName("the JDBC session and snapshot stores on the DataSource, and the engine over them")
    void jdbcStoresOnTheDataSource() {
      runner
          .withPropertyValues(h2(), "durablechat.project=p1", "durablechat.environment=e1")
          .run(
              context -> {
                assertThat(context).hasNotFailed().hasSingleBean(DurableChat.class);
                assertThat(context.getBean(SessionStore.class).getClass().getName())
                    .isEqualTo("dev.durablechat.storage.jdbc.JdbcSessionStore");
                assertThat(context.getBean(SnapshotStore.class).getClass().getName())
                    .isEqualTo("dev.durablechat.storage.jdbc.JdbcSnapshotStore");
                DurableChat chat = context.getBean(DurableChat.class);
                assertThat(chat.environment()).isEqualTo(new Environment("p1", "e1"));
                chat.createSession(CreateSessionRequest.builder("echo").externalId("c1").build());
                assertThat(chat.session("c1").agentId()).isEqualTo("echo");
                // No agent bean: no runtime, no routes.
                assertThat(context).doesNotHaveBean(AgentRuntime.class);
              });
    }

    @Test
    @DisplayName("a file: snapshot location gives a file snapshot store in that folder")
    void fileSnapshots(@TempDir Path dir) {
      runner
          .withPropertyValues(h2(), "durablechat.snapshots.location=file:" + dir)
          .run(
              context ->
                  assertThat(context.getBean(SnapshotStore.class))
                      .isInstanceOfSatisfying(
                          FileSnapshotStore.class, s -> assertThat(s.root()).isEqualTo(dir)));
    }

    @Test
    @DisplayName("snapshots.location=none: an engine without a snapshot store")
    void noSnapshots() {
      runner
          .withPropertyValues(h2(), "durablechat.snapshots.location=none")
          .run(
              context ->
                  assertThat(context)
                      .hasSingleBean(DurableChat.class)
                      .doesNotHaveBean(SnapshotStore.class));
    }

    @Test
    @DisplayName("every ChatAgent bean is registered on one runtime over the engine")
    void agentsOnOneRuntime() {
      runner
          .withPropertyValues(h2())
          .withBean("echo", ChatAgent.class, AutoConfigurationTest::agent)
          .withBean("slow", ChatAgent.class, () -> TestAgents.echo("slow", Duration.ZERO))
          .run(
              context -> {
                AgentRuntime runtime = context.getBean(AgentRuntime.class);
                assertThat(runtime.chat()).isSameAs(context.getBean(DurableChat.class));
                assertThat(runtime.agent("echo").id()).isEqualTo("echo");
                assertThat(runtime.agent("slow").id()).isEqualTo("slow");
              });
    }

    @Test
    @DisplayName(
        "in a servlet application: the Sessions servlet under the base path, async supported")
    void servletUnderTheBasePath() {
      web.withPropertyValues(
              h2(), "durablechat.http.secret-keys=" + SECRET, "durablechat.http.base-path=chat/")
          .withBean("echo", ChatAgent.class, AutoConfigurationTest::agent)
          .run(
              context -> {
                assertThat(context).hasSingleBean(SessionsServlet.class);
                ServletRegistrationBean<?> registration =
                    context.getBean(
                        "durableChatSessionsRegistration", ServletRegistrationBean.class);
                assertThat(registration.getUrlMappings()).containsExactly("/chat/*");
                assertThat(registration.isAsyncSupported()).isTrue();
                assertThat(registration.getServlet())
                    .isSameAs(context.getBean(SessionsServlet.class));
              });
    }

    @Test
    @DisplayName("with a MeterRegistry bean the engine reports to Micrometer")
    void micrometerTelemetry() {
      runner
          .withPropertyValues(h2())
          .withBean(SimpleMeterRegistry.class, SimpleMeterRegistry::new)
          .run(
              context ->
                  assertThat(context.getBean(DurableChat.class).telemetry().toString())
                      .startsWith("Telemetry.micrometer"));
    }

    @Test
    @DisplayName("without a MeterRegistry the engine reports nothing")
    void noTelemetryWithoutARegistry() {
      runner
          .withPropertyValues(h2())
          .run(
              context ->
                  assertThat(context.getBean(DurableChat.class).telemetry())
                      .isSameAs(Telemetry.noop()));
    }

    @Test
    @DisplayName("generated configuration metadata documents every durablechat.* property for IDEs")
    void configurationMetadata() throws Exception {
      String json;
      try (var in =
          getClass().getResourceAsStream("/META-INF/spring-configuration-metadata.json")) {
        assertThat(in).as("the metadata the configuration processor generated").isNotNull();
        json = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      }
      var properties =
          ((dev.durablechat.api.JsonArray)
                  dev.durablechat.api.Json.parseObject(json).get("properties"))
              .elements().stream().map(dev.durablechat.api.JsonObject.class::cast).toList();
      assertThat(properties)
          .extracting(p -> p.string("name").orElseThrow())
          .contains(
              "durablechat.http.secret-keys",
              "durablechat.http.base-path",
              "durablechat.snapshots.location",
              "durablechat.shutdown.timeout",
              "durablechat.runtime.lease-duration");
      assertThat(properties)
          .allSatisfy(p -> assertThat(p.string("description")).as("%s", p).isPresent());
    }

    @Test
    @DisplayName("durablechat.enabled=false: nothing at all")
    void disabled() {
      web.withPropertyValues(h2(), "durablechat.enabled=false")
          .withBean("echo", ChatAgent.class, AutoConfigurationTest::agent)
          .run(
              context ->
                  assertThat(context)
                      .doesNotHaveBean(DurableChat.class)
                      .doesNotHaveBean(SessionStore.class)
                      .doesNotHaveBean(AgentRuntime.class)
                      .doesNotHaveBean(SessionsServlet.class));
    }
  }

  @Nested
  @DisplayName("backs off when the application defines its own")
  class BacksOff {
    @Test
    @DisplayName("engine: the application's DurableChat is the one the runtime runs on")
    void engine() {
      var store = new MemorySessionStore();
      runner
          .withPropertyValues(h2())
          .withBean(
              "myChat",
              DurableChat.class,
              () ->
                  DurableChat.builder()
                      .environment(new Environment("mine", "dev"))
                      .sessionStore(store)
                      .build())
          .withBean("echo", ChatAgent.class, AutoConfigurationTest::agent)
          .run(
              context -> {
                assertThat(context).hasSingleBean(DurableChat.class);
                DurableChat chat = context.getBean(DurableChat.class);
                assertThat(chat.environment()).isEqualTo(new Environment("mine", "dev"));
                assertThat(context.getBean(AgentRuntime.class).chat()).isSameAs(chat);
              });
    }

    @Test
    @DisplayName("stores: the application's session and snapshot stores, even with a DataSource")
    void stores() {
      var sessions = new MemorySessionStore();
      var snapshots = new MemorySnapshotStore();
      runner
          .withPropertyValues(h2())
          .withBean("mySessions", SessionStore.class, () -> sessions)
          .withBean("mySnapshots", SnapshotStore.class, () -> snapshots)
          .run(
              context -> {
                assertThat(context.getBean(SessionStore.class)).isSameAs(sessions);
                assertThat(context.getBean(SnapshotStore.class)).isSameAs(snapshots);
                DurableChat chat = context.getBean(DurableChat.class);
                chat.createSession(CreateSessionRequest.builder("echo").externalId("mine").build());
                assertThat(sessions.findByExternalId(chat.environment(), "mine")).isPresent();
              });
    }

    @Test
    @DisplayName("stores: no DataSource is needed when the application gives a session store")
    void storesWithoutDataSource() {
      new ApplicationContextRunner()
          .withConfiguration(
              AutoConfigurations.of(
                  DurableChatAutoConfiguration.class, DurableChatHealthAutoConfiguration.class))
          .withBean(SessionStore.class, MemorySessionStore::new)
          .run(
              context ->
                  assertThat(context)
                      .hasNotFailed()
                      .hasSingleBean(DurableChat.class)
                      .doesNotHaveBean(SnapshotStore.class));
    }

    @Test
    @DisplayName("runtime: the application's AgentRuntime is the one the routes serve")
    void runtime() {
      web.withPropertyValues(h2(), "durablechat.http.secret-keys=" + SECRET)
          .withBean("echo", ChatAgent.class, AutoConfigurationTest::agent)
          .withUserConfiguration(OwnRuntime.class)
          .run(
              context -> {
                assertThat(context).hasSingleBean(AgentRuntime.class);
                assertThat(context.getBean(AgentRuntime.class).agent("mine").id())
                    .isEqualTo("mine");
                assertThat(context).hasSingleBean(SessionsServlet.class);
              });
    }

    @Test
    @DisplayName("telemetry: the application's Telemetry bean is the engine's")
    void telemetry() {
      Telemetry mine = new Telemetry() {};
      runner
          .withPropertyValues(h2())
          .withBean(SimpleMeterRegistry.class, SimpleMeterRegistry::new)
          .withBean(Telemetry.class, () -> mine)
          .run(
              context -> assertThat(context.getBean(DurableChat.class).telemetry()).isSameAs(mine));
    }
  }

  @Nested
  @DisplayName("fails at start with a clear message")
  class Fails {
    @Test
    @DisplayName("without a secret key, naming the property and how to make a key")
    void withoutSecretKey() {
      web.withPropertyValues(h2())
          .withBean("echo", ChatAgent.class, AutoConfigurationTest::agent)
          .run(
              context -> {
                assertThat(context).hasFailed();
                DurableChatStartupException e = startupFailure(context.getStartupFailure());
                assertThat(e.getMessage())
                    .isEqualTo(
                        "durablechat.http.secret-keys is not set: the Sessions routes need a"
                            + " secret key to sign and check session tokens");
                assertThat(e.action())
                    .contains("openssl rand -base64 32", "durablechat.http.enabled=false");
              });
    }

    @Test
    @DisplayName("with a short secret key, naming its length and never the key")
    void withShortSecretKey() {
      web.withPropertyValues(h2(), "durablechat.http.secret-keys=tooshortkey")
          .withBean("echo", ChatAgent.class, AutoConfigurationTest::agent)
          .run(
              context -> {
                DurableChatStartupException e = startupFailure(context.getStartupFailure());
                assertThat(e.getMessage())
                    .startsWith("durablechat.http.secret-keys[0] is refused: a secret key of [11]")
                    .doesNotContain("tooshortkey");
                assertThat(e.action()).doesNotContain("tooshortkey");
              });
    }

    @Test
    @DisplayName("with an unreachable database, naming the store and what to check")
    void withUnreachableStore() {
      runner
          .withPropertyValues(
              "spring.datasource.url=jdbc:postgresql://127.0.0.1:1/nowhere?user=postgres",
              "spring.datasource.hikari.connection-timeout=250",
              "spring.datasource.hikari.initialization-fail-timeout=-1")
          .run(
              context -> {
                DurableChatStartupException e = startupFailure(context.getStartupFailure());
                assertThat(e.getMessage())
                    .startsWith(
                        "the durablechat session store on the application's DataSource is"
                            + " unreachable: ");
                assertThat(e.action()).contains("spring.datasource.url");
              });
    }

    @Test
    @DisplayName("with an unreadable snapshot location, naming it without its parameters")
    void withUnreachableSnapshotStore() {
      runner
          .withPropertyValues(h2(), "durablechat.snapshots.location=nosuchscheme://x?secret=s")
          .run(
              context -> {
                DurableChatStartupException e = startupFailure(context.getStartupFailure());
                assertThat(e.getMessage())
                    .startsWith(
                        "the durablechat snapshot store [nosuchscheme://x?...] is unreachable")
                    .doesNotContain("secret=s");
              });
    }

    @Test
    @DisplayName("and Spring Boot prints the problem and the action (failure analyzer)")
    void failureAnalysis() {
      var e = new DurableChatStartupException("the problem", "the action");
      FailureAnalysis analysis =
          new DurableChatFailureAnalyzer().analyze(new IllegalStateException("wrapped", e));
      assertThat(analysis.getDescription()).isEqualTo("the problem");
      assertThat(analysis.getAction()).isEqualTo("the action");
      assertThat(
              org.springframework.core.io.support.SpringFactoriesLoader.forDefaultResourceLocation(
                      getClass().getClassLoader())
                  .load(
                      org.springframework.boot.diagnostics.FailureAnalyzer.class,
                      null,
                      // Spring Boot's own analyzers need constructor arguments: skip those here.
                      org.springframework.core.io.support.SpringFactoriesLoader.FailureHandler
                          .handleMessage((message, failure) -> {})))
          .as("the analyzers Spring Boot loads from spring.factories")
          .hasAtLeastOneElementOfType(DurableChatFailureAnalyzer.class);
    }
  }

  @org.springframework.context.annotation.Configuration(proxyBeanMethods = false)
  static class OwnRuntime {
    @org.springframework.context.annotation.Bean
    AgentRuntime myRuntime(DurableChat chat) {
      return AgentRuntime.builder(chat).register(TestAgents.echo("mine", Duration.ZERO)).build();
    }
  }

  private static DurableChatStartupException startupFailure(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof DurableChatStartupException e) {
        return e;
      }
    }
    throw new AssertionError("no DurableChatStartupException in the failure", failure);
  }
}
