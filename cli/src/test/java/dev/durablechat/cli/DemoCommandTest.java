package dev.durablechat.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

@DisplayName("./durablechat demo")
class DemoCommandTest {
  private static final Pattern TURN_LINE =
      Pattern.compile("(?m)^\\s*(\\d+)\\s+(\\d+)\\s+(run_\\S+)\\s+(\\S+)\\s+(\\S+)\\s+(.+)$");

  @Test
  @DisplayName(
      "plays 8 turns on an H2 file and a snapshot folder: an idle-out boots a continuation with"
          + " the history intact (S7, H1, H2), a crash mid-reply is taken over by a new process"
          + " that cleans the partial reply (H4, S8) and answers every message once; bodies stay"
          + " under 5 KB")
  void playsTheChecklist(@TempDir Path data) {
    var text = new StringWriter();
    var cli = new CommandLine(new Main());
    cli.setOut(new PrintWriter(text));
    cli.setErr(new PrintWriter(text));

    int exit = cli.execute("demo", "--turns", "8", "--data", data.toString());

    String out = text.toString();
    assertThat(exit).as(out).isZero();
    List<String[]> turns = new ArrayList<>();
    Matcher m = TURN_LINE.matcher(out);
    while (m.find()) {
      turns.add(new String[] {m.group(1), m.group(2), m.group(3), m.group(4), m.group(6)});
    }
    assertThat(turns).as(out).hasSize(8);
    assertThat(turns)
        .extracting(t -> Integer.parseInt(t[0]))
        .containsExactly(1, 2, 3, 4, 5, 6, 7, 8);
    assertThat(turns)
        .as("every in/append body is under the 5 KB goal")
        .allSatisfy(t -> assertThat(Integer.parseInt(t[1])).isPositive().isLessThan(5 * 1024));
    assertThat(turns.get(0)[3]).isEqualTo("initial");
    assertThat(turns.subList(1, turns.size()))
        .extracting(t -> t[3])
        .as("every later run is a continuation")
        .containsOnly("initial", "continuation");
    // Turn 5 follows the idle-out on a new run; turn 7 follows the crash on yet another one.
    assertThat(turns.get(4)[3]).isEqualTo("continuation");
    assertThat(turns.get(4)[2]).isNotEqualTo(turns.get(3)[2]);
    assertThat(turns.get(5)[4]).isEqualTo("process killed mid-reply");
    assertThat(turns.get(6)[3]).isEqualTo("continuation");
    assertThat(turns.get(6)[2]).isNotEqualTo(turns.get(5)[2]);
    assertThat(out)
        .contains("ended (idle)")
        .contains("equal to the history before the pause: yes")
        .contains("partial reply cleaned")
        // The demo's runs idle out after 300 ms: one continuation follows the idle-out, one the
        // crash, and a busy machine that is slower than that between two turns adds more.
        .containsPattern("runs by reason\\s+\\| \\d+: continuation \\d+, initial 1")
        .containsPattern("bodies under the 5 KB goal\\s+\\| yes")
        .containsPattern("idle-out continuation intact\\s+\\| yes")
        .containsPattern("crash recovered\\s+\\| yes")
        .containsPattern("history intact\\s+\\| yes \\(17 messages, each answered once\\)")
        .doesNotContain("| NO");
    // --data keeps the embedded stores: the H2 file and the snapshot folder are there.
    assertThat(data.resolve("chat.mv.db")).exists();
    assertThat(data.resolve("snapshots")).isDirectory();
  }

  @Test
  @DisplayName("refuses fewer than 5 turns, which leave no room for the idle-out and the crash")
  void refusesTooFewTurns() {
    var text = new StringWriter();
    var cli = new CommandLine(new Main());
    cli.setOut(new PrintWriter(text));
    cli.setErr(new PrintWriter(text));

    assertThat(cli.execute("demo", "--turns", "4")).isNotZero();
    assertThat(text.toString()).contains("--turns [4] is too small, expected at least 5");
  }

  @Test
  @DisplayName("without --data it works in a temp directory and deletes it at the end")
  void cleansUpItsTempDirectory() {
    var text = new StringWriter();
    var cli = new CommandLine(new Main());
    cli.setOut(new PrintWriter(text));
    cli.setErr(new PrintWriter(text));

    assertThat(cli.execute("demo", "--turns", "5")).as(text.toString()).isZero();
    Matcher store =
        Pattern.compile("session store\\s+jdbc:h2:file:(\\S+)/chat").matcher(text.toString());
    assertThat(store.find()).as(text.toString()).isTrue();
    Path dir = Path.of(store.group(1));
    assertThat(dir.getFileName().toString()).startsWith("durablechat-demo-");
    assertThat(dir).doesNotExist();
  }
}
