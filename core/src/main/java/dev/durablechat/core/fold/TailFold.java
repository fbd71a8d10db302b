package dev.durablechat.core.fold;

import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The one chunk segmenter (H2): cuts a run of chunks (a replayed {@code out} tail, or the input of
 * {@code ./durablechat fold}) into the messages it holds, and folds each with a {@link ChunkFold}.
 *
 * <p>The rule: the chunks are cut into segments at each {@code start}, and a segment also ends at
 * {@code finish}; each segment is one reply as a client reads it, one {@code readUIMessageStream}
 * call given the message before it. So a segment continues the message before it if that is an
 * assistant message, and starts a new one otherwise, or when its {@code start} names another id
 * (F2; {@link ChunkFold#continuing}). The message before the first segment is the one given (the
 * history's last message); before a later segment it is the previous segment's message, never an
 * older one: the SDK continues only the message it is given, so a {@code start} naming an earlier
 * message starts that message over, and the caller places it by id (H3). Consecutive segments of
 * the same message yield it once, in its latest state.
 *
 * <p>A segment with no {@code finish} is shown as {@link Unfinished#STREAMING} (what the SDK last
 * yielded) or {@link Unfinished#PARTIAL} (cleaned up as a continuation does, H4).
 */
public final class TailFold {
  private TailFold() {}

  /** How a segment that has no {@code finish} is shown. */
  public enum Unfinished {
    /**
     * As {@code readUIMessageStream} last yielded it, as a client shows it: streaming text and
     * reasoning stay {@code streaming}, a tool part that only streamed input stays {@code
     * input-streaming} ({@link ChunkFold#message}).
     */
    STREAMING,
    /**
     * Cleaned up as a partial reply (H4, L7): tool parts still in an {@code input-*} state are
     * dropped, streaming text and reasoning are marked {@code done}, and a message with nothing but
     * step markers left is dropped ({@link ChunkFold#partial}).
     */
    PARTIAL
  }

  /**
   * One message of the tail.
   *
   * @param message the folded message (its id is empty if no {@code start} or earlier message named
   *     it)
   * @param firstChunk the index in the chunks of the first chunk of the first segment that built it
   */
  public record Folded(UIMessage message, int firstChunk) {}

  /**
   * Folds the chunks into messages, failing on the first chunk that cannot be folded.
   *
   * @param previous the message the tail continues (the history's last), or null
   * @throws ChunkFoldException on the first chunk that cannot be folded; its index is the chunk's
   *     position in {@code chunks}
   */
  public static List<Folded> fold(
      @Nullable UIMessage previous, List<UIMessageChunk> chunks, Unfinished unfinished) {
    return fold(
        previous,
        chunks,
        unfinished,
        e -> {
          throw e;
        });
  }

  /**
   * Folds the chunks into messages; a chunk that cannot be folded is handed to {@code skipped} and,
   * if that returns, left out (its segment goes on without it).
   *
   * @param previous the message the tail continues (the history's last), or null
   */
  public static List<Folded> fold(
      @Nullable UIMessage previous,
      List<UIMessageChunk> chunks,
      Unfinished unfinished,
      Consumer<ChunkFoldException> skipped) {
    var folded = new ArrayList<Folded>();
    int n = chunks.size();
    int i = 0;
    while (i < n) {
      // Only an assistant message is continued; a user message must not lend the reply its id, or
      // placing the reply by id (H3) would replace the question.
      boolean continues = previous != null && previous.role().equals("assistant");
      ChunkFold fold = new ChunkFold(continues ? previous : null, i);
      int j = i;
      while (j < n) {
        UIMessageChunk chunk = chunks.get(j);
        if (j > i && chunk.type().equals("start")) {
          break;
        }
        try {
          fold.accept(chunk);
        } catch (ChunkFoldException e) {
          skipped.accept(e);
        }
        j++;
        if (chunk.type().equals("finish")) {
          break;
        }
      }
      Optional<UIMessage> segment =
          fold.finished() || unfinished == Unfinished.STREAMING ? fold.message() : fold.partial();
      if (segment.isPresent()) {
        UIMessage message = segment.get();
        int last = folded.size() - 1;
        if (last >= 0 && folded.get(last).message().id().equals(message.id())) {
          folded.set(last, new Folded(message, folded.get(last).firstChunk()));
        } else {
          folded.add(new Folded(message, i));
        }
        previous = message;
      }
      i = j;
    }
    return folded;
  }

  /** The messages of {@link #fold(UIMessage, List, Unfinished)}, without their positions. */
  public static List<UIMessage> messages(
      @Nullable UIMessage previous, List<UIMessageChunk> chunks, Unfinished unfinished) {
    var messages = new ArrayList<UIMessage>();
    for (Folded f : fold(previous, chunks, unfinished)) {
      messages.add(f.message());
    }
    return messages;
  }
}
