package dev.durablechat.agent.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.UIMessage;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("ModelHistory converts UI messages to model messages as convertToModelMessages does")
class ModelHistoryTest {
  private static final ModelHistory.DataParts DROP = (m, p) -> Optional.empty();

  @Test
  @DisplayName(
      "the system prompt first; user text and files in order; data parts dropped by default")
  void userMessages() {
    UIMessage user =
        UIMessage.parse(
            "{\"id\":\"u1\",\"role\":\"user\",\"parts\":["
                + "{\"type\":\"text\",\"text\":\"look at \"},"
                + "{\"type\":\"file\",\"mediaType\":\"image/png\",\"url\":\"data:image/png;base64,AA==\",\"filename\":\"a.png\"},"
                + "{\"type\":\"data-weather\",\"data\":{\"t\":4}},"
                + "{\"type\":\"text\",\"text\":\"this\"}]}");
    List<ModelMessage> messages = ModelHistory.convert("be brief", List.of(user), DROP);
    assertThat(messages)
        .containsExactly(
            new ModelMessage.SystemPrompt("be brief"),
            new ModelMessage.UserInput(
                List.of(
                    new ModelMessage.Text("look at "),
                    new ModelMessage.File("image/png", "data:image/png;base64,AA==", "a.png"),
                    new ModelMessage.Text("this"))));
  }

  @Test
  @DisplayName("a data part reaches the model only when the hook maps it")
  void dataPartHook() {
    UIMessage user =
        UIMessage.parse(
            "{\"id\":\"u1\",\"role\":\"user\",\"parts\":[{\"type\":\"data-weather\",\"data\":{\"t\":4}}]}");
    List<ModelMessage> messages =
        ModelHistory.convert(
            null,
            List.of(user),
            (m, p) -> Optional.of(new ModelMessage.Text("weather: " + p.get("data"))));
    assertThat(messages)
        .containsExactly(
            new ModelMessage.UserInput(List.of(new ModelMessage.Text("weather: {\"t\":4}"))));
  }

  @Test
  @DisplayName(
      "an assistant message is cut into steps at step-start: each step's text, reasoning and calls,"
          + " then one result per call (output, error, denial); waiting calls are left out")
  void assistantSteps() {
    UIMessage assistant =
        UIMessage.parse(
            "{\"id\":\"a1\",\"role\":\"assistant\",\"parts\":["
                + "{\"type\":\"step-start\"},"
                + "{\"type\":\"reasoning\",\"text\":\"count it\",\"state\":\"done\"},"
                + "{\"type\":\"tool-word_count\",\"toolCallId\":\"c1\",\"state\":\"output-available\",\"input\":{\"text\":\"a b\"},\"output\":{\"words\":2}},"
                + "{\"type\":\"tool-shout\",\"toolCallId\":\"c2\",\"state\":\"output-error\",\"input\":{},\"errorText\":\"too loud\"},"
                + "{\"type\":\"step-start\"},"
                + "{\"type\":\"text\",\"text\":\"Two. \",\"state\":\"done\"},"
                + "{\"type\":\"dynamic-tool\",\"toolName\":\"rm\",\"toolCallId\":\"c3\",\"state\":\"output-denied\",\"input\":{\"p\":\"x\"},\"approval\":{\"id\":\"ap\",\"approved\":false}},"
                + "{\"type\":\"tool-rm\",\"toolCallId\":\"c4\",\"state\":\"output-denied\",\"input\":{},\"approval\":{\"id\":\"ap2\",\"approved\":false,\"reason\":\"not today\"}},"
                + "{\"type\":\"tool-pick\",\"toolCallId\":\"c5\",\"state\":\"input-available\",\"input\":{}},"
                + "{\"type\":\"tool-rm\",\"toolCallId\":\"c6\",\"state\":\"approval-requested\",\"input\":{},\"approval\":{\"id\":\"ap3\"}},"
                + "{\"type\":\"data-note\",\"data\":1}]}");
    assertThat(ModelHistory.convert(null, List.of(assistant), DROP))
        .containsExactly(
            new ModelMessage.AssistantOutput(
                "",
                "count it",
                List.of(
                    new ModelMessage.ToolCall("c1", "word_count", "{\"text\":\"a b\"}"),
                    new ModelMessage.ToolCall("c2", "shout", "{}"))),
            new ModelMessage.ToolResult("c1", "word_count", "{\"words\":2}", false),
            new ModelMessage.ToolResult("c2", "shout", "too loud", true),
            new ModelMessage.AssistantOutput(
                "Two. ",
                "",
                List.of(
                    new ModelMessage.ToolCall("c3", "rm", "{\"p\":\"x\"}"),
                    new ModelMessage.ToolCall("c4", "rm", "{}"))),
            new ModelMessage.ToolResult("c3", "rm", ModelHistory.DENIED, true),
            new ModelMessage.ToolResult("c4", "rm", "not today", true));
  }

  @Test
  @DisplayName("a string output reaches the model as it is, any other JSON as JSON text")
  void outputText() {
    assertThat(ModelHistory.outputText(dev.durablechat.api.JsonValue.of("plain")))
        .isEqualTo("plain");
    assertThat(ModelHistory.outputText(dev.durablechat.api.JsonValue.of(3))).isEqualTo("3");
  }

  @Test
  @DisplayName("finish reasons map to the AI SDK's names")
  void finishReasons() {
    assertThat(StepSink.finishReason("tool_calls")).isEqualTo("tool-calls");
    assertThat(StepSink.finishReason("TOOL_EXECUTION")).isEqualTo("tool-calls");
    assertThat(StepSink.finishReason("content_filter")).isEqualTo("content-filter");
    assertThat(StepSink.finishReason("STOP")).isEqualTo("stop");
    assertThat(StepSink.finishReason("length")).isEqualTo("length");
    assertThat(StepSink.finishReason("weird")).isEqualTo("other");
    assertThat(StepSink.finishReason(null)).isEqualTo("unknown");
  }
}
