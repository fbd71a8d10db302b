package dev.durablechat.agent.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.durablechat.api.Json;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonNull;
import dev.durablechat.api.JsonNumber;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The differential fold harness for model adapters: folds a reply's chunks with the real AI SDK's
 * {@code readUIMessageStream} ({@code compat/fold.mjs}, ai 6 and ai 7) and checks it yields the
 * expected message, with no fold failure. Needs node and npm; runs {@code npm ci} in {@code
 * compat/} if its {@code node_modules} is missing, and fails without node.
 */
public final class AiSdk {
  private static final Path COMPAT = findCompat();

  private AiSdk() {}

  private static Path findCompat() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.isRegularFile(dir.resolve("compat").resolve("fold.mjs"))) {
      dir = dir.getParent();
    }
    if (dir == null) {
      throw new IllegalStateException(
          "compat/fold.mjs not found above " + Path.of("").toAbsolutePath());
    }
    return dir.resolve("compat");
  }

  /**
   * Folds the chunks with every installed AI SDK (continuing {@code initial} if given) and checks
   * each yields {@code expected} (JSON equality, member order aside) and no fold failure.
   */
  public static void assertFoldsTo(
      List<UIMessageChunk> chunks, @Nullable UIMessage initial, UIMessage expected) {
    var array = new ArrayList<JsonValue>();
    chunks.forEach(c -> array.add(c.json()));
    var testCase = JsonObject.builder().put("name", "adapter").put("chunks", JsonArray.of(array));
    if (initial != null) {
      testCase.put("initial", initial.json());
    }
    JsonObject corpus = JsonObject.builder().put("cases", JsonArray.of(testCase.build())).build();
    JsonObject result;
    try {
      Path file = Files.createTempFile("adapter-corpus", ".json");
      try {
        Files.writeString(file, corpus.toString());
        if (!Files.isDirectory(COMPAT.resolve("node_modules"))) {
          run(600, "npm", "ci", "--no-audit", "--no-fund");
        }
        result =
            (JsonObject)
                ((JsonArray) Json.parse(run(300, "node", "fold.mjs", file.toString()))).get(0);
      } finally {
        Files.deleteIfExists(file);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    for (String version : List.of("ai", "ai7")) {
      JsonObject outcome = (JsonObject) result.get(version);
      assertThat(outcome.get("failure"))
          .as("the AI SDK (%s) folds every chunk: %s", version, outcome)
          .isEqualTo(JsonNull.INSTANCE);
      if (!sameJson(outcome.get("message"), expected.json())) {
        fail(
            "the AI SDK (%s %s) folds to%n  %s%nexpected%n  %s",
            version, outcome.get("version"), outcome.get("message"), expected.json());
      }
    }
  }

  private static String run(long timeoutSeconds, String... command) throws IOException {
    Process process;
    try {
      process = new ProcessBuilder(command).directory(COMPAT.toFile()).start();
    } catch (IOException e) {
      throw new AssertionError(
          "cannot run [" + String.join(" ", command) + "]: needs node 20+ and npm on the PATH", e);
    }
    CompletableFuture<String> stdout = drain(process.getInputStream());
    CompletableFuture<String> stderr = drain(process.getErrorStream());
    try {
      if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        fail("[%s] did not finish within %d s", String.join(" ", command), timeoutSeconds);
      }
      if (process.exitValue() != 0) {
        fail(
            "[%s] exited with %d: %s",
            String.join(" ", command), process.exitValue(), stderr.get());
      }
      return stdout.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new AssertionError(e);
    }
  }

  private static CompletableFuture<String> drain(InputStream in) {
    return CompletableFuture.supplyAsync(
        () -> {
          try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
  }

  /** JSON equality as JavaScript sees it: member order aside, numbers by value. */
  public static boolean sameJson(@Nullable JsonValue a, @Nullable JsonValue b) {
    if (a instanceof JsonNumber x && b instanceof JsonNumber y) {
      return Double.parseDouble(x.literal()) == Double.parseDouble(y.literal());
    }
    if (a instanceof JsonObject x && b instanceof JsonObject y) {
      if (!x.members().keySet().equals(y.members().keySet())) {
        return false;
      }
      for (var member : x.members().entrySet()) {
        if (!sameJson(member.getValue(), y.get(member.getKey()))) {
          return false;
        }
      }
      return true;
    }
    if (a instanceof JsonArray x && b instanceof JsonArray y) {
      if (x.size() != y.size()) {
        return false;
      }
      for (int i = 0; i < x.size(); i++) {
        if (!sameJson(x.get(i), y.get(i))) {
          return false;
        }
      }
      return true;
    }
    return a == null ? b == null : a.equals(b);
  }
}
