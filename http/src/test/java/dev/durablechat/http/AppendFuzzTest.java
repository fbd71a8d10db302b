package dev.durablechat.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.InEvent;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.http.HttpFixture.Reply;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("in/append under random and mutated bodies (invariant 7, W3, W4)")
class AppendFuzzTest {
  private static final long SEED = 0x5eed_c4a7L;
  private static final int ROUNDS = 2500;
  private static final Set<Integer> ALLOWED = Set.of(200, 400, 413, 415, 422);

  private static final List<String> SEEDS =
      List.of(
          HttpFixture.submit("chat-z", "u1", "hello"),
          "{\"kind\":\"stop\"}",
          "{\"kind\":\"stop\",\"message\":\"because\"}",
          "{\"kind\":\"message\",\"payload\":{\"chatId\":\"chat-z\",\"trigger\":\"regenerate-message\"}}",
          "{\"kind\":\"message\",\"payload\":{\"chatId\":\"chat-z\",\"trigger\":\"action\",\"action\":{\"type\":\"undo\"}}}",
          "{\"kind\":\"message\",\"payload\":{\"chatId\":\"chat-z\",\"trigger\":\"submit-message\",\"metadata\":{\"a\":[1,2,{\"b\":null}]},\"message\":{\"id\":\"m\",\"role\":\"assistant\",\"parts\":[{\"type\":\"tool-x\",\"toolCallId\":\"c1\",\"state\":\"output-available\",\"output\":1}]}}}");

  private static final List<String> FRAGMENTS =
      List.of(
          "{",
          "}",
          "[",
          "]",
          ",",
          ":",
          "\"",
          "\\",
          "null",
          "true",
          "1e309",
          "-0",
          "\"kind\"",
          "\"message\"",
          "\"payload\"",
          "\"trigger\"",
          "\"submit-message\"",
          "\"close\"",
          "\"preload\"",
          "\"handover\"",
          "\"messages\":[{}]",
          "\"parts\":7",
          "\"role\":\"robot\"",
          "\u0000",
          "\ud83d\ude00",
          "\\u0000",
          "\\ud800",
          "{\"kind\":\"message\"}",
          "[[[[[[[[",
          "\"id\":{}",
          "NaN",
          "01",
          "\"chatId\":\"\"");

  @Test
  @DisplayName(
      "a few thousand random or mutated bodies: never a 5xx, every refusal a JSON error, only valid records stored")
  void fuzz() {
    try (var f = new HttpFixture()) {
      String token = f.createSession("chat-z", "echo").string("publicAccessToken").orElseThrow();
      var random = new Random(SEED);
      int stored = 0;
      int refused = 0;
      for (int i = 0; i < ROUNDS; i++) {
        byte[] body = body(random);
        HttpRequest.Builder request = f.appendRequest("chat-z", token);
        if (random.nextInt(40) == 0) {
          request.setHeader(
              "Content-Type",
              random.nextBoolean() ? "text/plain" : "application/x-www-form-urlencoded");
        }
        if (random.nextInt(10) == 0) {
          request.header("X-Part-Id", "p" + random.nextInt(20));
        }
        long before = f.lastIn("chat-z");
        Reply r = f.send(request.POST(HttpRequest.BodyPublishers.ofByteArray(body)));
        String shown = new String(body, 0, Math.min(body.length, 300), StandardCharsets.UTF_8);
        if (r.status() == 409) {
          // A fuzzed close record closed the session (the agent serves it after the answer).
          assertThat(r.json().string("code")).contains("session_closed");
          assertThat(f.chat.session("chat-z").closedAt()).isNotNull();
          assertThat(f.lastIn("chat-z")).isEqualTo(before);
          break;
        }
        assertThat(r.status()).as("round %d, body %s → %s", i, shown, r.body()).isIn(ALLOWED);
        assertThat(r.header("access-control-allow-origin")).isEqualTo("*");
        if (r.status() == 200) {
          if (r.json().has("seq")) {
            stored++;
            assertThat(f.lastIn("chat-z")).isEqualTo(before + 1);
          } else {
            assertThat(f.lastIn("chat-z")).isEqualTo(before);
          }
        } else {
          refused++;
          assertThat(r.json().string("error")).as(shown).isPresent();
          assertThat(f.lastIn("chat-z")).as("round %d stored nothing", i).isEqualTo(before);
        }
        if (f.chat.session("chat-z").closedAt() != null) {
          // A fuzzed close record closed the session: carry on with a fresh one.
          f.chat.closeSession("chat-z", "fuzz");
          break;
        }
      }
      assertThat(stored).isGreaterThan(50);
      assertThat(refused).isGreaterThan(ROUNDS / 4);
      // Every stored record decodes as a valid in record (W2, W3).
      List<StreamRecord<InEvent>> all = new ArrayList<>();
      long after = 0;
      while (true) {
        var page = f.chat.readIn("chat-z", after, 500);
        if (page.isEmpty()) {
          break;
        }
        all.addAll(page);
        after = page.get(page.size() - 1).eventId();
      }
      assertThat(all).hasSize(stored);
    }
  }

  private static byte[] body(Random random) {
    if (random.nextInt(50) == 0) {
      return oversize(random);
    }
    switch (random.nextInt(7)) {
      case 0:
        return randomBytes(random);
      case 1:
        return truncate(random, seed(random));
      case 2:
        return insert(random, seed(random));
      case 3:
        return flip(random, seed(random));
      default:
        return seed(random).getBytes(StandardCharsets.UTF_8);
    }
  }

  private static String seed(Random random) {
    return SEEDS.get(random.nextInt(SEEDS.size()));
  }

  private static byte[] randomBytes(Random random) {
    byte[] b = new byte[random.nextInt(200)];
    random.nextBytes(b);
    return b;
  }

  private static byte[] truncate(Random random, String s) {
    return s.substring(0, random.nextInt(s.length())).getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] insert(Random random, String s) {
    var sb = new StringBuilder(s);
    int n = 1 + random.nextInt(3);
    for (int i = 0; i < n; i++) {
      sb.insert(random.nextInt(sb.length() + 1), FRAGMENTS.get(random.nextInt(FRAGMENTS.size())));
    }
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] flip(Random random, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    int n = 1 + random.nextInt(4);
    for (int i = 0; i < n; i++) {
      b[random.nextInt(b.length)] = (byte) random.nextInt(256);
    }
    return b;
  }

  private static byte[] oversize(Random random) {
    int size = 512 * 1024 - 200 + random.nextInt(400);
    String text = "z".repeat(size);
    return HttpFixture.submit("chat-z", "big", text).getBytes(StandardCharsets.UTF_8);
  }
}
