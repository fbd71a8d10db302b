package dev.durablechat.agent;

import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonString;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.UIMessage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;

/**
 * H6 for a live turn, as the rebuild does it: a client-sent assistant message advances the tool
 * parts of the assistant message the run already has (the SDK's transport sends only the advanced
 * parts, slimmed to {@code state}, {@code output}, {@code errorText}, {@code approval}); nothing
 * else of the message changes, and a part already at an output state stays.
 */
final class ToolAdvances {
  private ToolAdvances() {}

  /** Puts the incoming message into the history: overlaid on the same id's assistant message. */
  static void merge(List<UIMessage> messages, UIMessage incoming) {
    for (int i = messages.size() - 1; i >= 0; i--) {
      UIMessage existing = messages.get(i);
      if (existing.id().equals(incoming.id())) {
        messages.set(
            i,
            existing.role().equals("assistant") && incoming.role().equals("assistant")
                ? overlay(existing, incoming)
                : incoming);
        return;
      }
    }
    messages.add(incoming);
  }

  static UIMessage overlay(UIMessage existing, UIMessage incoming) {
    var advanced = new HashMap<String, JsonObject>();
    for (JsonObject part : incoming.parts()) {
      if (isTool(part) && part.get("toolCallId") instanceof JsonString id) {
        advanced.put(id.value(), part);
      }
    }
    if (advanced.isEmpty()) {
      return existing;
    }
    var parts = new ArrayList<JsonValue>();
    for (JsonObject part : existing.parts()) {
      JsonObject next = part;
      if (isTool(part)
          && part.get("toolCallId") instanceof JsonString id
          && advanced.containsKey(id.value())
          && !part.string("state").orElse("").startsWith("output-")) {
        JsonObject in = advanced.get(id.value());
        for (String field : List.of("state", "output", "errorText", "approval")) {
          JsonValue value = in.get(field);
          if (value != null) {
            next = next.with(field, value);
          }
        }
      }
      parts.add(next);
    }
    return new UIMessage(existing.json().with("parts", JsonArray.of(parts)));
  }

  private static boolean isTool(JsonObject part) {
    String type = part.string("type").orElse("");
    return type.startsWith("tool-") || type.equals("dynamic-tool");
  }
}
