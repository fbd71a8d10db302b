package dev.durablechat.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("The wire payload and in records (W2, W3)")
class WirePayloadTest {
  private static final UIMessage HELLO = UIMessage.userText("u1", "hello");

  private static WirePayload read(String json) {
    return WirePayload.fromJson(Json.parseObject(json));
  }

  @Test
  @DisplayName("W3: submit-message carries one message; unknown top-level fields survive (F6)")
  void submitCarriesOneMessage() {
    String text =
        "{\"message\":"
            + HELLO
            + ",\"chatId\":\"c1\",\"trigger\":\"submit-message\",\"metadata\":{\"m\":1},"
            + "\"future\":[1]}";
    WirePayload payload = read(text);

    assertThat(payload.message()).isEqualTo(HELLO);
    assertThat(payload.trigger()).isEqualTo(Trigger.SUBMIT_MESSAGE);
    assertThat(payload.extra().get("future")).isEqualTo(Json.parse("[1]"));
    assertThat(Json.write(payload.toJson())).isEqualTo(text);
  }

  @Test
  @DisplayName("W3: submit-message without a message, or with a system message, is refused")
  void submitNeedsAUserOrAssistantMessage() {
    assertThatThrownBy(() -> read("{\"chatId\":\"c1\",\"trigger\":\"submit-message\"}"))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessage("payload.message is required for trigger [submit-message]");
    assertThatThrownBy(() -> WirePayload.submit("c1", UIMessage.of("s1", "system", List.of())))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageContaining("payload.message.role must be [user] or [assistant]");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"regenerate-message", "preload", "close", "action", "handover-prepare"})
  @DisplayName("W3: every other trigger carries no message")
  void otherTriggersCarryNoMessage(String trigger) {
    assertThatThrownBy(
            () ->
                read(
                    "{\"message\":"
                        + HELLO
                        + ",\"chatId\":\"c1\",\"trigger\":\""
                        + trigger
                        + "\",\"action\":{},\"headStartMessages\":[]}"))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessage("payload.message must be absent for trigger [" + trigger + "]");
  }

  @Test
  @DisplayName("W3: the full history is never accepted, only the one new message")
  void refusesTheFullHistory() {
    assertThatThrownBy(
            () ->
                read(
                    "{\"messages\":["
                        + HELLO
                        + "],\"chatId\":\"c1\",\"trigger\":\"regenerate-message\"}"))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageContaining("payload.messages (the full history) is not accepted");
  }

  @Test
  @DisplayName("W3: headStartMessages only with handover-prepare; action only with action")
  void headStartAndAction() {
    assertThat(
            read("{\"headStartMessages\":["
                    + HELLO
                    + "],\"chatId\":\"c\",\"trigger\":\"handover-prepare\"}")
                .headStartMessages())
        .containsExactly(HELLO);
    assertThatThrownBy(
            () -> read("{\"headStartMessages\":[],\"chatId\":\"c\",\"trigger\":\"close\"}"))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessage(
            "payload.headStartMessages is only allowed with trigger [handover-prepare], got [close]");
    assertThatThrownBy(() -> read("{\"chatId\":\"c\",\"trigger\":\"action\",\"action\":null}"))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessage("payload.action is required for trigger [action]");
    assertThat(WirePayload.action("c", Json.parse("{\"type\":\"undo\"}")).action())
        .isEqualTo(Json.parse("{\"type\":\"undo\"}"));
  }

  @Test
  @DisplayName("a wrong shape is refused naming the field")
  void namesTheField() {
    assertThatThrownBy(() -> read("{\"trigger\":\"close\"}"))
        .hasMessage("payload.chatId must be a string, got nothing");
    assertThatThrownBy(() -> read("{\"chatId\":\"c\",\"trigger\":\"shout\"}"))
        .hasMessageStartingWith("unknown trigger [shout], expected one of");
    assertThatThrownBy(
            () -> read("{\"chatId\":\"c\",\"trigger\":\"submit-message\",\"message\":1}"))
        .hasMessage("payload.message must be an object, got a number [1]");
    assertThatThrownBy(
            () ->
                read(
                    "{\"chatId\":\"c\",\"trigger\":\"submit-message\",\"message\":{\"id\":\"m\","
                        + "\"role\":\"user\",\"parts\":[{\"text\":\"no type\"}]}}"))
        .hasMessageStartingWith("message.parts[0] must be an object with a string type");
  }

  @Test
  @DisplayName("W2: in records are message, stop, handover and handover-skip, read from their JSON")
  void inRecords() {
    var stop = InEvent.fromJson(Json.parseObject("{\"kind\":\"stop\",\"message\":\"enough\"}"));
    var close =
        InEvent.fromJson(
            Json.parseObject(
                "{\"kind\":\"message\",\"payload\":{\"chatId\":\"c\",\"trigger\":\"close\"}}"));
    var handover = InEvent.fromJson(Json.parseObject("{\"kind\":\"handover\",\"x\":1}"));

    assertThat(stop).isEqualTo(new InEvent.Stop("enough"));
    assertThat(close).isEqualTo(new InEvent.Message(WirePayload.of("c", Trigger.CLOSE)));
    assertThat(handover.toJson()).isEqualTo(Json.parse("{\"x\":1,\"kind\":\"handover\"}"));
    assertThatThrownBy(() -> InEvent.fromJson(Json.parseObject("{\"kind\":\"shout\"}")))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessage(
            "unknown record kind [shout], expected one of [message, stop, handover, handover-skip]");
    assertThatThrownBy(
            () -> InEvent.fromJson(Json.parseObject("{\"kind\":\"stop\",\"message\":2}")))
        .hasMessage("record.message must be a string for kind [stop]");
  }

  @Test
  @DisplayName(
      "W6: out values refuse what no record may hold (their JSON form is core's OutRecords)")
  void outRecords() {
    assertThatThrownBy(() -> new OutEvent.TurnComplete(-1))
        .hasMessage("turn-complete in event id [-1] must not be negative");
    assertThatThrownBy(() -> UIMessageChunk.parse("{\"delta\":\"x\"}"))
        .hasMessage("chunk.type must be a string, got [{\"delta\":\"x\"}]");
  }
}
