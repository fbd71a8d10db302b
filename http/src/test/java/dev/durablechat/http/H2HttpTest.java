package dev.durablechat.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.JsonNumber;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.spi.StoreLoader;
import dev.durablechat.http.HttpFixture.Reply;
import dev.durablechat.http.SseReader.WireRecord;
import java.net.http.HttpRequest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("The wire routes on H2 (storage-jdbc)")
class H2HttpTest {
  @TempDir Path dir;
  private HttpFixture f;

  @BeforeEach
  void open() {
    f =
        new HttpFixture(
            StoreLoader.openSessionStore("jdbc:h2:file:" + dir.resolve("chat")), true, b -> {});
  }

  @AfterEach
  void close() {
    f.close();
  }

  @Test
  @DisplayName(
      "create, append, stream to turn-complete, resume with Last-Event-ID (W7), dedupe (W5), close (S5)")
  void roundTrip() {
    var created = f.createSession("chat-h2");
    String token = created.string("publicAccessToken").orElseThrow();
    assertThat(f.createSession("chat-h2").get("isCached")).hasToString("true");

    Reply first =
        f.send(
            f.appendRequest("chat-h2", token)
                .header("X-Part-Id", "p-1")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        HttpFixture.submit("chat-h2", "u1", "count:20"))));
    assertThat(((JsonNumber) first.json().get("seq")).longValue()).isEqualTo(1);
    Reply repeat =
        f.send(
            f.appendRequest("chat-h2", token)
                .header("X-Part-Id", "p-1")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        HttpFixture.submit("chat-h2", "u1", "count:20"))));
    assertThat(repeat.json().has("seq")).isFalse();
    assertThat(f.lastIn("chat-h2")).isEqualTo(1);

    List<WireRecord> all;
    try (SseReader sse = f.openOut("chat-h2", token, Map.of())) {
      all = sse.recordsUntil(r -> r.control().isPresent(), HttpFixture.WAIT);
    }
    assertThat(all).extracting(WireRecord::seq).startsWith(1L).isSorted().doesNotHaveDuplicates();
    long half = all.get(all.size() / 2).seq();
    var resumed = new ArrayList<WireRecord>();
    try (SseReader sse =
        f.openOut("chat-h2", token, Map.of("Last-Event-ID", Long.toString(half)))) {
      resumed.addAll(sse.recordsUntil(r -> r.control().isPresent(), HttpFixture.WAIT));
    }
    assertThat(resumed.get(0).seq()).isEqualTo(half + 1);
    assertThat(resumed)
        .extracting(WireRecord::seq)
        .containsExactlyElementsOf(
            all.stream().map(WireRecord::seq).filter(s -> s > half).toList());

    assertThat(
            f.post("/api/v1/sessions/chat-h2/close", HttpFixture.SECRET, "{\"reason\":\"bye\"}")
                .status())
        .isEqualTo(200);
    Reply closed = f.append("chat-h2", token, HttpFixture.submit("chat-h2", "u2", "x"));
    assertThat(closed.status()).isEqualTo(409);
    assertThat(closed.json().string("closedReason")).contains("bye");
    assertThat(f.chat.lastEventId("chat-h2", StreamKind.IN)).isEqualTo(1);
    try (SseReader sse =
        f.openOut(
            "chat-h2",
            token,
            Map.of("Last-Event-ID", Long.toString(all.get(all.size() - 1).seq())))) {
      List<WireRecord> tail =
          sse.recordsUntil(
              r -> r.control().filter("session-closed"::equals).isPresent(), HttpFixture.WAIT);
      assertThat(tail).hasSize(1);
      assertThat(tail.get(0).header("session-closed-reason")).contains("bye");
    }
  }

  @Test
  @DisplayName("invariant 7 on H2: malformed, oversize and unknown-session appends store nothing")
  void refusals() {
    String token = f.createSession("chat-r").string("publicAccessToken").orElseThrow();
    assertThat(f.append("chat-r", token, "{\"kind\":").status()).isEqualTo(400);
    assertThat(
            f.append("chat-r", token, HttpFixture.submit("chat-r", "u", "x".repeat(600_000)))
                .status())
        .isEqualTo(413);
    assertThat(f.append("chat-r", token, "{\"kind\":\"dance\"}").status()).isEqualTo(422);
    assertThat(
            f.append("ghost", HttpFixture.SECRET, HttpFixture.submit("ghost", "u", "x")).status())
        .isEqualTo(404);
    assertThat(f.lastIn("chat-r")).isZero();
  }
}
