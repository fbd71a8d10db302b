package dev.durablechat.agent;

import dev.durablechat.api.InEvent;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.Trigger;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.core.DurableChat;
import dev.durablechat.core.fold.ChunkFold;
import java.util.ArrayList;
import java.util.List;

/**
 * What a booting run knows of its session: the history, the last {@code in} event id an earlier run
 * dispatched (the newest {@code turn-complete}, W6), and whether any turn ever completed (so {@code
 * onChatStart} does not fire again, L2).
 *
 * <p>Interim rebuild until the history facility (snapshot + tail, H1–H4) is merged: it replays the
 * whole {@code out} stream and places each turn's user message (from {@code in}, up to the turn's
 * {@code turn-complete}) before that turn's reply. It needs the untrimmed {@code out} stream.
 */
record Rebuilt(List<UIMessage> messages, long lastDispatchedInEventId, boolean anyTurnCompleted) {
  private static final int PAGE = 1000;

  static Rebuilt from(DurableChat chat, String sessionId) {
    var in = new ArrayList<StreamRecord<InEvent>>();
    for (long after = 0; ; ) {
      List<StreamRecord<InEvent>> page = chat.readIn(sessionId, after, PAGE);
      if (page.isEmpty()) {
        break;
      }
      in.addAll(page);
      after = page.get(page.size() - 1).eventId();
    }
    var messages = new ArrayList<UIMessage>();
    var chunks = new ArrayList<UIMessageChunk>();
    long dispatched = 0;
    boolean anyTurn = false;
    int nextIn = 0;
    for (long after = 0; ; ) {
      List<StreamRecord<OutEvent>> page = chat.readOut(sessionId, after, PAGE);
      if (page.isEmpty()) {
        break;
      }
      for (StreamRecord<OutEvent> r : page) {
        if (r.event() instanceof OutEvent.Chunk c) {
          chunks.add(c.chunk());
        } else if (r.event() instanceof OutEvent.TurnComplete tc) {
          long upTo = tc.lastDispatchedInEventId();
          while (nextIn < in.size() && in.get(nextIn).eventId() <= upTo) {
            if (in.get(nextIn).event() instanceof InEvent.Message m
                && m.payload().trigger() == Trigger.SUBMIT_MESSAGE
                && m.payload().message() != null) {
              put(messages, m.payload().message());
            }
            nextIn++;
          }
          fold(messages, chunks);
          chunks.clear();
          dispatched = Math.max(dispatched, upTo);
          anyTurn = true;
        }
      }
      after = page.get(page.size() - 1).eventId();
    }
    return new Rebuilt(List.copyOf(messages), dispatched, anyTurn);
  }

  private static void fold(List<UIMessage> messages, List<UIMessageChunk> chunks) {
    if (chunks.isEmpty()) {
      return;
    }
    UIMessage last = messages.isEmpty() ? null : messages.get(messages.size() - 1);
    for (UIMessage m : ChunkFold.foldTail(last, chunks)) {
      put(messages, m);
    }
  }

  /** H3: a message replaces the one with its id in place; a new id is appended. */
  static void put(List<UIMessage> messages, UIMessage message) {
    for (int i = messages.size() - 1; i >= 0; i--) {
      if (messages.get(i).id().equals(message.id())) {
        messages.set(i, message);
        return;
      }
    }
    messages.add(message);
  }
}
