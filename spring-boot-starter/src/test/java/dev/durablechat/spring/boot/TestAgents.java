package dev.durablechat.spring.boot;

import dev.durablechat.agent.ChatAgent;
import dev.durablechat.agent.ScriptedModel;
import dev.durablechat.agent.TurnContext;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.UIMessage;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.MDC;

/** The agents the tests register as beans: the ones the Node client scripts expect. */
final class TestAgents {
  /** The MDC each turn saw, by the user's text: the session and run ids. */
  static final Map<String, Map<String, String>> MDC_SEEN = new ConcurrentHashMap<>();

  private TestAgents() {}

  /**
   * Reasons, calls a tool {@code lookup} with {@code {"q":<text>}} (output {@code {"hits":1}}),
   * then replies "you said <text>" (the scripts' {@code echo}).
   */
  static ChatAgent<JsonValue> rich(String id) {
    return ChatAgent.builder(id)
        .idleTimeout(Duration.ofSeconds(60))
        .run(
            (turn, out) -> {
              String text = lastUserText(turn);
              Map<String, String> mdc = MDC.getCopyOfContextMap();
              MDC_SEEN.put(text, mdc == null ? Map.of() : mdc);
              ScriptedModel.builder()
                  .reasoning("the user wants an echo")
                  .toolCall(
                      "lookup",
                      JsonObject.builder().put("q", text).build(),
                      JsonObject.builder().put("hits", 1).build())
                  .text("you said " + text)
                  .build()
                  .play(out);
            })
        .build();
  }

  /** Replies "you said <text>", one text delta per word after each delay (the scripts' slow). */
  static ChatAgent<JsonValue> echo(String id, Duration delay) {
    return ChatAgent.builder(id)
        .idleTimeout(Duration.ofSeconds(60))
        .run(
            (turn, out) ->
                ScriptedModel.builder()
                    .text("you said " + lastUserText(turn))
                    .chunkDelay(delay)
                    .build()
                    .play(out))
        .build();
  }

  static String lastUserText(TurnContext<?> turn) {
    List<UIMessage> messages = turn.messages();
    for (int i = messages.size() - 1; i >= 0; i--) {
      if (messages.get(i).role().equals("user")) {
        return messages.get(i).text();
      }
    }
    return "";
  }
}
