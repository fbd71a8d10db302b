package dev.durablechat.core;

import static dev.durablechat.core.Fixture.submit;
import static dev.durablechat.core.Fixture.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.FencedException;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.InvalidInputException;
import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.PayloadTooLargeException;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.Trigger;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.api.WirePayload;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@DisplayName("Streams (W1-W7)")
class StreamsTest {
  private final Fixture f = new Fixture();
  private String runId;

  @BeforeEach
  void session() {
    f.newSession("c");
    runId = f.chat.ensureRun("c", RunReason.INITIAL).run().runId();
    // Something on both streams, so "nothing changed" is checked against real content.
    f.chat.appendIn("c", utf8(submit("c", "m0", "first")), "p0");
    f.chat.appendOut("c", runId, new OutEvent.TurnComplete(1));
  }

  @AfterEach
  void close() {
    f.close();
  }

  /** A submit-message body padded (in metadata) to exactly {@code size} UTF-8 bytes. */
  private static byte[] bodyOfSize(int size) {
    String head =
        "{\"kind\":\"message\",\"payload\":{\"chatId\":\"c\",\"trigger\":\"submit-message\","
            + "\"message\":{\"id\":\"big\",\"role\":\"user\",\"parts\":[{\"type\":\"text\","
            + "\"text\":\"é\"}]},\"metadata\":{\"pad\":\"";
    String tail = "\"}}}";
    int padding = size - utf8(head).length - utf8(tail).length;
    byte[] body = utf8(head + "x".repeat(padding) + tail);
    assertThat(body).hasSize(size);
    return body;
  }

  @Nested
  @DisplayName("in appends")
  class In {

    @Test
    @DisplayName("W1, W7: event ids are gapless from 1, and reading after N gives N+1 first")
    void gaplessAndResume() {
      for (int i = 1; i <= 5; i++) {
        assertThat(f.chat.appendIn("c", utf8(submit("c", "m" + i, "t" + i)), null).eventId())
            .isEqualTo(i + 1);
      }

      List<StreamRecord<InEvent>> afterThree = f.chat.readIn("c", 3, 100);

      assertThat(afterThree).extracting(StreamRecord::eventId).containsExactly(4L, 5L, 6L);
      assertThat(((InEvent.Message) afterThree.get(0).event()).payload().message().id())
          .isEqualTo("m3");
      assertThat(f.chat.readIn("c", 0, 2))
          .extracting(StreamRecord::eventId)
          .containsExactly(1L, 2L);
      assertThat(f.chat.lastEventId("c", StreamKind.IN)).isEqualTo(6);
    }

    @Test
    @DisplayName("F6: unknown fields of the payload and its message are stored and read back")
    void unknownFieldsKept() {
      String body =
          "{\"kind\":\"message\",\"payload\":{\"chatId\":\"c\",\"trigger\":\"submit-message\","
              + "\"x-client\":{\"v\":1.0},\"message\":{\"id\":\"m9\",\"role\":\"user\","
              + "\"x-msg\":true,\"parts\":[{\"type\":\"text\",\"text\":\"hi\",\"x-part\":[]}]}}}";

      long id = f.chat.appendIn("c", utf8(body), null).eventId();

      InEvent.Message read = (InEvent.Message) f.chat.readIn("c", id - 1, 1).get(0).event();
      assertThat(read.payload().extra().get("x-client").toString()).isEqualTo("{\"v\":1.0}");
      assertThat(read.payload().message().json().get("x-msg")).isEqualTo(JsonValue.of(true));
      assertThat(read.payload().message().parts().get(0).has("x-part")).isTrue();
    }

    @Test
    @DisplayName("W2: stop and typed records are appended; the typed form is held to the cap too")
    void typedAppend() {
      Appended stop = f.chat.appendIn("c", new InEvent.Stop("enough"), null);
      Appended msg =
          f.chat.appendIn(
              "c",
              new InEvent.Message(WirePayload.submit("c", UIMessage.userText("m5", "typed"))),
              "p5");

      assertThat(msg.eventId()).isEqualTo(stop.eventId() + 1);
      assertThat(f.chat.readIn("c", stop.eventId() - 1, 10))
          .extracting(StreamRecord::event)
          .containsExactly(
              new InEvent.Stop("enough"),
              new InEvent.Message(WirePayload.submit("c", UIMessage.userText("m5", "typed"))));

      Fixture.State before = f.state("c");
      InEvent huge =
          new InEvent.Message(
              WirePayload.submit(
                  "c", UIMessage.userText("m6", "x".repeat(DurableChat.DEFAULT_MAX_APPEND_BYTES))));
      assertThatThrownBy(() -> f.chat.appendIn("c", huge, null))
          .isInstanceOf(PayloadTooLargeException.class);
      assertThat(f.state("c")).isEqualTo(before);
    }

    @Test
    @DisplayName("W5: a repeated part id stores one record and answers with the first one's id")
    void partIdDedupe() {
      Appended first = f.chat.appendIn("c", utf8(submit("c", "m1", "once")), "part-1");
      Fixture.State before = f.state("c");

      Appended retry = f.chat.appendIn("c", utf8(submit("c", "m1", "once")), "part-1");

      assertThat(first.duplicate()).isFalse();
      assertThat(retry.duplicate()).isTrue();
      assertThat(retry.eventId()).isEqualTo(first.eventId());
      assertThat(f.state("c")).isEqualTo(before);
    }

    @Test
    @DisplayName("W4: a body of exactly the cap (512 KiB) is accepted")
    void exactlyAtCap() {
      Appended appended =
          f.chat.appendIn("c", bodyOfSize(DurableChat.DEFAULT_MAX_APPEND_BYTES), null);

      assertThat(appended.eventId()).isEqualTo(2);
    }

    @Test
    @DisplayName("W4: a body one byte over the cap is refused before parsing, storing nothing")
    void overCap() {
      Fixture.State before = f.state("c");
      byte[] body = bodyOfSize(DurableChat.DEFAULT_MAX_APPEND_BYTES + 1);

      assertThatThrownBy(() -> f.chat.appendIn("c", body, null))
          .isInstanceOf(PayloadTooLargeException.class)
          .hasMessageContaining("524289 bytes, over the limit of 524288 bytes")
          .satisfies(e -> assertThat(((PayloadTooLargeException) e).size()).isEqualTo(524289));
      // Over the cap and not even JSON: the size is checked first.
      byte[] garbage = new byte[DurableChat.DEFAULT_MAX_APPEND_BYTES + 1];
      assertThatThrownBy(() -> f.chat.appendIn("c", garbage, null))
          .isInstanceOf(PayloadTooLargeException.class);
      assertThat(f.state("c")).isEqualTo(before);
    }

    @Test
    @DisplayName("W4: the cap is configurable")
    void configurableCap() {
      try (Fixture small = new Fixture(300)) {
        small.newSession("s");

        assertThat(small.chat.appendIn("s", bodyOfSize(300), null).eventId()).isEqualTo(1);
        assertThatThrownBy(() -> small.chat.appendIn("s", bodyOfSize(301), null))
            .isInstanceOf(PayloadTooLargeException.class)
            .hasMessageContaining("limit of 300 bytes");
        assertThat(small.chat.lastEventId("s", StreamKind.IN)).isEqualTo(1);
      }
    }

    @ParameterizedTest(name = "{0}")
    @DisplayName(
        "W2, W3, invariant 7: a malformed or wrongly shaped body is refused, naming the problem, and stores nothing")
    @CsvSource(
        delimiter = '|',
        value = {
          "malformed json | {\"kind\":\"message\",  | invalid json at offset",
          "truncated json | {\"kind\":\"stop\" | invalid json at offset",
          "not an object | [1,2] | expected a json object",
          "no kind | {\"payload\":{}} | record.kind",
          "unknown kind | {\"kind\":\"shout\"} | unknown record kind [shout]",
          "message without payload | {\"kind\":\"message\"} | record.payload",
          "unknown trigger | {\"kind\":\"message\",\"payload\":{\"chatId\":\"c\",\"trigger\":\"dance\"}} | unknown trigger [dance]",
          "no chat id | {\"kind\":\"message\",\"payload\":{\"trigger\":\"preload\"}} | payload.chatId",
          "submit without message | {\"kind\":\"message\",\"payload\":{\"chatId\":\"c\",\"trigger\":\"submit-message\"}} | payload.message is required",
          "message on preload | {\"kind\":\"message\",\"payload\":{\"chatId\":\"c\",\"trigger\":\"preload\",\"message\":{\"id\":\"m\",\"role\":\"user\",\"parts\":[]}}} | payload.message must be absent for trigger [preload]",
          "message on close | {\"kind\":\"message\",\"payload\":{\"chatId\":\"c\",\"trigger\":\"close\",\"message\":{\"id\":\"m\",\"role\":\"user\",\"parts\":[]}}} | payload.message must be absent for trigger [close]",
          "message on regenerate | {\"kind\":\"message\",\"payload\":{\"chatId\":\"c\",\"trigger\":\"regenerate-message\",\"message\":{\"id\":\"m\",\"role\":\"user\",\"parts\":[]}}} | payload.message must be absent for trigger [regenerate-message]",
          "action without action | {\"kind\":\"message\",\"payload\":{\"chatId\":\"c\",\"trigger\":\"action\"}} | payload.action is required",
          "head start without handover-prepare | {\"kind\":\"message\",\"payload\":{\"chatId\":\"c\",\"trigger\":\"preload\",\"headStartMessages\":[]}} | payload.headStartMessages is only allowed with trigger [handover-prepare]",
          "full history | {\"kind\":\"message\",\"payload\":{\"chatId\":\"c\",\"trigger\":\"submit-message\",\"messages\":[{\"id\":\"m\",\"role\":\"user\",\"parts\":[]}],\"message\":{\"id\":\"m\",\"role\":\"user\",\"parts\":[]}}} | payload.messages (the full history) is not accepted",
          "message without parts | {\"kind\":\"message\",\"payload\":{\"chatId\":\"c\",\"trigger\":\"submit-message\",\"message\":{\"id\":\"m\",\"role\":\"user\"}}} | message.parts",
          "stop with a number | {\"kind\":\"stop\",\"message\":5} | record.message",
        })
    void refusedBodies(String name, String body, String expected) {
      Fixture.State before = f.state("c");

      assertThatThrownBy(() -> f.chat.appendIn("c", utf8(body), "part-x"))
          .as(name)
          .isInstanceOf(InvalidPayloadException.class)
          .hasMessageContaining(expected);
      assertThat(f.state("c")).isEqualTo(before);
      // The refused append did not burn its part id either (W5).
      assertThat(f.chat.appendIn("c", utf8("{\"kind\":\"stop\"}"), "part-x").duplicate()).isFalse();
    }

    @Test
    @DisplayName("W5: a part id longer than 128 characters is refused and stores nothing")
    void badPartId() {
      Fixture.State before = f.state("c");

      assertThatThrownBy(() -> f.chat.appendIn("c", utf8("{\"kind\":\"stop\"}"), "p".repeat(129)))
          .isInstanceOf(InvalidInputException.class)
          .hasMessageContaining("part id");
      assertThat(f.state("c")).isEqualTo(before);
    }

    @Test
    @DisplayName("W3: every trigger with the right shape is accepted")
    void everyTrigger() {
      String[] bodies = {
        "{\"kind\":\"message\",\"payload\":{\"chatId\":\"c\",\"trigger\":\"preload\"}}",
        "{\"kind\":\"message\",\"payload\":{\"chatId\":\"c\",\"trigger\":\"regenerate-message\"}}",
        "{\"kind\":\"message\",\"payload\":{\"chatId\":\"c\",\"trigger\":\"close\"}}",
        "{\"kind\":\"message\",\"payload\":{\"chatId\":\"c\",\"trigger\":\"action\",\"action\":{\"a\":1}}}",
        "{\"kind\":\"message\",\"payload\":{\"chatId\":\"c\",\"trigger\":\"handover-prepare\",\"headStartMessages\":[]}}",
        "{\"kind\":\"handover\",\"x\":1}",
        "{\"kind\":\"handover-skip\"}",
      };
      List<Object> kinds = new ArrayList<>();
      for (String body : bodies) {
        f.chat.appendIn("c", utf8(body), null);
      }
      for (StreamRecord<InEvent> r : f.chat.readIn("c", 1, 100)) {
        kinds.add(
            r.event() instanceof InEvent.Message m ? m.payload().trigger() : r.event().kind());
      }

      assertThat(kinds)
          .containsExactly(
              Trigger.PRELOAD,
              Trigger.REGENERATE_MESSAGE,
              Trigger.CLOSE,
              Trigger.ACTION,
              Trigger.HANDOVER_PREPARE,
              "handover",
              "handover-skip");
    }
  }

  @Nested
  @DisplayName("out appends")
  class Out {

    @Test
    @DisplayName("a batch lands in one call with consecutive event ids and reads back as sent")
    void batch() {
      List<OutEvent> events =
          List.of(
              OutEvent.Chunk.of(UIMessageChunk.parse("{\"type\":\"start\",\"messageId\":\"a1\"}")),
              OutEvent.Chunk.of(
                  UIMessageChunk.parse("{\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"Hi\"}")),
              new OutEvent.TurnComplete(1));

      Appended appended = f.chat.appendOut("c", runId, events);

      assertThat(appended.firstEventId()).isEqualTo(2);
      assertThat(appended.lastEventId()).isEqualTo(4);
      assertThat(f.chat.readOut("c", 1, 10)).extracting(StreamRecord::event).isEqualTo(events);
    }

    @Test
    @DisplayName("invariant 6: an append by a run that lost ownership fails and writes nothing")
    void fenced() {
      String winner = f.chat.endAndContinue("c", runId, RunReason.UPGRADE).winnerRunId();
      Fixture.State before = f.state("c");

      assertThatThrownBy(
              () ->
                  f.chat.appendOut(
                      "c",
                      runId,
                      List.of(new OutEvent.UpgradeRequired(), new OutEvent.TurnComplete(1))))
          .isInstanceOf(FencedException.class)
          .hasMessageContaining("run [" + runId + "] is not current (current [" + winner + "])");
      assertThat(f.state("c")).isEqualTo(before);
      assertThat(f.chat.appendOut("c", winner, new OutEvent.UpgradeRequired()).eventId())
          .isEqualTo(2);
    }

    @Test
    @DisplayName("an empty batch is refused and writes nothing")
    void emptyBatch() {
      Fixture.State before = f.state("c");

      assertThatThrownBy(() -> f.chat.appendOut("c", runId, List.of()))
          .isInstanceOf(InvalidInputException.class);
      assertThat(f.state("c")).isEqualTo(before);
    }

    @Test
    @DisplayName("W1: out event ids keep increasing across run swaps, never reset")
    void acrossSwaps() {
      String next = f.chat.endAndContinue("c", runId, RunReason.CONTINUATION).winnerRunId();

      assertThat(f.chat.appendOut("c", next, new OutEvent.TurnComplete(1)).eventId()).isEqualTo(2);
      assertThat(f.chat.lastEventId("c", StreamKind.OUT)).isEqualTo(2);
    }
  }
}
