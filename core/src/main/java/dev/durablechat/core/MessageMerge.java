package dev.durablechat.core;

import dev.durablechat.api.InvalidInputException;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonNull;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonString;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.UIMessage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one merge rule for a message a client sent (H6), used by live turns, by replay and at append
 * time, so that the live history and a rebuilt one cannot disagree:
 *
 * <ul>
 *   <li>a user message is appended; one whose id the history has replaces that user message and
 *       drops every message after it (the AI SDK's edit: {@code sendMessage({messageId})}), unless
 *       it is the same message (a message answered again after a crash, H4, is not an edit);
 *   <li>an assistant message may only advance tool parts of the assistant message of its id that
 *       the server already has: {@code state}, {@code output}, {@code errorText} and {@code
 *       approval}, never moving a part back from {@code output-*}. Everything else comes from the
 *       server's copy.
 * </ul>
 *
 * {@link #check} refuses, before anything is stored, an assistant message that would change
 * anything else; {@link #merge} applies a message that passed (and, for records stored before the
 * check existed, ignores whatever the check would have refused).
 */
public final class MessageMerge {
  private static final Logger LOG = LoggerFactory.getLogger(MessageMerge.class);

  /** The tool part fields a client may advance (H6). */
  private static final Set<String> ADVANCING = Set.of("state", "output", "errorText", "approval");

  private static final List<String> ADVANCING_ORDER =
      List.of("state", "output", "errorText", "approval");

  private static final String ONLY_TOOLS = "an assistant message may only advance tool parts";

  private MessageMerge() {}

  /**
   * Checks a message a client sends against the server's history (H6), before it is stored. A user
   * message needs no history and always passes here; an assistant message passes only if the
   * history has an assistant message of its id and the incoming one changes nothing but the tool
   * fields a client may advance, forwards. Tool parts are matched by {@code toolCallId} (a client
   * may send only the tool parts it advances); other parts by index; a field left out is not a
   * change.
   *
   * @param history the server's history of the session
   * @throws InvalidInputException naming the message, the part and the field that may not change
   */
  public static void check(List<UIMessage> history, UIMessage incoming) {
    if (!incoming.role().equals("assistant")) {
      return;
    }
    String id = incoming.id();
    UIMessage existing = find(history, id);
    if (existing == null) {
      throw new InvalidInputException(
          "message ["
              + id
              + "] id: "
              + ONLY_TOOLS
              + " of a message the server sent, and the history has no message ["
              + id
              + "]");
    }
    if (!existing.role().equals("assistant")) {
      throw new InvalidInputException(
          "message [" + id + "] role: [" + existing.role() + "] in the history, got [assistant]");
    }
    for (Map.Entry<String, JsonValue> e : incoming.json().members().entrySet()) {
      String field = e.getKey();
      if (field.equals("parts")) {
        continue;
      }
      if (!same(existing.json().get(field), e.getValue())) {
        throw new InvalidInputException("message [" + id + "] " + field + ": " + ONLY_TOOLS);
      }
    }
    // A tool part is matched by its toolCallId: the SDK's transport sends only the tool parts it
    // advances (slimSubmitMessageForWire). Any other part must be the server's part at its index
    // (a whole message sent back as it is).
    List<JsonObject> mine = existing.parts();
    List<JsonObject> theirs = incoming.parts();
    for (int i = 0; i < theirs.size(); i++) {
      JsonObject part = theirs.get(i);
      if (isTool(part) && part.get("toolCallId") instanceof JsonString callId) {
        JsonObject server = toolPart(mine, callId.value());
        if (server == null) {
          throw new InvalidInputException(
              "message ["
                  + id
                  + "] part ["
                  + i
                  + "] toolCallId: "
                  + ONLY_TOOLS
                  + ", and the message has no tool call ["
                  + callId.value()
                  + "]");
        }
        checkPart(id, i, server, part);
      } else if (i < mine.size()) {
        checkPart(id, i, mine.get(i), part);
      } else {
        throw new InvalidInputException(
            "message ["
                + id
                + "] part ["
                + i
                + "]: "
                + ONLY_TOOLS
                + "; the message has ["
                + mine.size()
                + "] part(s)");
      }
    }
  }

  private static @Nullable JsonObject toolPart(List<JsonObject> parts, String toolCallId) {
    for (JsonObject part : parts) {
      if (isTool(part)
          && part.get("toolCallId") instanceof JsonString id
          && id.value().equals(toolCallId)) {
        return part;
      }
    }
    return null;
  }

  private static void checkPart(String id, int index, JsonObject mine, JsonObject theirs) {
    String where = "message [" + id + "] part [" + index + "] ";
    boolean tool = isTool(mine);
    for (Map.Entry<String, JsonValue> e : theirs.members().entrySet()) {
      String field = e.getKey();
      if (tool && ADVANCING.contains(field)) {
        continue;
      }
      if (!same(mine.get(field), e.getValue())) {
        throw new InvalidInputException(where + field + ": " + ONLY_TOOLS);
      }
    }
    if (!tool) {
      return;
    }
    String from = mine.string("state").orElse("");
    String to = theirs.string("state").orElse(from);
    if (settled(mine)) {
      if (to.equals("approval-responded")
          && theirs.get("output") == null
          && theirs.get("errorText") == null
          && mine.get("approval") != null
          && same(mine.get("approval"), theirs.get("approval"))) {
        // The client's own approval, sent again (a retried append, W5) after the server acted on
        // it: nothing moves back, the merge keeps the server's part.
        return;
      }
      for (String field : ADVANCING_ORDER) {
        JsonValue value = theirs.get(field);
        if (value != null && !same(mine.get(field), value)) {
          throw new InvalidInputException(
              where + field + ": a tool part may not change or move back from [" + from + "]");
        }
      }
      return;
    }
    if (rank(to) < rank(from)) {
      throw new InvalidInputException(
          where + "state: a tool part may not move back from [" + from + "] to [" + to + "]");
    }
    if (mine.get("approval") instanceof JsonObject asked
        && asked.get("id") != null
        && theirs.get("approval") instanceof JsonObject answered
        && !same(asked.get("id"), answered.get("id"))) {
      throw new InvalidInputException(
          where + "approval: the id must stay " + asked.get("id") + ", got " + answered.get("id"));
    }
  }

  /**
   * Applies a client's message to a history in place (H3, H6): see the class comment. What {@link
   * #check} would refuse is ignored (logged): an assistant message of an unknown id, a user message
   * whose id is not a user message's, and every change but a forward tool advance.
   */
  public static void merge(List<UIMessage> messages, UIMessage incoming) {
    int at = -1;
    for (int i = messages.size() - 1; i >= 0; i--) {
      if (messages.get(i).id().equals(incoming.id())) {
        at = i;
        break;
      }
    }
    boolean assistant = incoming.role().equals("assistant");
    if (at < 0) {
      if (assistant) {
        LOG.debug(
            "message [{}]: an assistant message the history does not have, ignored", incoming.id());
      } else {
        messages.add(incoming);
      }
      return;
    }
    UIMessage existing = messages.get(at);
    if (!existing.role().equals(incoming.role())) {
      LOG.debug(
          "message [{}]: a [{}] message may not replace a [{}] message, ignored",
          incoming.id(),
          incoming.role(),
          existing.role());
      return;
    }
    if (assistant) {
      messages.set(at, advance(existing, incoming));
    } else if (!existing.equals(incoming)) {
      // The AI SDK's edit: the edited message replaces the old one and what followed it goes.
      messages.subList(at + 1, messages.size()).clear();
      messages.set(at, incoming);
    }
  }

  /**
   * H6: the server's message with the incoming tool advances overlaid: of a tool part of the same
   * {@code toolCallId} only {@code state}, {@code output}, {@code errorText} and {@code approval}
   * are taken, only forwards, and never onto a part already at an output state.
   */
  public static UIMessage advance(UIMessage existing, UIMessage incoming) {
    var advanced = new HashMap<String, JsonObject>();
    for (JsonObject part : incoming.parts()) {
      if (isTool(part) && part.get("toolCallId") instanceof JsonString id) {
        advanced.put(id.value(), part);
      }
    }
    if (advanced.isEmpty()) {
      return existing;
    }
    boolean changed = false;
    var parts = new ArrayList<JsonValue>();
    for (JsonObject part : existing.parts()) {
      JsonObject next = part;
      if (isTool(part)
          && part.get("toolCallId") instanceof JsonString id
          && advanced.containsKey(id.value())
          && !settled(part)) {
        JsonObject in = advanced.get(id.value());
        String from = part.string("state").orElse("");
        if (rank(in.string("state").orElse(from)) >= rank(from)) {
          for (String field : ADVANCING_ORDER) {
            JsonValue value = in.get(field);
            if (value != null) {
              next = next.with(field, value);
            }
          }
        }
        changed |= !next.equals(part);
      }
      parts.add(next);
    }
    return changed
        ? new UIMessage(existing.json().with("parts", JsonArray.adopt(parts)))
        : existing;
  }

  private static @Nullable UIMessage find(List<UIMessage> history, String id) {
    for (int i = history.size() - 1; i >= 0; i--) {
      if (history.get(i).id().equals(id)) {
        return history.get(i);
      }
    }
    return null;
  }

  /**
   * Equal, where a field the client left out or sent as null counts as the server's value: the
   * server's copy is what is kept, so leaving a field out changes nothing.
   */
  private static boolean same(@Nullable JsonValue mine, @Nullable JsonValue theirs) {
    return theirs == null || theirs instanceof JsonNull || theirs.equals(mine);
  }

  private static boolean settled(JsonObject toolPart) {
    return toolPart.string("state").orElse("").startsWith("output-");
  }

  /** The order a tool part's state moves in; unknown states rank with the inputs. */
  private static int rank(String state) {
    return switch (state) {
      case "approval-requested" -> 2;
      case "approval-responded" -> 3;
      case "output-available", "output-error", "output-denied" -> 4;
      default -> state.startsWith("output-") ? 4 : state.equals("input-available") ? 1 : 0;
    };
  }

  private static boolean isTool(JsonObject part) {
    String type = part.string("type").orElse("");
    return type.startsWith("tool-") || type.equals("dynamic-tool");
  }
}
