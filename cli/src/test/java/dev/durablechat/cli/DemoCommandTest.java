package dev.durablechat.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

@DisplayName("./durablechat demo")
class DemoCommandTest {

  @Test
  @DisplayName("plays a conversation on the memory store and shows each rule holding")
  void playsTheConversation() {
    var text = new StringWriter();
    var cli = new CommandLine(new Main());
    cli.setOut(new PrintWriter(text));
    cli.setErr(new PrintWriter(text));

    int exit = cli.execute("demo");

    String out = text.toString();
    assertThat(exit).as(out).isZero();
    assertThat(out)
        .contains("create again")
        .contains("retry of part-1: duplicate=true, event id 1")
        .contains("swapped=true, continuation=true, session version 2")
        .contains("old run appends to out: FencedException")
        .contains("append after close: SessionClosedException");
    assertThat(out).contains("| upgrade").contains("| initial");
  }
}
