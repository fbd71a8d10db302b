package dev.durablechat.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.Json;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.UIMessage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
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
  @DisplayName("folds JSON lines from standard input into a JSON array of messages")
  void foldsLinesFromStdin() {
    assertThat(run(TWO_MESSAGES)).isZero();
    JsonArray messages = printed();
    assertThat(messages.size()).isEqualTo(2);
    UIMessage second = new UIMessage((dev.durablechat.api.JsonObject) messages.get(1));
    assertThat(second.id()).isEqualTo("a2");
    assertThat(second.text()).isEqualTo("partial");
    // the trailing message had no finish: its streaming text is marked done (H4)
    assertThat(second.parts().get(0).string("state")).hasValue("done");
    assertThat(err.toString(StandardCharsets.UTF_8)).isEmpty();
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
}
