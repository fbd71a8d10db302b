package dev.durablechat.cli;

import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.core.fold.ChunkFoldException;
import dev.durablechat.core.fold.TailFold;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code fold [--replay] [FILE]}: folds AI SDK UI message chunks into UI messages and prints them
 * as a JSON array. By default it prints what the AI SDK's {@code readUIMessageStream} yields, as a
 * client shows it: an unfinished message stays streaming. With {@code --replay} it prints what a
 * continuation's history rebuild makes of the same chunks: an unfinished message is cleaned up as a
 * partial reply (H4). Both cut the input into messages with the replay's segmenter ({@link
 * TailFold}, H2).
 *
 * <p>The input is one chunk per line (JSON Lines; blank lines are skipped) or one JSON array of
 * chunks. Exit codes: 0 folded, 1 the input could not be read, 2 a line is not a chunk or a chunk
 * cannot be folded (standard error then names the line).
 */
@Command(
    name = "fold",
    mixinStandardHelpOptions = true,
    description = {
      "Folds AI SDK UI message chunks into UI messages and prints them as a JSON array.",
      "Input: one chunk per line, or one JSON array of chunks. The input is cut into messages at"
          + " each 'start' (a message also ends at 'finish'); each continues the assistant message"
          + " before it unless its 'start' names another id.",
      "By default a message with no 'finish' is printed as the AI SDK's readUIMessageStream"
          + " yields it, as a client shows it: streaming text stays 'streaming', a tool part that"
          + " only streamed its input stays 'input-streaming'. With --replay it is cleaned up as a"
          + " continuation's history rebuild does (H4): such tool parts are dropped, streaming text"
          + " and reasoning become 'done', and a message left with nothing is dropped."
    },
    exitCodeListHeading = "Exit codes:%n",
    exitCodeList = {
      "0:folded",
      "1:the input could not be read",
      "2:a line is not a chunk, or a chunk cannot be folded"
    })
public final class FoldCommand implements Callable<Integer> {
  private static final Pattern OFFSET = Pattern.compile("at offset (\\d+)");

  @Parameters(
      index = "0",
      arity = "0..1",
      paramLabel = "FILE",
      description = "The chunks to fold; standard input when absent or '-'.")
  private String file;

  @Option(
      names = "--replay",
      description =
          "Clean up a message with no 'finish' as a continuation's history rebuild does (H4),"
              + " instead of showing it as readUIMessageStream yields it.")
  private boolean replay;

  private final InputStream in;
  private final PrintStream out;
  private final PrintStream err;

  /** A command on the process's standard streams. */
  public FoldCommand() {
    this(System.in, System.out, System.err);
  }

  /** A command on the given streams (for tests and embedding). */
  public FoldCommand(InputStream in, PrintStream out, PrintStream err) {
    this.in = in;
    this.out = out;
    this.err = err;
  }

  /** Folds the input; see the class comment for the exit codes. */
  @Override
  public Integer call() {
    String text;
    try {
      text =
          file == null || file.equals("-")
              ? new String(in.readAllBytes(), StandardCharsets.UTF_8)
              : Files.readString(Path.of(file), StandardCharsets.UTF_8);
    } catch (IOException e) {
      err.println("fold: cannot read [" + (file == null ? "-" : file) + "]: " + e.getMessage());
      return 1;
    }
    var chunks = new ArrayList<UIMessageChunk>();
    var lines = new ArrayList<Integer>();
    try {
      if (startsWithArray(text)) {
        readArray(text, chunks, lines);
      } else {
        readLines(text, chunks, lines);
      }
    } catch (BadLine e) {
      err.println("fold: line " + e.line + ": " + e.getMessage());
      return 2;
    }
    List<UIMessage> messages;
    try {
      messages =
          TailFold.messages(
              null, chunks, replay ? TailFold.Unfinished.PARTIAL : TailFold.Unfinished.STREAMING);
    } catch (ChunkFoldException e) {
      err.println("fold: line " + lines.get((int) e.chunkIndex()) + ": " + e.getMessage());
      return 2;
    }
    var array = new ArrayList<JsonValue>(messages.size());
    messages.forEach(m -> array.add(m.json()));
    out.println(Json.write(JsonArray.of(array)));
    out.flush();
    return 0;
  }

  private static boolean startsWithArray(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (!Character.isWhitespace(c) && c != '\uFEFF') {
        return c == '[';
      }
    }
    return false;
  }

  private static void readLines(
      String text, List<UIMessageChunk> chunks, List<Integer> lineNumbers) {
    int line = 0;
    for (String raw : text.split("\r?\n", -1)) {
      line++;
      String trimmed = raw.strip();
      if (trimmed.isEmpty()) {
        continue;
      }
      try {
        chunks.add(UIMessageChunk.parse(trimmed));
      } catch (InvalidPayloadException e) {
        throw new BadLine(line, "not a ui message chunk: " + e.getMessage());
      }
      lineNumbers.add(line);
    }
  }

  private static void readArray(
      String text, List<UIMessageChunk> chunks, List<Integer> lineNumbers) {
    JsonValue parsed;
    try {
      parsed = Json.parse(text);
    } catch (InvalidPayloadException e) {
      Matcher m = OFFSET.matcher(e.getMessage());
      int line = m.find() ? lineAt(text, Integer.parseInt(m.group(1))) : 1;
      throw new BadLine(line, e.getMessage());
    }
    List<Integer> starts = elementStarts(text);
    JsonArray array = (JsonArray) parsed;
    for (int i = 0; i < array.size(); i++) {
      int line = lineAt(text, starts.get(i));
      if (!(array.get(i) instanceof JsonObject object)) {
        throw new BadLine(
            line,
            "not a ui message chunk: expected a json object, got " + Json.kindOf(array.get(i)));
      }
      try {
        chunks.add(new UIMessageChunk(object));
      } catch (InvalidPayloadException e) {
        throw new BadLine(line, "not a ui message chunk: " + e.getMessage());
      }
      lineNumbers.add(line);
    }
  }

  /** The offsets where the top-level array's elements start (the text is valid JSON). */
  private static List<Integer> elementStarts(String text) {
    var starts = new ArrayList<Integer>();
    int depth = 0;
    boolean inString = false;
    boolean expectElement = false;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (inString) {
        if (c == '\\') {
          i++;
        } else if (c == '"') {
          inString = false;
        }
        continue;
      }
      if (Character.isWhitespace(c) || c == '\uFEFF') {
        continue;
      }
      if (expectElement && depth == 1 && c != ']') {
        starts.add(i);
        expectElement = false;
      }
      switch (c) {
        case '"' -> inString = true;
        case '[', '{' -> {
          depth++;
          if (depth == 1) {
            expectElement = true;
          }
        }
        case ']', '}' -> depth--;
        case ',' -> expectElement = depth == 1;
        default -> {
          // scalars need no tracking
        }
      }
    }
    return starts;
  }

  private static int lineAt(String text, int offset) {
    int line = 1;
    for (int i = 0; i < offset && i < text.length(); i++) {
      if (text.charAt(i) == '\n') {
        line++;
      }
    }
    return line;
  }

  /** A line of the input that is not a chunk. */
  private static final class BadLine extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int line;

    BadLine(int line, String message) {
      super(message, null, false, false);
      this.line = line;
    }
  }
}
