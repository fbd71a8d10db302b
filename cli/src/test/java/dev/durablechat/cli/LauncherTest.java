package dev.durablechat.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

@DisplayName("the ./durablechat launcher")
class LauncherTest {

  @Test
  @DisplayName("lists its commands in --help")
  void listsCommands() {
    var text = new StringWriter();
    var cli = new CommandLine(new Main());
    cli.setOut(new PrintWriter(text));
    assertThat(cli.execute("--help")).isZero();
    assertThat(text.toString())
        .contains("demo")
        .contains("fold")
        .contains("serve")
        .contains("inspect");
  }

  @Test
  @DisplayName("runs `fold FILE` as a subcommand and prints the folded messages")
  void foldsAFileThroughTheLauncher(@TempDir Path dir) throws Exception {
    Path chunks = dir.resolve("chunks.jsonl");
    Files.writeString(
        chunks,
        String.join(
            "\n",
            "{\"type\":\"start\",\"messageId\":\"m1\"}",
            "{\"type\":\"text-start\",\"id\":\"t\"}",
            "{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"hello\"}",
            "{\"type\":\"text-end\",\"id\":\"t\"}",
            "{\"type\":\"finish\"}"));
    var out = new java.io.ByteArrayOutputStream();
    var previous = System.out;
    int exit;
    try {
      System.setOut(new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8));
      exit = new CommandLine(new Main()).execute("fold", chunks.toString());
    } finally {
      System.setOut(previous);
    }
    assertThat(exit).isZero();
    assertThat(out.toString(java.nio.charset.StandardCharsets.UTF_8))
        .contains("\"id\":\"m1\"")
        .contains("\"text\":\"hello\"");
  }
}
