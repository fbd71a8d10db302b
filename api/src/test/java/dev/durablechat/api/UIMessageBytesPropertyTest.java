package dev.durablechat.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * A message kept as bytes behaves as the tree it holds: for generated messages (any strings, any
 * numbers, nested unknown fields), reading the bytes gives a message equal to the tree's, with the
 * same hash code, the same text, and equal to a copy whose members are in another order.
 */
@Label("A message's bytes against its tree")
class UIMessageBytesPropertyTest {
  private static final String SEED = "20261201";

  @Property(tries = 300, seed = SEED)
  @Label("bytes read back equal to the tree, with the tree's hash and text")
  void sameAsTree(@ForAll("messages") JsonObject tree) {
    String text = Json.write(tree);

    UIMessage message = UIMessage.parse(text.getBytes(StandardCharsets.UTF_8));

    assertThat(message.json()).isEqualTo(tree).hasSameHashCodeAs(tree);
    assertThat(tree).isEqualTo(message.json());
    assertThat(message.toString()).isEqualTo(text);
    assertThat(message.parts()).isEqualTo(new UIMessage(tree).parts());
    assertThat(message.metadata()).isEqualTo(tree.get("metadata"));
    assertThat(message.json().members()).isEqualTo(tree.members());
  }

  @Property(tries = 300, seed = SEED)
  @Label("members in another order: equal, same hash; any other change: not equal")
  void order(@ForAll("messages") JsonObject tree, @ForAll long seed) {
    UIMessage message = new UIMessage(tree);
    UIMessage shuffled = new UIMessage(shuffle(tree, new Random(seed)));

    assertThat(shuffled).isEqualTo(message).hasSameHashCodeAs(message);
    UIMessage other = new UIMessage(tree.with("x-extra", JsonValue.of(seed)));
    assertThat(other).isNotEqualTo(message);
  }

  @Property(tries = 200, seed = SEED)
  @Label(
      "messages read from a larger buffer (by their index, or by one scan, shared or copied)"
          + " equal their trees, hash and print as them, and a copy outlives the buffer")
  void slicesSameAsTree(
      @ForAll("messages") JsonObject first,
      @ForAll("messages") JsonObject second,
      @ForAll long seed,
      @ForAll boolean share) {
    // The second in another member order: its head may start with parts or metadata, which reads
    // it in full instead.
    List<JsonObject> trees = List.of(first, shuffle(second, new Random(seed)));
    String junk = "{\"version\":1,\"messages\":";
    var text = new StringBuilder(junk).append('[');
    int[] bounds = new int[4];
    byte[] prefix = junk.getBytes(StandardCharsets.UTF_8);
    int at = prefix.length + 1;
    for (int i = 0; i < trees.size(); i++) {
      if (i > 0) {
        text.append(',');
        at++;
      }
      byte[] one = Json.write(trees.get(i)).getBytes(StandardCharsets.UTF_8);
      text.append(Json.write(trees.get(i)));
      bounds[2 * i] = at;
      bounds[2 * i + 1] = at + one.length;
      at += one.length;
    }
    text.append("]}");
    byte[] buffer = text.toString().getBytes(StandardCharsets.UTF_8);

    List<UIMessage> indexed = UIMessage.readWritten(buffer, bounds, share);
    List<UIMessage> scanned =
        UIMessage.parseArray(buffer, prefix.length, buffer.length - prefix.length - 1, share);

    for (List<UIMessage> read : List.of(indexed, scanned)) {
      assertThat(read).hasSize(2);
      for (int i = 0; i < 2; i++) {
        JsonObject tree = trees.get(i);
        UIMessage message = read.get(i);
        assertThat(message.id()).isEqualTo(tree.string("id").orElseThrow());
        assertThat(message.role()).isEqualTo(tree.string("role").orElseThrow());
        assertThat(message.json()).isEqualTo(tree).hasSameHashCodeAs(tree);
        assertThat(message).isEqualTo(new UIMessage(tree)).hasSameHashCodeAs(new UIMessage(tree));
        assertThat(message.toString()).isEqualTo(Json.write(tree));
        assertThat(message.parts()).isEqualTo(new UIMessage(tree).parts());
        assertThat(message.metadata()).isEqualTo(tree.get("metadata"));
        byte[] bytes = Json.write(tree).getBytes(StandardCharsets.UTF_8);
        assertThat(message.toJsonBytes()).isEqualTo(bytes);
        assertThat(message.jsonByteLength()).isEqualTo(bytes.length);
        var viewed = new byte[message.jsonBuffer().remaining()];
        message.jsonBuffer().get(viewed);
        assertThat(viewed).isEqualTo(bytes);
      }
    }
    if (!share) {
      List<UIMessage> fresh = UIMessage.readWritten(buffer, bounds, false);
      java.util.Arrays.fill(buffer, (byte) 'x');
      assertThat(fresh.get(0)).isEqualTo(new UIMessage(trees.get(0)));
      assertThat(fresh.get(1).parts()).isEqualTo(new UIMessage(trees.get(1)).parts());
    }
  }

  private static JsonValue shuffleValue(JsonValue value, Random random) {
    if (value instanceof JsonObject object) {
      return shuffle(object, random);
    } else if (value instanceof JsonArray array) {
      var elements = new ArrayList<JsonValue>();
      array.elements().forEach(e -> elements.add(shuffleValue(e, random)));
      return JsonArray.adopt(elements);
    }
    return value;
  }

  private static JsonObject shuffle(JsonObject object, Random random) {
    List<Map.Entry<String, JsonValue>> entries = new ArrayList<>(object.members().entrySet());
    Collections.shuffle(entries, random);
    var map = new LinkedHashMap<String, JsonValue>();
    entries.forEach(e -> map.put(e.getKey(), shuffleValue(e.getValue(), random)));
    return JsonObject.adopt(map);
  }

  @Provide
  Arbitrary<JsonObject> messages() {
    Arbitrary<JsonValue> scalars =
        Arbitraries.oneOf(
            Arbitraries.strings().all().ofMaxLength(12).map(JsonString::new),
            Arbitraries.bigDecimals().map(d -> new JsonNumber(d.toString())),
            Arbitraries.longs().map(JsonNumber::of),
            Arbitraries.of(JsonBoolean.TRUE, JsonBoolean.FALSE, JsonNull.INSTANCE));
    Arbitrary<JsonValue> values =
        Arbitraries.recursive(
            () -> scalars,
            inner ->
                Arbitraries.oneOf(
                    inner.list().ofMaxSize(3).map(JsonArray::of),
                    Combinators.combine(Arbitraries.strings().all().ofMaxLength(6), inner)
                        .as(Tuple::of)
                        .list()
                        .ofMaxSize(3)
                        .map(UIMessageBytesPropertyTest::object)),
            0,
            3);
    Arbitrary<JsonObject> parts =
        Combinators.combine(
                Arbitraries.strings().all().ofMaxLength(8),
                Combinators.combine(
                        Arbitraries.strings().alpha().ofMinLength(1).ofMaxLength(5), values)
                    .as(Tuple::of)
                    .list()
                    .ofMaxSize(3))
            .as(
                (type, members) -> {
                  var map = new LinkedHashMap<String, JsonValue>();
                  members.forEach(m -> map.put("x" + m.get1(), m.get2()));
                  map.put("type", new JsonString(type));
                  return JsonObject.adopt(map);
                });
    return Combinators.combine(
            Arbitraries.strings().all().ofMaxLength(10),
            Arbitraries.of("system", "user", "assistant"),
            parts.list().ofMaxSize(4),
            values.injectNull(0.5))
        .as(
            (id, role, partList, metadata) -> {
              var b =
                  JsonObject.builder()
                      .put("id", id)
                      .put("role", role)
                      .put("parts", JsonArray.of(partList));
              return b.putIfNotNull("metadata", metadata).build();
            });
  }

  private static JsonObject object(List<Tuple.Tuple2<String, JsonValue>> members) {
    var map = new LinkedHashMap<String, JsonValue>();
    members.forEach(m -> map.put(m.get1(), m.get2()));
    return JsonObject.adopt(map);
  }
}
