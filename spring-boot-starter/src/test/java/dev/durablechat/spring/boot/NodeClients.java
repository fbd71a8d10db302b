package dev.durablechat.spring.boot;

import static org.assertj.core.api.Assertions.fail;

import dev.durablechat.api.Json;
import dev.durablechat.api.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs a script of {@code clients/} (the published {@code @trigger.dev/sdk} clients under Node)
 * against a server, and returns its scenario lines. Runs {@code npm ci} first when {@code
 * node_modules} is missing; without node the test fails rather than skips.
 */
final class NodeClients {
  static final Path CLIENTS = Path.of("").toAbsolutePath().getParent().resolve("clients");

  /** What one script printed: its scenario lines by name, its exit code and its output. */
  record Run(Map<String, JsonObject> scenarios, int exitCode, String stdout, String stderr) {}

  private NodeClients() {}

  static Run run(Map<String, String> env, String script, String... scenarios) {
    try {
      if (!Files.isDirectory(CLIENTS.resolve("node_modules"))) {
        Run npm = exec(List.of("npm", "ci", "--no-audit", "--no-fund"), Map.of(), 600);
        if (npm.exitCode() != 0) {
          fail("npm ci in [%s] exited with %d: %s", CLIENTS, npm.exitCode(), npm.stderr());
        }
      }
      var command = new ArrayList<String>(List.of("node", script));
      command.addAll(List.of(scenarios));
      Run run = exec(command, env, 300);
      Map<String, JsonObject> lines = new HashMap<>();
      for (String line : run.stdout().split("\n")) {
        if (line.startsWith("{")) {
          JsonObject json = Json.parseObject(line);
          json.string("scenario").ifPresent(name -> lines.put(name, json));
        }
      }
      return new Run(lines, run.exitCode(), run.stdout(), run.stderr());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static Run exec(List<String> command, Map<String, String> env, int seconds)
      throws IOException, InterruptedException {
    var builder = new ProcessBuilder(command).directory(CLIENTS.toFile());
    builder.environment().putAll(env);
    Process process = builder.start();
    CompletableFuture<String> out =
        CompletableFuture.supplyAsync(() -> read(process.getInputStream()));
    CompletableFuture<String> err =
        CompletableFuture.supplyAsync(() -> read(process.getErrorStream()));
    if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      fail("[%s] did not end within %d s", String.join(" ", command), seconds);
    }
    return new Run(Map.of(), process.exitValue(), out.join(), err.join());
  }

  private static String read(InputStream in) {
    try (in) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
