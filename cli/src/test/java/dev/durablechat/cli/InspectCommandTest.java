package dev.durablechat.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.durablechat.api.Environment;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonString;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.TriggerConfig;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoreLoader;
import dev.durablechat.core.CreateSessionRequest;
import dev.durablechat.core.DurableChat;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

@DisplayName(
    "durablechat inspect: sessions, session, out, on the H2 file serve writes and on PostgreSQL")
class InspectCommandTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static EmbeddedPostgres embedded;

  /** One run of the launcher: its exit code and what it printed. */
  record Ran(int exit, String out, String err) {}

  private static Ran inspect(String... args) {
    var out = new StringWriter();
    var err = new StringWriter();
    CommandLine cli = new CommandLine(new Main());
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    String[] all = new String[args.length + 1];
    all[0] = "inspect";
    System.arraycopy(args, 0, all, 1, args.length);
    int exit = cli.execute(all);
    return new Ran(exit, out.toString(), err.toString());
  }

  /** What {@code fold} makes of the lines, as a pipe {@code inspect out | fold} would. */
  private static JsonArray fold(String lines) {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    int exit =
        new CommandLine(
                new FoldCommand(
                    new ByteArrayInputStream(lines.getBytes(StandardCharsets.UTF_8)),
                    new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8)))
            .execute();
    assertThat(exit).as(err.toString(StandardCharsets.UTF_8)).isZero();
    return (JsonArray) Json.parse(out.toString(StandardCharsets.UTF_8));
  }

  private static String text(JsonObject message) {
    var text = new StringBuilder();
    for (var part : ((JsonArray) message.get("parts")).elements()) {
      JsonObject p = (JsonObject) part;
      if ("text".equals(p.string("type").orElse(""))) {
        text.append(p.string("text").orElse(""));
      }
    }
    return text.toString();
  }

  // ------------------------------------------------------------------ the H2 file serve writes

  @Test
  @DisplayName(
      "on the H2 file serve wrote: the table lists the chat, the session shows its run and"
          + " streams, and out prints lines that fold turns into the reply")
  void h2FileOfServe(@TempDir Path data) throws Exception {
    String chatId = "chat-" + UUID.randomUUID();
    try (RunningServe serve =
        RunningServe.start(
            Map.of(), "--port", "0", "--data", data.toString(), "--chunk-delay-ms", "0")) {
      JsonObject started =
          Json.parseObject(
              post(serve.base.resolve("/demo/start"), "{\"chatId\":\"" + chatId + "\"}", null)
                  .body());
      String token = ((JsonString) started.get("publicAccessToken")).value();
      String body =
          "{\"kind\":\"message\",\"payload\":{\"message\":{\"id\":\"u1\",\"role\":\"user\","
              + "\"parts\":[{\"type\":\"text\",\"text\":\"three little words\"}]},"
              + "\"chatId\":\""
              + chatId
              + "\",\"trigger\":\"submit-message\"}}";
      assertThat(
              post(
                      serve.base.resolve("/realtime/v1/sessions/" + chatId + "/in/append"),
                      body,
                      token)
                  .statusCode())
          .isEqualTo(200);
      await("the reply's turn-complete")
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(50))
          .until(
              () ->
                  get(serve.base.resolve("/demo/history?chatId=" + chatId))
                      .contains("turn-complete"));
    }
    // serve has stopped: its H2 file is free (H2 lets one process hold a file).
    String store = "jdbc:h2:file:" + data.resolve("chat");
    String snapshots = "file:" + data.resolve("snapshots");

    Ran sessions = inspect("sessions", "--store", store);
    assertThat(sessions.exit()).as(sessions.err()).isZero();
    assertThat(sessions.out())
        .contains("ID ", "EXTERNAL ID", "AGENT", "STATUS")
        .contains(chatId)
        .contains(" demo ")
        .contains("1 session");

    Ran one = inspect("session", chatId, "--store", store, "--snapshots", snapshots);
    assertThat(one.exit()).as(one.err()).isZero();
    assertThat(one.out())
        .contains("external id    | " + chatId)
        .contains("RUN ", "REASON", "END REASON")
        .containsPattern("(?m)^in +\\| 1 +\\| 1 *$")
        .containsPattern("(?m)^out +\\| 1 +\\| \\d+ *$")
        .containsPattern("(?m)^snapshot: ");

    // H1 migration back: the segmented snapshot serve wrote becomes one version 1 document.
    Ran compacted = inspect("compact-snapshot", chatId, "--store", store, "--snapshots", snapshots);
    assertThat(compacted.exit()).as(compacted.err()).isZero();
    assertThat(compacted.out()).contains("compacted the snapshot of session [session_");
    Ran full = inspect("session", chatId, "--store", store, "--snapshots", snapshots);
    assertThat(full.out())
        .containsPattern("(?m)^snapshot: .* 2 messages, saved ")
        .doesNotContain("segment");
    assertThat(
            inspect("compact-snapshot", chatId, "--store", store, "--snapshots", snapshots).out())
        .contains("is already one full document");
    try (var files = java.nio.file.Files.walk(data.resolve("snapshots"))) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .as("no segment is left")
          .noneMatch(n -> n.startsWith("seg-") && n.endsWith(".json"));
    }

    Ran out = inspect("out", chatId, "--store", store);
    assertThat(out.exit()).as(out.err()).isZero();
    assertThat(out.err()).containsPattern("# \\d+ turn-complete \\(in <= 1\\)");
    JsonArray messages = fold(out.out());
    assertThat(messages.elements()).hasSize(1);
    assertThat(text((JsonObject) messages.get(0)))
        .isEqualTo(ServeCommand.replyText("three little words"));

    Ran from = inspect("out", chatId, "--from", "3", "--store", store);
    assertThat(from.exit()).isZero();
    assertThat(from.out().lines().count())
        .as("--from 3 skips the first two records, both chunks")
        .isEqualTo(out.out().lines().count() - 2);

    Ran unknown = inspect("session", "chat-nope", "--store", store);
    assertThat(unknown.exit()).isEqualTo(2);
    assertThat(unknown.err()).contains("no session [chat-nope] in [demo/dev]");
    assertThat(inspect("out", "chat-nope", "--store", store).exit()).isEqualTo(2);

    Ran noSnapshots = inspect("delete", chatId, "--store", store);
    assertThat(noSnapshots.exit()).isEqualTo(2);
    assertThat(noSnapshots.err()).contains("delete needs --snapshots URL");
    assertThat(inspect("session", chatId, "--store", store).exit())
        .as("a refused delete changed nothing")
        .isZero();
    Ran deleted = inspect("delete", chatId, "--store", store, "--snapshots", snapshots);
    assertThat(deleted.exit()).as(deleted.err()).isZero();
    assertThat(deleted.out()).contains("deleted session [session_").contains(chatId);
    Ran gone = inspect("session", chatId, "--store", store);
    assertThat(gone.exit()).isEqualTo(2);
    assertThat(gone.err()).contains("no session [" + chatId + "]");
    assertThat(inspect("sessions", "--store", store).out()).contains("0 sessions");
    Ran again = inspect("delete", chatId, "--store", store, "--snapshots", snapshots);
    assertThat(again.exit()).isEqualTo(2);
    assertThat(again.err()).contains("no session [" + chatId + "]");
  }

  @Test
  @DisplayName(
      "a store that cannot be opened exits 1 with the cause; a missing H2 file is not created")
  void unreachable(@TempDir Path dir) throws Exception {
    Ran missing = inspect("sessions", "--store", "jdbc:h2:file:" + dir.resolve("none"));
    assertThat(missing.exit()).isEqualTo(1);
    assertThat(missing.err()).contains("could not open [jdbc:h2:file:" + dir.resolve("none"));
    assertThat(dir.resolve("none.mv.db")).doesNotExist();

    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Ran pg =
        inspect(
            "session",
            "chat-1",
            "--store",
            "jdbc:postgresql://127.0.0.1:" + port + "/chat?user=chat&password=hunter2");
    assertThat(pg.exit()).isEqualTo(1);
    assertThat(pg.err()).contains("could not open [jdbc:postgresql://127.0.0.1:" + port);
    assertThat(pg.err()).doesNotContain("hunter2");
  }

  @Test
  @DisplayName("bad options exit 2 naming them: a store that is not jdbc:, a status, a cursor")
  void badOptions() {
    Ran notJdbc = inspect("sessions", "--store", "postgres://db/x");
    assertThat(notJdbc.exit()).isEqualTo(2);
    assertThat(notJdbc.err()).contains("--store [postgres://db/x] must be a jdbc: URL");
    Ran status = inspect("sessions", "--store", "jdbc:h2:mem:x", "--status", "paused");
    assertThat(status.exit()).isEqualTo(2);
    assertThat(status.err()).contains("--status [paused] must be one of [open, closed, expired]");
    Ran cursor = inspect("sessions", "--store", "jdbc:h2:mem:x", "--cursor", "nope!");
    assertThat(cursor.exit()).isEqualTo(2);
    assertThat(cursor.err()).contains("cursor [nope!] is malformed");
    assertThat(inspect("sessions").exit()).as("--store is required").isEqualTo(2);
  }

  // ------------------------------------------------------------------ PostgreSQL

  @Test
  @DisplayName(
      "on PostgreSQL: filters and pages of the table, and out --follow prints records as they land"
          + " and ends when the session is closed")
  void postgres() throws Exception {
    String url = postgresUrl();
    String envSlug = "insp-" + UUID.randomUUID().toString().substring(0, 8);
    Environment env = new Environment("demo", envSlug);
    String environment = "demo/" + envSlug;
    try (SessionStore store = StoreLoader.openSessionStore(url);
        DurableChat chat = DurableChat.builder().environment(env).sessionStore(store).build()) {
      for (int i = 0; i < 5; i++) {
        chat.createSession(
            CreateSessionRequest.builder(i % 2 == 0 ? "writer" : "reader")
                .externalId("pg-" + i)
                .triggerConfig(
                    new TriggerConfig(
                        null,
                        null,
                        i < 2 ? List.of("vip") : List.of(),
                        null,
                        null,
                        JsonObject.empty()))
                .build());
      }
      chat.closeSession("pg-4", "done");

      Ran writers =
          inspect("sessions", "--store", url, "--environment", environment, "--agent", "writer");
      assertThat(writers.exit()).as(writers.err()).isZero();
      assertThat(writers.out()).contains("pg-0", "pg-2", "pg-4").doesNotContain("pg-1", "pg-3");
      Ran vip = inspect("sessions", "--store", url, "--environment", environment, "--tag", "vip");
      assertThat(vip.out()).contains("pg-0", "pg-1").doesNotContain("pg-2").contains("vip");
      Ran closed =
          inspect("sessions", "--store", url, "--environment", environment, "--status", "closed");
      assertThat(closed.out()).contains("pg-4").contains("closed").doesNotContain("pg-3");

      // Pages: the first page of 2 names the cursor of the next one; following it lists the rest.
      var seen = new ArrayList<String>();
      List<String> page = List.of("--limit", "2");
      String cursor = null;
      for (int i = 0; i < 5; i++) {
        var args =
            new ArrayList<>(List.of("sessions", "--store", url, "--environment", environment));
        args.addAll(page);
        if (cursor != null) {
          args.addAll(List.of("--cursor", cursor));
        }
        Ran r = inspect(args.toArray(String[]::new));
        assertThat(r.exit()).as(r.err()).isZero();
        var ids = java.util.regex.Pattern.compile("\\| (pg-\\d) ").matcher(r.out());
        while (ids.find()) {
          seen.add(ids.group(1));
        }
        var m = java.util.regex.Pattern.compile("next page: --cursor (\\S+)").matcher(r.out());
        cursor = m.find() ? m.group(1) : null;
        if (cursor == null) {
          break;
        }
      }
      assertThat(seen).containsExactly("pg-4", "pg-3", "pg-2", "pg-1", "pg-0");

      String runId = chat.ensureRun("pg-0", RunReason.INITIAL).run().runId();
      chat.appendOut(
          "pg-0", runId, OutEvent.Chunk.of(chunk("{\"type\":\"start\",\"messageId\":\"a1\"}")));
      chat.appendOut(
          "pg-0", runId, OutEvent.Chunk.of(chunk("{\"type\":\"text-start\",\"id\":\"t\"}")));

      var out = new StringWriter();
      var err = new StringWriter();
      CommandLine cli = new CommandLine(new Main());
      cli.setOut(new PrintWriter(out, true));
      cli.setErr(new PrintWriter(err, true));
      CompletableFuture<Integer> follow =
          CompletableFuture.supplyAsync(
              () ->
                  cli.execute(
                      "inspect",
                      "out",
                      "pg-0",
                      "--follow",
                      "--store",
                      url,
                      "--environment",
                      environment));
      await("the records already there")
          .atMost(Duration.ofSeconds(30))
          .until(() -> out.toString().lines().count() == 2);
      chat.appendOut(
          "pg-0",
          runId,
          List.of(
              OutEvent.Chunk.of(
                  chunk("{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"hi there\"}")),
              OutEvent.Chunk.of(chunk("{\"type\":\"text-end\",\"id\":\"t\"}")),
              OutEvent.Chunk.of(chunk("{\"type\":\"finish\"}")),
              new OutEvent.TurnComplete(0)));
      await("the records appended while following")
          .atMost(Duration.ofSeconds(30))
          .until(() -> err.toString().contains("turn-complete"));
      assertThat(follow).as("still following an open session").isNotDone();
      chat.closeSession("pg-0", "done");
      assertThat(follow.get(30, TimeUnit.SECONDS)).as(err.toString()).isZero();
      JsonArray messages = fold(out.toString());
      assertThat(text((JsonObject) messages.get(0))).isEqualTo("hi there");
    }
  }

  private static UIMessageChunk chunk(String json) {
    return UIMessageChunk.parse(json);
  }

  // ------------------------------------------------------------------ helpers

  private static synchronized String postgresUrl() throws IOException {
    String configured = System.getenv("PG_JDBC_URL");
    if (configured != null && !configured.isBlank()) {
      return configured;
    }
    if (embedded == null) {
      embedded = EmbeddedPostgres.builder().start();
    }
    return embedded.getJdbcUrl("postgres", "postgres");
  }

  @AfterAll
  static void stopPostgres() throws IOException {
    if (embedded != null) {
      embedded.close();
    }
  }

  private static String get(URI uri) throws Exception {
    return HTTP.send(
            HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString())
        .body();
  }

  private static HttpResponse<String> post(URI uri, String body, String bearer) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri)
            .timeout(Duration.ofSeconds(10))
            .header("Content-Type", "application/json")
            .header("X-Part-Id", UUID.randomUUID().toString())
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (bearer != null) {
      b.header("Authorization", "Bearer " + bearer);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }
}
