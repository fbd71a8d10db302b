package dev.durablechat.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code ./durablechat} launcher: the one place in the project that talks to a terminal. */
@Command(
    name = "durablechat",
    mixinStandardHelpOptions = true,
    version = "durablechat 0.1.0-SNAPSHOT",
    description = "Durable AI chat sessions for the JVM.",
    subcommands = {
      DemoCommand.class,
      FoldCommand.class,
      InspectCommand.class,
      ServeCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Main {

  Main() {}

  /** Runs the launcher and exits with the command's code. */
  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the launcher and returns the command's exit code. */
  static int run(String... args) {
    return new CommandLine(new Main()).execute(args);
  }
}
