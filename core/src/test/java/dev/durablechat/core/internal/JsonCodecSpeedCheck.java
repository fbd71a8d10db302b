package dev.durablechat.core.internal;

import dev.durablechat.api.Json;
import dev.durablechat.api.JsonValue;
import java.nio.charset.StandardCharsets;

/**
 * A rough, by-hand comparison of the two JSON writers {@link JsonCodec} could use, to bytes and to
 * text: the api's {@link Json#write} and Jackson's generator ({@link JsonCodec#writeBytes}). Not a
 * test and not a benchmark (the JMH module is for numbers anyone should quote); it decided which
 * writer {@link JsonCodec} uses. Run from {@code core/} after {@code mvn -o test-compile}:
 *
 * <pre>
 * java -cp target/classes:target/test-classes:$(cat cp.txt) \
 *     dev.durablechat.core.internal.JsonCodecSpeedCheck
 * </pre>
 *
 * with {@code cp.txt} from {@code mvn -o dependency:build-classpath -Dmdep.outputFile=cp.txt}.
 */
final class JsonCodecSpeedCheck {
  private JsonCodecSpeedCheck() {}

  public static void main(String[] args) {
    String sample =
        "{\"kind\":\"message\",\"payload\":{\"chatId\":\"chat-1\",\"trigger\":\"submit-message\","
            + "\"message\":{\"id\":\"m1\",\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":"
            + "\"Hello there, how are you today? \\u00e9\\n\\\"quoted\\\" and more text to make it"
            + " a typical chat message of a few hundred bytes, with numbers 1.0 and 12345\"},"
            + "{\"type\":\"data-x\",\"data\":{\"a\":[1,2,3,4.5e10],\"b\":true,\"c\":null}}]},"
            + "\"metadata\":{\"locale\":\"fr-FR\",\"n\":42}}}";
    JsonValue value = JsonCodec.parse(sample);
    int rounds = 200_000;
    for (int warm = 0; warm < 3; warm++) {
      long a = time(rounds, () -> Json.write(value).getBytes(StandardCharsets.UTF_8).length);
      long b = time(rounds, () -> JsonCodec.writeBytes(value).length);
      long c = time(rounds, () -> Json.write(value).length());
      long d =
          time(
              rounds,
              () -> new String(JsonCodec.writeBytes(value), StandardCharsets.UTF_8).length());
      System.out.printf(
          "round %d: bytes: Json.write+getBytes %d ms, jackson %d ms;"
              + " text: Json.write %d ms, jackson+new String %d ms%n",
          warm, a, b, c, d);
    }
  }

  private interface Work {
    int run();
  }

  private static long time(int rounds, Work work) {
    long start = System.nanoTime();
    long sink = 0;
    for (int i = 0; i < rounds; i++) {
      sink += work.run();
    }
    if (sink == 42) {
      System.out.println();
    }
    return (System.nanoTime() - start) / 1_000_000;
  }
}
