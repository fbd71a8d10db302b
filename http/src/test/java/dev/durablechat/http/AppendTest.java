package dev.durablechat.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.InEvent;
import dev.durablechat.api.JsonNumber;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.http.HttpFixture.Reply;
import java.net.http.HttpRequest;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

@DisplayName("POST /realtime/v1/sessions/{id}/in/append (http.md §2)")
class AppendTest {
  private final HttpFixture f = new HttpFixture();
  private String token;

  @BeforeEach
  void session() {
    token = f.createSession("chat-a").string("publicAccessToken").orElseThrow();
  }

  @AfterEach
  void close() {
    f.close();
  }

  @Test
  @DisplayName("W1: a stored record answers 200 {ok:true, seq:<in event id>}, seqs gapless from 1")
  void stored() {
    for (int i = 1; i <= 3; i++) {
      Reply r = f.append("chat-a", token, HttpFixture.submit("chat-a", "u" + i, "m" + i));
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.json().get("ok")).hasToString("true");
      assertThat(((JsonNumber) r.json().get("seq")).longValue()).isEqualTo(i);
      assertThat(r.header("access-control-allow-origin")).isEqualTo("*");
    }
    List<StreamRecord<InEvent>> in = f.chat.readIn("chat-a", 0, 10);
    assertThat(in).hasSize(3);
    assertThat(((InEvent.Message) in.get(2).event()).payload().message().text()).isEqualTo("m3");
  }

  @Test
  @DisplayName(
      "W5: a repeated X-Part-Id stores one record; the repeat answers {ok:true} without seq")
  void dedupe() {
    var body = HttpFixture.submit("chat-a", "u1", "once");
    Reply first =
        f.send(
            f.appendRequest("chat-a", token)
                .header("X-Part-Id", "part-1")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    Reply again =
        f.send(
            f.appendRequest("chat-a", token)
                .header("X-Part-Id", "part-1")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    assertThat(first.status()).isEqualTo(200);
    assertThat(first.json().has("seq")).isTrue();
    assertThat(again.status()).isEqualTo(200);
    assertThat(again.json().has("seq")).isFalse();
    assertThat(again.json().get("ok")).hasToString("true");
    assertThat(f.lastIn("chat-a")).isEqualTo(1);
  }

  @Test
  @DisplayName("L3: a message after the run idled out boots a continuation run on the same session")
  void continuation() {
    String quick = f.createSession("chat-q", "quick").string("publicAccessToken").orElseThrow();
    f.append("chat-q", quick, HttpFixture.submit("chat-q", "u1", "one"));
    HttpFixture.await("the first run ended", () -> f.chat.runs("chat-q").get(0).endedAt() != null);
    assertThat(f.append("chat-q", quick, HttpFixture.submit("chat-q", "u2", "two")).status())
        .isEqualTo(200);
    HttpFixture.await("a continuation run", () -> f.chat.runs("chat-q").size() == 2);
    assertThat(f.chat.runs("chat-q").get(1).reason()).isEqualTo(RunReason.CONTINUATION);
    try (SseReader sse = f.openOut("chat-q", quick, Map.of())) {
      var records =
          sse.recordsUntil(
              r -> r.header("session-in-event-id").filter("2"::equals).isPresent(),
              HttpFixture.WAIT);
      assertThat(records).isNotEmpty();
    }
  }

  @Test
  @DisplayName("L7: a stop when no run serves the session is stored and boots no run")
  void stopBootsNothing() {
    String quick = f.createSession("chat-s", "quick").string("publicAccessToken").orElseThrow();
    HttpFixture.await("the first run ended", () -> f.chat.runs("chat-s").get(0).endedAt() != null);
    assertThat(f.append("chat-s", quick, "{\"kind\":\"stop\"}").status()).isEqualTo(200);
    assertThat(f.lastIn("chat-s")).isEqualTo(1);
    assertThat(f.chat.runs("chat-s")).hasSize(1);
  }

  @Test
  @DisplayName("a stop is stored and answered 200 (L7)")
  void stop() {
    Reply r = f.append("chat-a", token, "{\"kind\":\"stop\"}");
    assertThat(r.status()).isEqualTo(200);
    assertThat(f.chat.readIn("chat-a", 0, 1).get(0).event()).isInstanceOf(InEvent.Stop.class);
  }

  static Stream<Arguments> badBodies() {
    String msg = "{\"id\":\"u1\",\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":\"x\"}]}";
    return Stream.of(
        Arguments.of("malformed json", "{\"kind\":", 400, "json"),
        Arguments.of("not an object", "[1,2]", 400, "object"),
        Arguments.of("empty body", "", 400, "empty"),
        Arguments.of("unknown kind", "{\"kind\":\"dance\"}", 422, "kind"),
        Arguments.of("kind not a string", "{\"kind\":7}", 422, "kind"),
        Arguments.of("message without payload", "{\"kind\":\"message\"}", 422, "payload"),
        Arguments.of(
            "unknown trigger",
            "{\"kind\":\"message\",\"payload\":{\"chatId\":\"chat-a\",\"trigger\":\"explode\"}}",
            422,
            "trigger"),
        Arguments.of(
            "submit-message without a message (W3)",
            "{\"kind\":\"message\",\"payload\":{\"chatId\":\"chat-a\",\"trigger\":\"submit-message\"}}",
            422,
            "message"),
        Arguments.of(
            "regenerate-message with a message (W3)",
            "{\"kind\":\"message\",\"payload\":{\"chatId\":\"chat-a\",\"trigger\":\"regenerate-message\",\"message\":"
                + msg
                + "}}",
            422,
            "message"),
        Arguments.of(
            "the full history (W3: never the full history)",
            "{\"kind\":\"message\",\"payload\":{\"chatId\":\"chat-a\",\"trigger\":\"submit-message\",\"message\":"
                + msg
                + ",\"messages\":["
                + msg
                + "]}}",
            422,
            "messages"),
        Arguments.of(
            "payload.chatId missing",
            "{\"kind\":\"message\",\"payload\":{\"trigger\":\"close\"}}",
            422,
            "chatId"),
        Arguments.of(
            "message of the wrong shape",
            "{\"kind\":\"message\",\"payload\":{\"chatId\":\"chat-a\",\"trigger\":\"submit-message\",\"message\":{\"id\":1}}}",
            422,
            "message"),
        Arguments.of(
            "stop.message not a string", "{\"kind\":\"stop\",\"message\":{}}", 422, "message"));
  }

  @ParameterizedTest(name = "{0} → {2}")
  @MethodSource("badBodies")
  @DisplayName(
      "invariant 7: bad input gets a 4xx JSON error naming the problem, with CORS, and nothing is stored")
  void badInput(String what, String body, int status, String names) {
    Reply r = f.append("chat-a", token, body);
    assertThat(r.status()).as(r.body()).isEqualTo(status);
    assertThat(r.error()).containsIgnoringCase(names);
    assertThat(r.header("access-control-allow-origin")).isEqualTo("*");
    assertThat(r.header("access-control-expose-headers")).isEqualTo("*");
    assertThat(f.lastIn("chat-a")).isZero();
  }

  @Test
  @DisplayName("a content type other than application/json is refused (415) and nothing is stored")
  void contentType() {
    Reply r =
        f.send(
            f.appendRequest("chat-a", token)
                .setHeader("Content-Type", "text/plain")
                .POST(HttpRequest.BodyPublishers.ofString(HttpFixture.submit("chat-a", "u", "x"))));
    assertThat(r.status()).isEqualTo(415);
    assertThat(r.error()).contains("text/plain");
    assertThat(f.lastIn("chat-a")).isZero();
  }

  @Test
  @DisplayName(
      "W4: a body over 512 KiB is refused 413 with a JSON error a browser can read, and nothing is stored")
  void tooLarge() {
    String big = "x".repeat(600 * 1024);
    Reply r = f.append("chat-a", token, HttpFixture.submit("chat-a", "u1", big));
    assertThat(r.status()).isEqualTo(413);
    assertThat(r.error()).contains("524288");
    assertThat(r.header("access-control-allow-origin")).isEqualTo("*");
    assertThat(f.lastIn("chat-a")).isZero();
    // Just under the cap is fine.
    String fits = "y".repeat(500 * 1024);
    assertThat(f.append("chat-a", token, HttpFixture.submit("chat-a", "u2", fits)).status())
        .isEqualTo(200);
  }

  @Test
  @DisplayName("an unknown session is 404 (the transport recreates it)")
  void unknownSession() {
    Reply r = f.append("nope", HttpFixture.SECRET, HttpFixture.submit("nope", "u1", "x"));
    assertThat(r.status()).isEqualTo(404);
    assertThat(r.error()).contains("nope");
    assertThat(r.json().string("code")).contains("session_not_found");
  }

  @Test
  @DisplayName(
      "S5: a closed session is 409 {code:session_closed, closedReason} with x-should-retry: false; nothing is stored")
  void closed() {
    f.chat.closeSession("chat-a", "user left");
    Reply r = f.append("chat-a", token, HttpFixture.submit("chat-a", "u1", "x"));
    assertThat(r.status()).isEqualTo(409);
    assertThat(r.json().string("code")).contains("session_closed");
    assertThat(r.json().string("closedReason")).contains("user left");
    assertThat(r.header("x-should-retry")).isEqualTo("false");
    assertThat(f.lastIn("chat-a")).isZero();
  }

  @Test
  @DisplayName("a close record (trigger close) closes the session through the agent")
  void closeTrigger() {
    Reply r =
        f.append(
            "chat-a",
            token,
            "{\"kind\":\"message\",\"payload\":{\"chatId\":\"chat-a\",\"trigger\":\"close\"}}");
    assertThat(r.status()).isEqualTo(200);
    HttpFixture.await("the session closed", () -> f.chat.session("chat-a").closedAt() != null);
    assertThat(f.append("chat-a", token, HttpFixture.submit("chat-a", "u1", "x")).status())
        .isEqualTo(409);
    assertThat(f.chat.lastEventId("chat-a", StreamKind.IN)).isEqualTo(1);
  }
}
