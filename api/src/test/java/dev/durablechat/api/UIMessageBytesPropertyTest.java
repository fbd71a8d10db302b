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
