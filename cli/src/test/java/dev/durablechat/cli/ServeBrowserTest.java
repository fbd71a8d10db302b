package dev.durablechat.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chat page in a real browser: runs {@code clients/browser-chat.mjs} (playwright-core driving
 * Chromium, {@code /usr/bin/chromium} or {@code $CHROMIUM}) against {@code serve} on port 0. Needs
 * Node.js and Chromium on the machine ({@code .ci/run} installs Chromium); the script's npm
 * dependencies are installed with {@code npm ci} when they are missing.
 */
@DisplayName("./durablechat serve's chat page in Chromium")
class ServeBrowserTest {
  private static final Path CLIENTS = Path.of("..", "clients").toAbsolutePath().normalize();
  private static final String MESSAGE = "Does this reply survive a reload of the page?";

  @Test
  @DisplayName(
      "streams a reply with its tool call, and after a reload mid-reply resumes from Last-Event-ID"
          + " and completes the reply exactly once (W7); a later reload shows the same"
          + " conversation")
  void reloadMidReply(@TempDir Path data) throws Exception {
    String chromium = System.getenv().getOrDefault("CHROMIUM", "/usr/bin/chromium");
    assertThat(Path.of(chromium))
        .as("Chromium is needed for this test (apt-get install chromium, or set $CHROMIUM)")
        .isExecutable();
    installClientsIfMissing();

    try (RunningServe serve =
        RunningServe.start(
            Map.of(),
            "--port",
            "0",
            "--data",
            data.toString(),
            "--secret-key",
            "browser-test-key-0123456789",
            // Slow enough that the reload lands mid-reply, fast enough for a short test.
            "--chunk-delay-ms",
            "60")) {
      ProcessBuilder pb =
          new ProcessBuilder(
                  "node", "browser-chat.mjs", serve.base.resolve(ChatPage.PREFIX + "/").toString())
              .directory(CLIENTS.toFile())
              .redirectErrorStream(true);
      pb.environment().put("MESSAGE", MESSAGE);
      pb.environment().put("EXPECTED_REPLY", ServeCommand.replyText(MESSAGE));
      pb.environment().put("CHROMIUM", chromium);
      Result result = run(pb, 120);
      assertThat(result.exit())
          .as("browser-chat.mjs failed:\n" + result.output() + "\nserve:\n" + serve)
          .isZero();
      assertThat(result.output()).contains("all checks passed");
    }
  }

  private static void installClientsIfMissing() throws Exception {
    if (Files.isDirectory(CLIENTS.resolve("node_modules/playwright-core"))) {
      return;
    }
    Result npm =
        run(
            new ProcessBuilder(List.of("npm", "ci", "--no-audit", "--no-fund"))
                .directory(CLIENTS.toFile())
                .redirectErrorStream(true),
            300);
    assertThat(npm.exit()).as("npm ci in [" + CLIENTS + "] failed:\n" + npm.output()).isZero();
  }

  private record Result(int exit, String output) {}

  private static Result run(ProcessBuilder pb, int timeoutSeconds) throws Exception {
    Path log = Files.createTempFile("durablechat-serve-browser-", ".log");
    try {
      pb.redirectOutput(log.toFile());
      Process p = pb.start();
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        return new Result(-1, "timed out after " + timeoutSeconds + " s\n" + read(log));
      }
      return new Result(p.exitValue(), read(log));
    } finally {
      Files.deleteIfExists(log);
    }
  }

  private static String read(Path log) throws IOException {
    return Files.readString(log, StandardCharsets.UTF_8);
  }
}
