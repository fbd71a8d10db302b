package dev.durablechat.core.fold;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.durablechat.api.Json;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonNull;
import dev.durablechat.api.JsonNumber;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonString;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The differential test of the fold (F1–F6): every case of the corpus is folded by {@link
 * ChunkFold} and by the real {@code ai} package's {@code readUIMessageStream} under Node ({@code
 * compat/fold.mjs}), and the outcomes must be the same JSON values. ai 6 (the version that
 * Trigger.dev's SDK 4.8 builds against) must match on every case; ai 7 may differ only on the cases
 * that {@code docs/fold-compat.md} lists.
 *
 * <p>Needs {@code node} and {@code npm} on the PATH; it runs {@code npm ci} in {@code compat/} when
 * its {@code node_modules} is missing. Without node it fails rather than skips.
 */
@DisplayName("The fold matches the AI SDK's readUIMessageStream case by case (F1-F6)")
class FoldCompatTest {
  private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
  private static final Path COMPAT = ROOT.resolve("compat");
  private static final Path DOC = ROOT.resolve("docs").resolve("fold-compat.md");
  private static final Pattern DOC_ROW =
      Pattern.compile("^\\|\\s*`([^`]+)`\\s*\\|", Pattern.MULTILINE);

  private static @Nullable Results results;

  /** The corpus, and what Node printed for it; computed once for all tests. */
  private record Results(List<JsonObject> cases, Map<String, JsonObject> node) {}

  private static synchronized Results results() throws Exception {
    if (results == null) {
      Path corpus = Path.of("src/test/resources/dev/durablechat/core/fold/fold-corpus.json");
      List<JsonObject> cases = new ArrayList<>();
      for (JsonValue c :
          ((JsonArray) Json.parseObject(Files.readString(corpus)).get("cases")).elements()) {
        cases.add((JsonObject) c);
      }
      if (!Files.isDirectory(COMPAT.resolve("node_modules"))) {
        run(COMPAT, 600, "npm", "ci", "--no-audit", "--no-fund");
      }
      String out = run(COMPAT, 300, "node", "fold.mjs", corpus.toAbsolutePath().toString());
      var byName = new LinkedHashMap<String, JsonObject>();
      for (JsonValue r : ((JsonArray) Json.parse(out)).elements()) {
        JsonObject result = (JsonObject) r;
        byName.put(((JsonString) result.get("name")).value(), result);
      }
      results = new Results(cases, byName);
    }
    return results;
  }

  private static String run(Path dir, long timeoutSeconds, String... command) throws Exception {
    Process process;
    try {
      process = new ProcessBuilder(command).directory(dir.toFile()).start();
    } catch (IOException e) {
      throw new AssertionError(
          "cannot run ["
              + String.join(" ", command)
              + "]: the fold's differential test needs node 20+ and npm on the PATH",
          e);
    }
    CompletableFuture<String> stdout = drain(process.getInputStream());
    CompletableFuture<String> stderr = drain(process.getErrorStream());
    if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      fail("[%s] did not finish within %d s", String.join(" ", command), timeoutSeconds);
    }
    if (process.exitValue() != 0) {
      fail("[%s] exited with %d: %s", String.join(" ", command), process.exitValue(), stderr.get());
    }
    return stdout.get();
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

  /** Our outcome of a case, in the shape fold.mjs prints. */
  static JsonObject foldOurs(JsonObject testCase) {
    JsonValue initial = testCase.get("initial");
    ChunkFold fold =
        initial instanceof JsonObject m
            ? ChunkFold.continuing(new UIMessage(m))
            : ChunkFold.create();
    JsonValue failure = JsonNull.INSTANCE;
    for (JsonValue chunk : ((JsonArray) testCase.get("chunks")).elements()) {
      try {
        fold.accept(new UIMessageChunk((JsonObject) chunk));
      } catch (ChunkFoldException e) {
        failure =
            JsonObject.builder()
                .put("chunkIndex", e.chunkIndex())
                .put("message", e.getMessage())
                .build();
        break;
      }
    }
    var errors = new ArrayList<JsonValue>();
    fold.errors().forEach(text -> errors.add(new JsonString(text)));
    return JsonObject.builder()
        .put("message", fold.message().<JsonValue>map(UIMessage::json).orElse(JsonNull.INSTANCE))
        .put("errors", JsonArray.of(errors))
        .put("failure", failure)
        .build();
  }

  /** Where ours and the SDK's outcome differ, or null; failures compare by chunk index only. */
  static @Nullable String difference(JsonObject ours, JsonObject theirs) {
    var problems = new ArrayList<String>();
    if (!sameJson(ours.get("message"), theirs.get("message"))) {
      problems.add("message: ours " + ours.get("message") + "\n   ai   " + theirs.get("message"));
    }
    if (!sameJson(ours.get("errors"), theirs.get("errors"))) {
      problems.add("error chunks: ours " + ours.get("errors") + ", ai " + theirs.get("errors"));
    }
    JsonValue ourIndex = indexOf(ours.get("failure"));
    JsonValue theirIndex = indexOf(theirs.get("failure"));
    if (!sameJson(ourIndex, theirIndex)) {
      problems.add("failure: ours " + ours.get("failure") + ", ai " + theirs.get("failure"));
    }
    return problems.isEmpty() ? null : String.join("\n", problems);
  }

  private static JsonValue indexOf(@Nullable JsonValue failure) {
    return failure instanceof JsonObject f ? f.get("chunkIndex") : JsonNull.INSTANCE;
  }

  /** JSON equality as JavaScript sees it: member order aside, numbers by their double value. */
  static boolean sameJson(@Nullable JsonValue a, @Nullable JsonValue b) {
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

  static Set<String> documentedAi7Differences() throws IOException {
    var names = new TreeSet<String>();
    Matcher m = DOC_ROW.matcher(Files.readString(DOC));
    while (m.find()) {
      names.add(m.group(1));
    }
    return names;
  }

  @Test
  @DisplayName("the corpus has at least 40 cases and node folded every one of them")
  void corpusIsComplete() throws Exception {
    Results r = results();
    assertThat(r.cases()).hasSizeGreaterThanOrEqualTo(40);
    for (JsonObject c : r.cases()) {
      assertThat(r.node()).containsKey(((JsonString) c.get("name")).value());
    }
    assertThat(((JsonObject) r.node().values().iterator().next().get("ai")).string("version"))
        .hasValueSatisfying(v -> assertThat(v).startsWith("6."));
  }

  @TestFactory
  @DisplayName("ai 6: the same message, error chunks and failing chunk on every case")
  Stream<DynamicTest> matchesAi6() throws Exception {
    Results r = results();
    return r.cases().stream()
        .map(
            c -> {
              String name = ((JsonString) c.get("name")).value();
              return DynamicTest.dynamicTest(
                  name,
                  () -> {
                    JsonObject theirs = (JsonObject) r.node().get(name).get("ai");
                    String difference = difference(foldOurs(c), theirs);
                    if (difference != null) {
                      fail(
                          "case [%s] differs from ai %s:\n%s",
                          name, theirs.get("version"), difference);
                    }
                  });
            });
  }

  @TestFactory
  @DisplayName("ai 7: differs only on the cases docs/fold-compat.md lists, and on all of them")
  Stream<DynamicTest> ai7DiffersOnlyWhereDocumented() throws Exception {
    Results r = results();
    Set<String> documented = documentedAi7Differences();
    var names = new TreeSet<String>();
    r.cases().forEach(c -> names.add(((JsonString) c.get("name")).value()));
    assertThat(names)
        .as("cases named in docs/fold-compat.md must exist in the corpus")
        .containsAll(documented);
    return r.cases().stream()
        .map(
            c -> {
              String name = ((JsonString) c.get("name")).value();
              return DynamicTest.dynamicTest(
                  name,
                  () -> {
                    JsonObject theirs = (JsonObject) r.node().get(name).get("ai7");
                    String difference = difference(foldOurs(c), theirs);
                    if (difference == null && documented.contains(name)) {
                      fail(
                          "case [%s] is listed in docs/fold-compat.md as an ai 7 difference but"
                              + " ai %s now folds it like ai 6: update the doc",
                          name, theirs.get("version"));
                    } else if (difference != null && !documented.contains(name)) {
                      fail(
                          "case [%s] differs from ai %s and docs/fold-compat.md does not list"
                              + " it:\n%s",
                          name, theirs.get("version"), difference);
                    } else if (difference != null) {
                      System.out.println("known ai 7 difference on [" + name + "]:\n" + difference);
                    }
                  });
            });
  }
}
