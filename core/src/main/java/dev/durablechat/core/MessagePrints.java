package dev.durablechat.core;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.durablechat.api.UIMessage;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * What a segmented snapshot writer remembers of the history a manifest holds (H1): per message, a
 * 128-bit SHA-256 prefix of its JSON bytes and their size, 20 bytes a message, instead of the
 * messages themselves. Remembering the messages would keep a history on the heap after its run let
 * go of it; equality of the prints stands for equality of the messages (a collision is as likely as
 * guessing a 128-bit key).
 *
 * <p>A message's print is computed once per message object: a weak, identity-keyed cache maps the
 * objects a live history holds to their prints, so a turn prints only its new or changed messages.
 */
final class MessagePrints {
  // Weak keys compare by identity: an unchanged message object is printed once, and its entry goes
  // when the history lets go of it.
  private static final Cache<UIMessage, long[]> PRINTS =
      Caffeine.newBuilder().weakKeys().executor(Runnable::run).build();

  private final long[] hashes; // two longs a message
  private final int[] sizes;

  private MessagePrints(long[] hashes, int[] sizes) {
    this.hashes = hashes;
    this.sizes = sizes;
  }

  /** The prints of the messages, in order. */
  static MessagePrints of(List<UIMessage> messages) {
    var hashes = new long[messages.size() * 2];
    var sizes = new int[messages.size()];
    for (int i = 0; i < messages.size(); i++) {
      long[] print = PRINTS.get(messages.get(i), MessagePrints::print);
      hashes[2 * i] = print[0];
      hashes[2 * i + 1] = print[1];
      sizes[i] = (int) print[2];
    }
    return new MessagePrints(hashes, sizes);
  }

  private static long[] print(UIMessage message) {
    // The message's own canonical bytes, hashed where they lie (no copy): what a segment holds of
    // it, with no re-encoding.
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
    sha.update(message.jsonBuffer());
    ByteBuffer b = ByteBuffer.wrap(sha.digest());
    return new long[] {b.getLong(), b.getLong(), message.jsonByteLength()};
  }

  /** How many messages. */
  int size() {
    return sizes.length;
  }

  /** The JSON size of message {@code i}, in bytes. */
  int bytes(int i) {
    return sizes[i];
  }

  /** The first index at which the two differ (the shorter one's size if one extends the other). */
  static int firstDifference(MessagePrints before, MessagePrints after) {
    int common = Math.min(before.size(), after.size());
    for (int i = 0; i < common; i++) {
      if (before.hashes[2 * i] != after.hashes[2 * i]
          || before.hashes[2 * i + 1] != after.hashes[2 * i + 1]
          || before.sizes[i] != after.sizes[i]) {
        return i;
      }
    }
    return common;
  }
}
