package dev.durablechat.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.CompositeHealthContributor;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * The {@code durablechat} health indicators against a PostgreSQL of this test's own (never the
 * shared server): UP while the database answers, DOWN once it is stopped, UP again when it is back
 * on the same port and data.
 */
@DisplayName("durablechat health: one indicator per store")
class HealthTest {
  @TempDir Path data;

  @Test
  @Timeout(value = 180, unit = TimeUnit.SECONDS)
  @DisplayName(
      "session and snapshot stores: UP, DOWN while PostgreSQL is stopped, UP once it is back")
  void downWhilePostgresIsStoppedAndUpAgain() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    EmbeddedPostgres pg = startAt(data, port);
    try {
      new ApplicationContextRunner()
          .withConfiguration(
              AutoConfigurations.of(
                  DataSourceAutoConfiguration.class,
                  DurableChatAutoConfiguration.class,
                  DurableChatHealthAutoConfiguration.class))
          .withPropertyValues(
              "spring.datasource.url=jdbc:postgresql://127.0.0.1:" + port + "/postgres",
              "spring.datasource.username=postgres",
              // A probe of a stopped database fails in a second rather than Hikari's default 30 s.
              "spring.datasource.hikari.connection-timeout=1000",
              "spring.datasource.hikari.validation-timeout=500")
          .run(
              context -> {
                assertThat(context).hasNotFailed();
                var durablechat =
                    context.getBean(
                        "durablechatHealthContributor", CompositeHealthContributor.class);
                HealthIndicator sessions =
                    (HealthIndicator) durablechat.getContributor("sessionStore");
                HealthIndicator snapshots =
                    (HealthIndicator) durablechat.getContributor("snapshotStore");
                assertThat(sessions.health().getStatus()).isEqualTo(Status.UP);
                assertThat(snapshots.health().getStatus()).isEqualTo(Status.UP);

                stop(pg);
                await()
                    .atMost(Duration.ofSeconds(60))
                    .untilAsserted(
                        () -> {
                          assertThat(sessions.health().getStatus()).isEqualTo(Status.DOWN);
                          assertThat(snapshots.health().getStatus()).isEqualTo(Status.DOWN);
                        });
                assertThat(sessions.health().getDetails()).containsKey("error");

                EmbeddedPostgres again = startAt(data, port);
                try {
                  await()
                      .atMost(Duration.ofSeconds(60))
                      .untilAsserted(
                          () -> {
                            assertThat(sessions.health().getStatus()).isEqualTo(Status.UP);
                            assertThat(snapshots.health().getStatus()).isEqualTo(Status.UP);
                          });
                } finally {
                  context.close();
                  stop(again);
                }
              });
    } finally {
      stop(pg);
    }
  }

  private static void stop(EmbeddedPostgres pg) {
    try {
      pg.close();
    } catch (Exception e) {
      // stopped already
    }
  }

  private static EmbeddedPostgres startAt(Path data, int port) throws Exception {
    return EmbeddedPostgres.builder()
        .setDataDirectory(data)
        .setCleanDataDirectory(false)
        .setPort(port)
        .start();
  }
}
