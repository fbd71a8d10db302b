package dev.durablechat.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.CharRange;

/**
 * What {@link Json#write} writes, {@link Json#parse} reads back as an equal value with the same
 * text, for any UTF-16 string (lone surrogates included) and any number literal. The agreement with
 * the engine's codec is checked in core ({@code JsonAgreementTest}), which sees both.
 */
@Label("The api's JSON round trip")
class JsonRoundTripPropertyTest {
  /** Fixed, so that the build is reproducible; change it to explore other values. */
  private static final String SEED = "20261201";

  @Property(tries = 500, seed = SEED)
  @Label("any string, every UTF-16 code unit included, reads back as written")
  void strings(@ForAll @CharRange(from = Character.MIN_VALUE, to = Character.MAX_VALUE) String s) {
    String text = Json.write(JsonValue.of(s));

    assertThat(Json.parse(text)).isEqualTo(JsonValue.of(s));
    assertThat(text.chars().filter(c -> Character.isSurrogate((char) c)).count())
        .as("no lone surrogate is written raw")
        .isEqualTo(pairedSurrogates(s));
  }

  @Property(tries = 500, seed = SEED)
  @Label("any nested document reads back as an equal value and the same text")
  void documents(@ForAll("values") JsonValue value) {
    String text = Json.write(value);

    assertThat(Json.parse(text)).isEqualTo(value);
    assertThat(Json.write(Json.parse(text))).isEqualTo(text);
  }

  @Provide
  Arbitrary<JsonValue> values() {
    Arbitrary<JsonValue> scalars =
        Arbitraries.oneOf(
            Arbitraries.strings().all().map(JsonString::new),
            Arbitraries.bigDecimals().map(d -> new JsonNumber(d.toString())),
            Arbitraries.longs().map(JsonNumber::of),
            Arbitraries.of(JsonBoolean.TRUE, JsonBoolean.FALSE, JsonNull.INSTANCE));
    return Arbitraries.recursive(
        () -> scalars,
        inner ->
            Arbitraries.oneOf(
                inner.list().ofMaxSize(4).map(JsonArray::of),
                Combinators.combine(Arbitraries.strings(), inner)
                    .as(Tuple::of)
                    .list()
                    .ofMaxSize(4)
                    .map(
                        members -> {
                          var map = new LinkedHashMap<String, JsonValue>();
                          members.forEach(m -> map.put(m.get1(), m.get2()));
                          return JsonObject.adopt(map);
                        })),
        0,
        4);
  }

  private static long pairedSurrogates(String s) {
    long n = 0;
    for (int i = 0; i + 1 < s.length(); i++) {
      if (Character.isHighSurrogate(s.charAt(i)) && Character.isLowSurrogate(s.charAt(i + 1))) {
        n += 2;
        i++;
      }
    }
    return n;
  }
}
