package dev.durablechat.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.UIMessage;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("a live turn merges a client's tool advance into the reply it has (H6)")
class ToolAdvancesTest {
  private static final UIMessage REPLY =
      UIMessage.parse(
          "{\"id\":\"a1\",\"role\":\"assistant\",\"parts\":["
              + "{\"type\":\"text\",\"text\":\"Deleting.\",\"state\":\"done\"},"
              + "{\"type\":\"tool-rm\",\"toolCallId\":\"c1\",\"state\":\"approval-requested\",\"input\":{\"p\":\"a\"},\"approval\":{\"id\":\"ap\"}},"
              + "{\"type\":\"tool-ls\",\"toolCallId\":\"c2\",\"state\":\"output-available\",\"input\":{},\"output\":1}]}");

  @Test
  @DisplayName(
      "the slimmed advance overlays state and approval only; text, input and settled parts stay")
  void overlaysOnlyTheAdvancedFields() {
    UIMessage slim =
        UIMessage.parse(
            "{\"id\":\"a1\",\"role\":\"assistant\",\"parts\":["
                + "{\"type\":\"tool-rm\",\"toolCallId\":\"c1\",\"state\":\"approval-responded\",\"approval\":{\"id\":\"ap\",\"approved\":true}},"
                + "{\"type\":\"tool-ls\",\"toolCallId\":\"c2\",\"state\":\"output-error\",\"errorText\":\"late\"}]}");
    var messages = new ArrayList<>(List.of(UIMessage.userText("u1", "rm a"), REPLY));
    ToolAdvances.merge(messages, slim);

    assertThat(messages).hasSize(2);
    UIMessage merged = messages.get(1);
    assertThat(merged.text()).isEqualTo("Deleting.");
    assertThat(merged.parts().get(1).toString())
        .isEqualTo(
            "{\"type\":\"tool-rm\",\"toolCallId\":\"c1\",\"state\":\"approval-responded\","
                + "\"input\":{\"p\":\"a\"},\"approval\":{\"id\":\"ap\",\"approved\":true}}");
    assertThat(merged.parts().get(2)).isEqualTo(REPLY.parts().get(2));
  }

  @Test
  @DisplayName("a message with a new id is added; a user message of a known id replaces it")
  void newIdsAndUserMessages() {
    var messages = new ArrayList<>(List.of(UIMessage.userText("u1", "one")));
    ToolAdvances.merge(messages, UIMessage.userText("u2", "two"));
    ToolAdvances.merge(messages, UIMessage.userText("u1", "uno"));
    assertThat(messages).extracting(UIMessage::text).containsExactly("uno", "two");
  }
}
