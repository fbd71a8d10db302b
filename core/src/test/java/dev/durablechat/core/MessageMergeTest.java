package dev.durablechat.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.Environment;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.InvalidInputException;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.api.WirePayload;
import dev.durablechat.storage.memory.MemorySessionStore;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

@DisplayName("H6: one merge rule for what a client sends")
class MessageMergeTest {
  private static final JsonObject TEXT =
      JsonObject.builder()
          .put("type", "text")
          .put("text", "let me look")
          .put("state", "done")
          .build();
  private static final JsonObject LOOKUP =
      JsonObject.builder()
          .put("type", "tool-lookup")
          .put("toolCallId", "c1")
          .put("state", "output-available")
          .put("input", JsonObject.builder().put("q", "x").build())
          .put("output", JsonObject.builder().put("hits", 1).build())
          .build();
  private static final JsonObject ASK =
      JsonObject.builder()
          .put("type", "tool-ask")
          .put("toolCallId", "c2")
          .put("state", "input-available")
          .put("input", JsonObject.builder().put("question", "which").build())
          .build();
  private static final JsonObject RM =
      JsonObject.builder()
          .put("type", "tool-rm")
          .put("toolCallId", "c3")
          .put("state", "approval-requested")
          .put("input", JsonObject.builder().put("path", "/tmp/x").build())
          .put("approval", JsonObject.builder().put("id", "ap-1").build())
          .build();
  private static final UIMessage REPLY =
      new UIMessage(
          UIMessage.of("a1", "assistant", List.of(TEXT, LOOKUP, ASK, RM))
              .json()
              .with("metadata", JsonObject.builder().put("model", "m-1").build()));
  private static final List<UIMessage> HISTORY = List.of(UIMessage.userText("u1", "look"), REPLY);

  private static UIMessage withPart(int index, UnaryOperator<JsonObject> change) {
    var parts = new ArrayList<JsonValue>(REPLY.parts());
    parts.set(index, change.apply(REPLY.parts().get(index)));
    return new UIMessage(REPLY.json().with("parts", JsonArray.of(parts)));
  }

  private static UIMessage answered() {
    UIMessage ask =
        withPart(
            2,
            p ->
                p.with("state", JsonValue.of("output-available"))
                    .with("output", JsonValue.of("this")));
    var parts = new ArrayList<JsonValue>(ask.parts());
    parts.set(
        3,
        RM.with("state", JsonValue.of("approval-responded"))
            .with(
                "approval", JsonObject.builder().put("id", "ap-1").put("approved", true).build()));
    return new UIMessage(ask.json().with("parts", JsonArray.of(parts)));
  }

  @Nested
  @DisplayName("check, before anything is stored")
  class Check {
    private void refused(UIMessage incoming, String message) {
      assertThatThrownBy(() -> MessageMerge.check(HISTORY, incoming))
          .isInstanceOf(InvalidInputException.class)
          .hasMessage(message);
    }

    @Test
    @DisplayName("a user message needs no history: it always passes")
    void user() {
      assertThatCode(() -> MessageMerge.check(List.of(), UIMessage.userText("u9", "hi")))
          .doesNotThrowAnyException();
    }

    @Test
    @DisplayName("a tool approval and a client-side tool's output pass; so does the reply as it is")
    void advances() {
      assertThatCode(() -> MessageMerge.check(HISTORY, answered())).doesNotThrowAnyException();
      assertThatCode(() -> MessageMerge.check(HISTORY, REPLY)).doesNotThrowAnyException();
    }

    @Test
    @DisplayName(
        "the SDK's slim form passes: only the advanced tool parts, with only the fields it"
            + " advances (slimSubmitMessageForWire)")
    void slim() {
      UIMessage slim =
          UIMessage.of(
              "a1",
              "assistant",
              List.of(
                  JsonObject.builder()
                      .put("type", "tool-lookup")
                      .put("toolCallId", "c1")
                      .put("state", "output-available")
                      .put("output", JsonObject.builder().put("hits", 1).build())
                      .build(),
                  JsonObject.builder()
                      .put("type", "tool-ask")
                      .put("toolCallId", "c2")
                      .put("state", "output-available")
                      .put("output", "this")
                      .build(),
                  JsonObject.builder()
                      .put("type", "tool-rm")
                      .put("toolCallId", "c3")
                      .put("state", "approval-responded")
                      .put(
                          "approval",
                          JsonObject.builder().put("id", "ap-1").put("approved", true).build())
                      .build()));
      assertThatCode(() -> MessageMerge.check(HISTORY, slim)).doesNotThrowAnyException();
      var messages = new ArrayList<>(HISTORY);
      MessageMerge.merge(messages, slim);
      assertThat(messages.get(1)).isEqualTo(answered());
    }

    @Test
    @DisplayName("a field the client left out is not a change: the server's copy is kept")
    void omissions() {
      UIMessage bare =
          new UIMessage(
              REPLY
                  .json()
                  .without("metadata")
                  .with("parts", JsonArray.of(TEXT.without("state"), LOOKUP, ASK, RM)));
      assertThatCode(() -> MessageMerge.check(HISTORY, bare)).doesNotThrowAnyException();
    }

    @Test
    @DisplayName("an assistant message of an id the server does not have is refused")
    void unknownId() {
      refused(
          UIMessage.of("forged", "assistant", List.of(TEXT)),
          "message [forged] id: an assistant message may only advance tool parts of a message the"
              + " server sent, and the history has no message [forged]");
    }

    @Test
    @DisplayName("an assistant message over a user message's id is refused")
    void overUser() {
      refused(
          UIMessage.of("u1", "assistant", List.of(TEXT)),
          "message [u1] role: [user] in the history, got [assistant]");
    }

    @Test
    @DisplayName("text, metadata, a tool input or an added part: refused, naming the field")
    void otherChanges() {
      refused(
          withPart(0, p -> p.with("text", JsonValue.of("FORGED"))),
          "message [a1] part [0] text: an assistant message may only advance tool parts");
      refused(
          new UIMessage(REPLY.json().with("metadata", JsonValue.of("forged"))),
          "message [a1] metadata: an assistant message may only advance tool parts");
      refused(
          withPart(2, p -> p.with("input", JsonValue.of("rm -rf /"))),
          "message [a1] part [2] input: an assistant message may only advance tool parts");
      refused(
          withPart(2, p -> p.with("type", JsonValue.of("tool-other"))),
          "message [a1] part [2] type: an assistant message may only advance tool parts");
      var more = new ArrayList<JsonValue>(REPLY.parts());
      more.add(TEXT);
      refused(
          new UIMessage(REPLY.json().with("parts", JsonArray.of(more))),
          "message [a1] part [4]: an assistant message may only advance tool parts; the message"
              + " has [4] part(s)");
      refused(
          UIMessage.of("a1", "assistant", List.of(ASK.with("toolCallId", JsonValue.of("c9")))),
          "message [a1] part [0] toolCallId: an assistant message may only advance tool parts,"
              + " and the message has no tool call [c9]");
    }

    @Test
    @DisplayName("a tool part never moves back, nor changes once at an output state")
    void toolsNeverMoveBack() {
      refused(
          withPart(1, p -> p.with("state", JsonValue.of("input-available"))),
          "message [a1] part [1] state: a tool part may not change or move back from"
              + " [output-available]");
      refused(
          withPart(1, p -> p.with("output", JsonValue.of("forged"))),
          "message [a1] part [1] output: a tool part may not change or move back from"
              + " [output-available]");
      refused(
          withPart(3, p -> p.with("state", JsonValue.of("input-available"))),
          "message [a1] part [3] state: a tool part may not move back from [approval-requested]"
              + " to [input-available]");
      refused(
          withPart(
              3,
              p ->
                  p.with("state", JsonValue.of("approval-responded"))
                      .with("approval", JsonObject.builder().put("id", "ap-2").build())),
          "message [a1] part [3] approval: the id must stay \"ap-1\", got \"ap-2\"");
    }
  }

  @Test
  @DisplayName(
      "an approval sent again after the server ran the tool passes (a retried append, W5) and"
          + " changes nothing")
  void approvalRetried() {
    JsonObject approval = JsonObject.builder().put("id", "ap-1").put("approved", true).build();
    UIMessage ran =
        withPart(
            3,
            p ->
                p.with("state", JsonValue.of("output-available"))
                    .with("approval", approval)
                    .with("output", JsonValue.of("removed")));
    UIMessage retry =
        UIMessage.of(
            "a1",
            "assistant",
            List.of(
                JsonObject.builder()
                    .put("type", "tool-rm")
                    .put("toolCallId", "c3")
                    .put("state", "approval-responded")
                    .put("approval", approval)
                    .build()));
    List<UIMessage> history = List.of(HISTORY.get(0), ran);

    assertThatCode(() -> MessageMerge.check(history, retry)).doesNotThrowAnyException();
    assertThatThrownBy(
            () ->
                MessageMerge.check(
                    history,
                    UIMessage.of(
                        "a1",
                        "assistant",
                        List.of(
                            retry
                                .parts()
                                .get(0)
                                .with(
                                    "approval", approval.with("approved", JsonValue.of(false)))))))
        .isInstanceOf(InvalidInputException.class)
        .hasMessage(
            "message [a1] part [0] state: a tool part may not change or move back from"
                + " [output-available]");
    var messages = new ArrayList<>(history);
    MessageMerge.merge(messages, retry);
    assertThat(messages).isEqualTo(history);
  }

  @Nested
  @DisplayName("merge, live and in replay")
  class Merge {
    @Test
    @DisplayName("a new user message is appended")
    void userAppended() {
      var messages = new ArrayList<>(HISTORY);
      MessageMerge.merge(messages, UIMessage.userText("u2", "next"));
      assertThat(messages).containsExactly(HISTORY.get(0), REPLY, UIMessage.userText("u2", "next"));
    }

    @Test
    @DisplayName(
        "an edited user message replaces its message and drops what followed it (the AI SDK's"
            + " sendMessage({messageId}))")
    void userEdited() {
      var messages = new ArrayList<>(HISTORY);
      MessageMerge.merge(messages, UIMessage.userText("u1", "look again"));
      assertThat(messages).containsExactly(UIMessage.userText("u1", "look again"));
    }

    @Test
    @DisplayName(
        "the same user message again is not an edit: a partial reply after it stays (H4 resume)")
    void userAgain() {
      var messages = new ArrayList<>(HISTORY);
      MessageMerge.merge(messages, UIMessage.userText("u1", "look"));
      assertThat(messages).isEqualTo(HISTORY);
    }

    @Test
    @DisplayName("a user message over an assistant message's id changes nothing")
    void userOverAssistant() {
      var messages = new ArrayList<>(HISTORY);
      MessageMerge.merge(messages, UIMessage.userText("a1", "forged"));
      assertThat(messages).isEqualTo(HISTORY);
    }

    @Test
    @DisplayName("an assistant message of an unknown id changes nothing")
    void unknownAssistant() {
      var messages = new ArrayList<>(HISTORY);
      MessageMerge.merge(messages, UIMessage.of("forged", "assistant", List.of(TEXT)));
      assertThat(messages).isEqualTo(HISTORY);
    }

    @Test
    @DisplayName("tool advances are overlaid; everything else is the server's copy")
    void advancesOnly() {
      UIMessage incoming =
          new UIMessage(
              answered()
                  .json()
                  .with("metadata", JsonValue.of("forged"))
                  .with(
                      "parts",
                      JsonArray.of(
                          TEXT.with("text", JsonValue.of("FORGED")),
                          LOOKUP.with("state", JsonValue.of("input-available")),
                          answered().parts().get(2).with("input", JsonValue.of("rm -rf")),
                          answered().parts().get(3))));
      var messages = new ArrayList<>(HISTORY);

      MessageMerge.merge(messages, incoming);

      assertThat(messages.get(1)).isEqualTo(answered());
    }

    @Test
    @DisplayName("a tool part is never moved back, even by a record stored before the check")
    void neverBack() {
      UIMessage back = withPart(3, p -> p.with("state", JsonValue.of("input-available")));
      assertThat(MessageMerge.advance(REPLY, back)).isEqualTo(REPLY);
    }
  }

  @Nested
  @DisplayName("DurableChat.appendIn, on a node with no live run (the stores decide)")
  class Append {
    private final MemorySessionStore store = new MemorySessionStore();
    private final DurableChat chat =
        DurableChat.builder()
            .environment(new Environment("proj", "merge"))
            .sessionStore(store)
            .build();

    private void reply() {
      chat.createSession(CreateSessionRequest.builder("agent").externalId("c").build());
      String run = chat.ensureRun("c", RunReason.INITIAL).run().runId();
      chat.appendIn("c", new InEvent.Message(WirePayload.submit("c", HISTORY.get(0))), null);
      var chunks = new ArrayList<OutEvent>();
      for (String c :
          List.of(
              "{\"type\":\"start\",\"messageId\":\"a1\"}",
              "{\"type\":\"tool-input-available\",\"toolCallId\":\"c2\",\"toolName\":\"ask\","
                  + "\"input\":{\"question\":\"which\"}}",
              "{\"type\":\"finish\"}")) {
        chunks.add(OutEvent.Chunk.of(UIMessageChunk.parse(c)));
      }
      chat.appendOut("c", run, chunks);
    }

    private byte[] submit(String message) {
      return ("{\"kind\":\"message\",\"payload\":{\"chatId\":\"c\",\"trigger\":\"submit-message\","
              + "\"message\":"
              + message
              + "}}")
          .getBytes(StandardCharsets.UTF_8);
    }

    @Test
    @DisplayName(
        "a forged assistant message is refused and stores nothing; a client-side tool's output is"
            + " stored while the reply's turn is not yet complete")
    void refusedThenAdvanced() {
      try (chat;
          store) {
        reply();
        assertThatThrownBy(
                () ->
                    chat.appendIn(
                        "c",
                        submit(
                            "{\"id\":\"a1\",\"role\":\"assistant\",\"parts\":[{\"type\":\"tool-ask\","
                                + "\"toolCallId\":\"c2\",\"state\":\"output-available\","
                                + "\"input\":{\"question\":\"rm\"},\"output\":\"ok\"}]}"),
                        null))
            .isInstanceOf(InvalidInputException.class)
            .hasMessage(
                "message [a1] part [0] input: an assistant message may only advance tool parts");
        assertThat(chat.lastEventId("c", StreamKind.IN)).isEqualTo(1);

        var stored =
            chat.appendIn(
                "c",
                submit(
                    "{\"id\":\"a1\",\"role\":\"assistant\",\"parts\":[{\"type\":\"tool-ask\","
                        + "\"toolCallId\":\"c2\",\"state\":\"output-available\","
                        + "\"input\":{\"question\":\"which\"},\"output\":\"ok\"}]}"),
                null);
        assertThat(stored.eventId()).isEqualTo(2);
      }
    }
  }
}
