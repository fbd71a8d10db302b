package dev.durablechat.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.Json;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonNull;
import dev.durablechat.api.JsonNumber;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonString;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.UIMessage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

@DisplayName("durablechat fold (H2, H4, F3)")
class FoldCommandTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String stdin, String... args) {
    var command =
        new FoldCommand(
            new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    return new CommandLine(command).execute(args);
  }

  private JsonArray printed() {
    return (JsonArray) Json.parse(out.toString(StandardCharsets.UTF_8));
  }

  private static final String TWO_MESSAGES =
      String.join(
          "\n",
          "{\"type\":\"start\",\"messageId\":\"a1\"}",
          "{\"type\":\"text-start\",\"id\":\"t\"}",
          "{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"Hello\"}",
          "{\"type\":\"text-end\",\"id\":\"t\"}",
          "{\"type\":\"finish\"}",
          "",
          "{\"type\":\"start\",\"messageId\":\"a2\"}",
          "{\"type\":\"text-start\",\"id\":\"t\"}",
          "{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"partial\"}");

  @Test
  @DisplayName(
      "folds JSON lines from standard input into a JSON array of messages, the unfinished one still"
          + " streaming as readUIMessageStream yields it")
  void foldsLinesFromStdin() {
    assertThat(run(TWO_MESSAGES)).isZero();
    JsonArray messages = printed();
    assertThat(messages.size()).isEqualTo(2);
    UIMessage second = new UIMessage((JsonObject) messages.get(1));
    assertThat(second.id()).isEqualTo("a2");
    assertThat(second.text()).isEqualTo("partial");
    // the trailing message had no finish: as a client shows it, its text is still streaming
    assertThat(second.parts().get(0).string("state")).hasValue("streaming");
    assertThat(err.toString(StandardCharsets.UTF_8)).isEmpty();
  }

  @Test
  @DisplayName("with --replay cleans up the unfinished message as a continuation does (H4)")
  void replayCleansUpThePartial() {
    String input =
        TWO_MESSAGES + "\n{\"type\":\"tool-input-start\",\"toolCallId\":\"c1\",\"toolName\":\"x\"}";
    assertThat(run(input)).isZero();
    UIMessage streamed = new UIMessage((JsonObject) printed().get(1));
    assertThat(streamed.parts())
        .extracting(p -> p.string("state").orElseThrow())
        .containsExactly("streaming", "input-streaming");

    out.reset();
    assertThat(run(input, "--replay")).isZero();
    JsonArray messages = printed();
    assertThat(messages.size()).isEqualTo(2);
    UIMessage second = new UIMessage((JsonObject) messages.get(1));
    assertThat(second.text()).isEqualTo("partial");
    // the tool part that only streamed input is dropped, the streaming text is done
    assertThat(second.parts()).hasSize(1);
    assertThat(second.parts().get(0).string("state")).hasValue("done");
  }

  @Test
  @DisplayName("says in its help which output is the SDK's and which the replay's")
  void helpNamesBothModes() {
    var help = new java.io.StringWriter();
    new CommandLine(new FoldCommand()).usage(new java.io.PrintWriter(help));
    assertThat(help.toString())
        .contains("readUIMessageStream")
        .contains("--replay")
        .contains("'input-streaming'")
        .contains("H4");
  }

  @Test
  @DisplayName("reads a file holding one JSON array of chunks")
  void foldsArrayFile(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("chunks.json");
    Files.writeString(
        file,
        "[\n  {\"type\":\"start\",\"messageId\":\"a1\"},\n"
            + "  {\"type\":\"data-x\",\"id\":\"d\",\"data\":[1,\"]\"]},\n"
            + "  {\"type\":\"finish\"}\n]\n");
    assertThat(run("", file.toString())).isZero();
    assertThat(printed().toString())
        .isEqualTo(
            "[{\"id\":\"a1\",\"role\":\"assistant\",\"parts\":[{\"type\":\"data-x\",\"id\":\"d\","
                + "\"data\":[1,\"]\"]}]}]");
  }

  @Test
  @DisplayName("names the line of a chunk that cannot be folded and exits 2")
  void foldErrorNamesLine() {
    String input =
        "{\"type\":\"start\",\"messageId\":\"a1\"}\n\n{\"type\":\"text-delta\",\"id\":\"t9\",\"delta\":\"x\"}\n";
    assertThat(run(input)).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .startsWith("fold: line 3: chunk [1] text-delta: no text with id [t9] is streaming");
    assertThat(out.toString(StandardCharsets.UTF_8)).isEmpty();
  }

  @Test
  @DisplayName("names the line of a chunk that cannot be folded in an array file")
  void foldErrorNamesLineInArray(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("chunks.json");
    Files.writeString(
        file,
        "[{\"type\":\"start\"},\n {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"[{,\"},\n"
            + " {\"type\":\"tool-output-error\",\"toolCallId\":\"c\",\"errorText\":\"x\"}]");
    assertThat(run("", file.toString())).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .startsWith("fold: line 2: chunk [1] text-delta");
  }

  @Test
  @DisplayName("names a malformed line and exits 2")
  void malformedLine() {
    assertThat(run("{\"type\":\"start\"}\n{\"type\": oops}\n")).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .startsWith("fold: line 2: not a ui message chunk");
  }

  @Test
  @DisplayName("names a line whose object has no type and exits 2")
  void lineWithoutType() {
    assertThat(run("{\"id\":\"x\"}")).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .startsWith("fold: line 1: not a ui message chunk: chunk.type must be a string");
  }

  @Test
  @DisplayName("says which file it cannot read and exits 1")
  void missingFile(@TempDir Path dir) {
    assertThat(run("", dir.resolve("nope.jsonl").toString())).isEqualTo(1);
    assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("fold: cannot read [");
  }

  @Test
  @DisplayName("prints an empty array for empty input")
  void emptyInput() {
    assertThat(run("\n\n")).isZero();
    assertThat(printed().size()).isZero();
  }

  // ------------------------------------------------------------------ against the AI SDK itself

  private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
  private static final Path CORPUS =
      ROOT.resolve("core/src/test/resources/dev/durablechat/core/fold/fold-corpus.json");

  /**
   * The default output is what the AI SDK yields: each case of the fold corpus that starts from no
   * message and that the SDK folds without failing is folded by this command and by the real {@code
   * ai} package ({@code compat/fold.mjs}, the differential harness of the fold), and the last
   * message printed must be the last message {@code readUIMessageStream} yielded (none when it
   * yielded none). The corpus has unfinished messages with streaming text, reasoning and tool
   * input, which the SDK leaves streaming.
   */
  @TestFactory
  @DisplayName("prints by default the message the AI SDK's readUIMessageStream yields (F1-F6)")
  Stream<DynamicTest> matchesTheAiSdk() throws Exception {
    JsonArray cases = (JsonArray) ((JsonObject) Json.parse(Files.readString(CORPUS))).get("cases");
    Map<String, JsonObject> sdk = new HashMap<>();
    for (JsonValue r : ((JsonArray) Json.parse(foldWithNode())).elements()) {
      JsonObject result = (JsonObject) r;
      sdk.put(((JsonString) result.get("name")).value(), (JsonObject) result.get("ai"));
    }
    var tests = new ArrayList<DynamicTest>();
    int unfinished = 0;
    for (JsonValue c : cases.elements()) {
      JsonObject testCase = (JsonObject) c;
      String name = ((JsonString) testCase.get("name")).value();
      JsonObject theirs = sdk.get(name);
      if (testCase.get("initial") != null || !(theirs.get("failure") instanceof JsonNull)) {
        continue;
      }
      JsonArray chunks = (JsonArray) testCase.get("chunks");
      if (chunks.elements().stream()
          .noneMatch(k -> ((JsonObject) k).string("type").orElse("").equals("finish"))) {
        unfinished++;
      }
      tests.add(
          DynamicTest.dynamicTest(
              name,
              () -> {
                var o = new ByteArrayOutputStream();
                var e = new ByteArrayOutputStream();
                int code =
                    new CommandLine(
                            new FoldCommand(
                                new ByteArrayInputStream(
                                    chunks.toString().getBytes(StandardCharsets.UTF_8)),
                                new PrintStream(o, true, StandardCharsets.UTF_8),
                                new PrintStream(e, true, StandardCharsets.UTF_8)))
                        .execute();
                assertThat(code).as(e.toString(StandardCharsets.UTF_8)).isZero();
                JsonArray printed = (JsonArray) Json.parse(o.toString(StandardCharsets.UTF_8));
                JsonValue ours =
                    printed.size() == 0 ? JsonNull.INSTANCE : printed.get(printed.size() - 1);
                assertThat(asJavaScriptSeesIt(ours))
                    .isEqualTo(asJavaScriptSeesIt(theirs.get("message")));
              }));
    }
    assertThat(tests).as("corpus cases the SDK folds from no message").hasSizeGreaterThan(40);
    assertThat(unfinished).as("of them, unfinished messages").isGreaterThan(5);
    return tests.stream();
  }

  /** Member order aside, numbers by their value: JSON as JavaScript compares it. */
  private static JsonValue asJavaScriptSeesIt(JsonValue value) {
    if (value instanceof JsonObject o) {
      var sorted = new TreeMap<String, JsonValue>();
      o.members().forEach((k, v) -> sorted.put(k, asJavaScriptSeesIt(v)));
      return JsonObject.adopt(new LinkedHashMap<>(sorted));
    }
    if (value instanceof JsonArray a) {
      var elements = new ArrayList<JsonValue>();
      a.elements().forEach(v -> elements.add(asJavaScriptSeesIt(v)));
      return JsonArray.adopt(elements);
    }
    if (value instanceof JsonNumber n) {
      // + 0.0 makes -0 0, as JSON.stringify writes it
      return new JsonNumber(String.valueOf(Double.parseDouble(n.literal()) + 0.0));
    }
    return value;
  }

  /** {@code node compat/fold.mjs CORPUS}, after {@code npm ci} if compat has no node_modules. */
  private static String foldWithNode() throws Exception {
    Path compat = ROOT.resolve("compat");
    if (!Files.isDirectory(compat.resolve("node_modules"))) {
      exec(compat, "npm", "ci", "--no-audit", "--no-fund");
    }
    return exec(compat, "node", "fold.mjs", CORPUS.toString());
  }

  private static String exec(Path dir, String... command) throws Exception {
    Process process;
    try {
      process =
          new ProcessBuilder(command)
              .directory(dir.toFile())
              .redirectError(ProcessBuilder.Redirect.DISCARD)
              .start();
    } catch (java.io.IOException e) {
      throw new AssertionError(
          "cannot run [" + String.join(" ", command) + "]: this test needs node 20+ and npm", e);
    }
    String stdout = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(10, TimeUnit.MINUTES)) {
      process.destroyForcibly();
      throw new AssertionError("[" + String.join(" ", command) + "] did not finish");
    }
    assertThat(process.exitValue()).as(String.join(" ", command)).isZero();
    return stdout;
  }
}
