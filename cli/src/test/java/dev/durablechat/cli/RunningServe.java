package dev.durablechat.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine;

/** {@code ./durablechat serve ARGS} running on a thread of the test, stopped as Ctrl-C would. */
final class RunningServe implements AutoCloseable {
  final ServeCommand command = new ServeCommand();
  final StringWriter out = new StringWriter();
  final StringWriter err = new StringWriter();
  final CompletableFuture<Integer> exit;
  final URI base;

  private RunningServe(Map<String, String> env, String... args)
      throws InterruptedException, TimeoutException {
    command.env = env::get;
    CommandLine cli = new CommandLine(command);
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    exit = CompletableFuture.supplyAsync(() -> cli.execute(args));
    try {
      base =
          CompletableFuture.anyOf(command.started, exit).get(30, TimeUnit.SECONDS)
                  instanceof URI uri
              ? uri
              : null;
    } catch (ExecutionException e) {
      throw new IllegalStateException("serve failed: " + e.getCause() + "\n" + this, e);
    }
    if (base == null) {
      throw new IllegalStateException("serve exited before it listened\n" + this);
    }
  }

  /** Starts serve with the environment and the arguments; fails if it does not listen. */
  static RunningServe start(Map<String, String> env, String... args) throws Exception {
    return new RunningServe(env, args);
  }

  /**
   * Runs serve to its end (for options it refuses) and returns the exit code; fails, and stops it,
   * if it listens instead.
   */
  static int refuse(StringWriter err, Map<String, String> env, String... args) throws Exception {
    ServeCommand command = new ServeCommand();
    command.env = env::get;
    CommandLine cli = new CommandLine(command);
    cli.setOut(new PrintWriter(new StringWriter(), true));
    cli.setErr(new PrintWriter(err, true));
    CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> cli.execute(args));
    try {
      return exit.get(30, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      if (command.started.isDone()) {
        command.stop();
      }
      throw new AssertionError("serve " + String.join(" ", args) + " did not exit\n" + err, e);
    }
  }

  @Override
  public void close() {
    try {
      command.stop();
      exit.get(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while stopping serve", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("serve did not stop cleanly\n" + this, e);
    }
  }

  @Override
  public String toString() {
    return "stdout:\n" + out + "\nstderr:\n" + err;
  }
}
