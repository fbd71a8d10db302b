package dev.durablechat.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("serve --store, --snapshots and --host")
class ServeStoresTest {

  @Test
  @DisplayName("runs on the session store and snapshot store it is given, and prints them")
  void givenStores(@TempDir Path dir) throws Exception {
    String store = "jdbc:h2:file:" + dir.resolve("given");
    String snapshots = "file:" + dir.resolve("given-snapshots");
    try (RunningServe serve =
        RunningServe.start(
            Map.of(),
            "--port",
            "0",
            "--host",
            "127.0.0.1",
            "--store",
            store,
            "--snapshots",
            snapshots,
            "--secret-key",
            "dc_test_key_0123456789")) {
      assertThat(serve.out.toString())
          .contains("session store  " + store)
          .contains("snapshots      " + snapshots);
      HttpResponse<String> claims =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(serve.base.resolve("/api/v1/auth/jwt/claims"))
                      .header("Authorization", "Bearer dc_test_key_0123456789")
                      .timeout(Duration.ofSeconds(10))
                      .POST(HttpRequest.BodyPublishers.noBody())
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(claims.statusCode()).isEqualTo(200);
    }
    assertThat(dir.resolve("given.mv.db")).exists();
  }

  @Test
  @DisplayName("a store that is not a JDBC URL is refused before anything starts")
  void notJdbc() throws Exception {
    var err = new StringWriter();
    assertThat(RunningServe.refuse(err, Map.of(), "--port", "0", "--store", "postgres://db/x"))
        .isEqualTo(2);
    assertThat(err.toString()).contains("--store [postgres://db/x] must be a jdbc: URL");
  }

  @Test
  @DisplayName("an unreachable PostgreSQL exits 1 with a clear error that never shows the password")
  void unreachablePostgres() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    var err = new StringWriter();
    int exit =
        RunningServe.refuse(
            err,
            Map.of(),
            "--port",
            "0",
            "--store",
            "jdbc:postgresql://127.0.0.1:" + port + "/chat?user=chat&password=hunter2");
    assertThat(exit).as(err.toString()).isEqualTo(1);
    assertThat(err.toString())
        .contains("durablechat serve: could not start on [jdbc:postgresql://127.0.0.1:" + port)
        .contains("password=***")
        .doesNotContain("hunter2");
  }

  @Test
  @DisplayName("an s3: snapshot store without a bucket exits 1 naming what is missing")
  void s3WithoutBucket(@TempDir Path dir) throws Exception {
    var err = new StringWriter();
    int exit =
        RunningServe.refuse(
            err, Map.of(), "--port", "0", "--data", dir.toString(), "--snapshots", "s3:");
    assertThat(exit).as(err.toString()).isEqualTo(1);
    assertThat(err.toString()).contains("could not start").containsIgnoringCase("bucket");
  }

  @Test
  @DisplayName("the secret parts of a location are never printed")
  void redacts() {
    assertThat(ServeCommand.redact("jdbc:postgresql://h/db?user=u&password=p1&ssl=true"))
        .isEqualTo("jdbc:postgresql://h/db?user=u&password=***&ssl=true");
    assertThat(ServeCommand.redact("jdbc:postgresql://u:p2@h/db"))
        .isEqualTo("jdbc:postgresql://u:***@h/db");
    assertThat(ServeCommand.redact("s3://bucket/p?endpoint=" + URI.create("http://m:9000")))
        .isEqualTo("s3://bucket/p?endpoint=http://m:9000");
  }
}
