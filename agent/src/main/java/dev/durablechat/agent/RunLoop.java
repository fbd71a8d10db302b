package dev.durablechat.agent;

import dev.durablechat.api.DurableChatException;
import dev.durablechat.api.FencedException;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.Session;
import dev.durablechat.api.SessionClosedException;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.Trigger;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.WirePayload;
import dev.durablechat.core.Appended;
import dev.durablechat.core.ChatHistory;
import dev.durablechat.core.DurableChat;
import dev.durablechat.core.MessageMerge;
import dev.durablechat.core.SwapResult;
import dev.durablechat.core.Telemetry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * One run serving one session in this process: boots (L1), takes the records of {@code in} from its
 * {@link InTail} in order and dispatches them (turns L2, actions L6, stop L7, close), suspends when
 * idle (L3) and hands over on an upgrade (L4).
 */
final class RunLoop<C> implements Runnable {
  private static final Logger LOG = LoggerFactory.getLogger(RunLoop.class);

  /** The MDC key of the session's friendly id, set on the run's thread while it runs. */
  static final String MDC_SESSION = "durablechat.session";

  /** The MDC key of the run's id, set on the run's thread while it runs. */
  static final String MDC_RUN = "durablechat.run";

  private final AgentRuntime runtime;
  private final DurableChat chat;
  private final ChatAgent<C> agent;
  private final Session session;
  final String sessionId;
  final SessionRun run;
  private final String chatId;
  private final InTail tail;
  private final CountDownLatch done = new CountDownLatch(1);
  private volatile boolean retired;
  private volatile boolean lost;
  // Set when the session was closed through this node's engine: the run ends at once (closed).
  private volatile boolean closeRequested;
  private final Duration idleTimeout;
  private final int maxAttempts;
  private volatile long renewedNanos = System.nanoTime();
  // S12: the in record whose attempt this run counted and has not answered yet (0: none). A run
  // that fails with one in flight leaves it to the run that takes over once its lease lapses.
  private volatile long attemptInId;
  // Whether this run dispatched a record yet: an upgrade run's first one was counted by its
  // predecessor, which handed it over on purpose (L4).
  private boolean dispatchedAny;
  // True while a turn or an action is in flight (a graceful shutdown waits for it to end).
  private volatile boolean inTurn;

  private final boolean chatStartedBefore;

  // Written by the run's thread; read by appends on this node (the H6 check, via DurableChat).
  private volatile List<UIMessage> history = List.of();
  private final Supplier<List<UIMessage>> liveHistory = () -> history;

  // Owned by the run's thread.
  private boolean chatStarted;
  private @Nullable BootEvent<C> boot;
  private int messageCount;
  // The last turn-complete this run wrote, and whether actions completed since the last snapshot.
  private long lastCompleteOut;
  private long lastCompleteIn;
  private boolean actionsSinceSnapshot;
  // How the turn in flight ended, for its telemetry span.
  private boolean turnCompleted;
  private boolean turnStopped;
  private @Nullable Throwable turnFailure;

  RunLoop(
      AgentRuntime runtime,
      DurableChat chat,
      ChatAgent<C> agent,
      Session session,
      SessionRun run,
      boolean chatStartedBefore) {
    this.runtime = runtime;
    this.chat = chat;
    this.agent = agent;
    this.session = session;
    this.sessionId = session.friendlyId();
    this.run = run;
    this.chatId = session.displayId();
    this.chatStartedBefore = chatStartedBefore;
    // S9: the session's own idle timeout (its trigger config) overrides the agent's default.
    Duration sessionIdle = session.triggerConfig().idleTimeout();
    this.idleTimeout = sessionIdle != null ? sessionIdle : agent.idleTimeout;
    // S12 likewise for the attempts a message gets.
    Integer sessionAttempts = session.triggerConfig().maxAttempts();
    this.maxAttempts = sessionAttempts != null ? sessionAttempts : agent.maxAttempts;
    this.tail =
        new InTail(
            chat,
            sessionId,
            run.runId(),
            () -> runtime.stopRequested(this),
            () -> retired || runtime.isClosing());
  }

  private enum Next {
    CONTINUE,
    END
  }

  @Override
  public void run() {
    var scope = new RunScope(run.runId());
    scope.bind();
    // Every log line of the run (its turns and the agent's code on this thread) names it; ids go
    // to the MDC and to trace attributes, never to metric tags.
    MDC.put(MDC_SESSION, sessionId);
    MDC.put(MDC_RUN, run.runId());
    chat.telemetry().runStarted();
    try {
      C clientData = agent.bindClientData(session.clientData());
      BootEvent<C> event =
          new BootEvent<>(
              chatId, sessionId, run.runId(), run.reason(), run.previousRunId(), clientData);
      this.boot = event;
      // H2-H4 (or, with hydrateMessages, H7: only where in stands, no snapshot).
      ChatHistory.Rebuilt rebuilt = history().rebuild(sessionId);
      history = agent.hydrateMessages != null ? List.of() : rebuilt.messages();
      chat.putLiveHistory(sessionId, liveHistory);
      chatStarted = chatStartedBefore || firstMessageDispatched(rebuilt.lastInEventId());
      call(agent.onBoot, event);
      if (event.preloaded()) {
        call(agent.onPreload, event);
      }
      if (run.reason() == RunReason.CONTINUATION) {
        call(agent.onChatResume, event);
      }
      tail.subscribe(rebuilt.lastInEventId());
      loop();
    } catch (FencedException e) {
      LOG.info(
          "run [{}] of session [{}] lost ownership: {}", run.runId(), sessionId, e.getMessage());
      runtime.retire(this);
    } catch (SessionClosedException e) {
      // The session was closed under a turn, and its writes are refused: the run ends closed.
      endClosed();
    } catch (NoSuchSessionException e) {
      // The session was deleted under the run (S11): its run rows went with it, nothing to end.
      LOG.info("run [{}] of session [{}] stopped: the session was deleted", run.runId(), sessionId);
      runtime.retire(this);
    } catch (Exception | Error e) {
      if (e instanceof Exception && (chat.isClosed() || runtime.isClosing())) {
        // Expected: the engine or the runtime closed under a live run (a shutdown, or a process
        // going away); nothing for an operator to act on, so one line, no stack trace.
        LOG.info(
            "run [{}] of session [{}] stopped: the engine closed under it ({})",
            run.runId(),
            sessionId,
            e.toString());
      } else {
        LOG.error("run [{}] of session [{}] failed", run.runId(), sessionId, e);
      }
      long unanswered = attemptInId;
      if (runtime.retire(this)) {
        if (unanswered > 0 && !chat.isClosed() && !runtime.isClosing()) {
          // S12: a failure in the middle of an attempt is a crash: the run is not ended, so its
          // lease lapses and a recovery sweep (here or on another node) takes the session over
          // and counts the next attempt, as it would after the process died.
          LOG.warn(
              "run [{}] of session [{}] stops with in [{}] unanswered; the run that takes over"
                  + " once its lease lapses tries again (attempts are counted, S12)",
              run.runId(),
              sessionId,
              unanswered);
        } else {
          endRun("failed");
        }
      }
    } finally {
      chat.removeLiveHistory(sessionId, liveHistory);
      tail.cancel();
      RunScope.unbind();
      chat.telemetry().runEnded();
      MDC.remove(MDC_SESSION);
      MDC.remove(MDC_RUN);
      done.countDown();
    }
  }

  private void loop() throws Exception {
    while (true) {
      Object item = tail.next(idleTimeout);
      if (closeRequested) {
        // Ahead of whatever is queued: a closed session takes no more records (S5).
        endClosed();
        return;
      }
      if (item == null) {
        if (runtime.retireIfIdle(this, this::suspend)) {
          return;
        }
        continue;
      }
      if (item == InTail.Item.WAKE) {
        continue;
      }
      if (item == InTail.Item.LOST) {
        return;
      }
      if (item == InTail.Item.END) {
        if (runtime.retire(this)) {
          snapshotActions();
          if (backlogLeft()) {
            // S12: records this run will not answer; ended, it would leave them to nobody (no
            // unserved mark, they came while it ran). Its lease lapses instead, and the recovery
            // sweep of a node (this one restarted, or another) takes the session over.
            LOG.info(
                "run [{}] of session [{}] stops with records left on in; the run that takes over"
                    + " once its lease lapses answers them",
                run.runId(),
                sessionId);
          } else {
            endRun(runtime.isClosing() ? "shutdown" : "tail-ended");
          }
        }
        return;
      }
      @SuppressWarnings("unchecked")
      StreamRecord<InEvent> record = (StreamRecord<InEvent>) item;
      if (dispatch(record) == Next.END) {
        return;
      }
    }
  }

  /** Whether in holds records this run has not answered (queued, or not yet received). */
  private boolean backlogLeft() {
    if (tail.hasQueued()) {
      return true;
    }
    try {
      return chat.lastEventId(sessionId, dev.durablechat.api.StreamKind.IN) > tail.lastReceived();
    } catch (RuntimeException e) {
      return true; // cannot tell: leave it to a recovery sweep, which looks again
    }
  }

  /**
   * Whether a message (a turn, not an action) was dispatched at or before the in event id: the chat
   * has started (L2: onChatStart fires once per chat, for the first message ever, never on
   * continuations or retries). Read from in, which is never trimmed; the first message is usually
   * its first record, so this reads one short page.
   */
  private boolean firstMessageDispatched(long dispatchedIn) {
    long after = 0;
    while (after < dispatchedIn) {
      List<StreamRecord<InEvent>> page = chat.readIn(sessionId, after, 64);
      if (page.isEmpty()) {
        return false;
      }
      for (StreamRecord<InEvent> r : page) {
        if (r.eventId() > dispatchedIn) {
          return false;
        }
        if (r.event() instanceof InEvent.Message m
            && (m.payload().trigger() == Trigger.SUBMIT_MESSAGE
                || m.payload().trigger() == Trigger.REGENERATE_MESSAGE)) {
          return true;
        }
        after = r.eventId();
      }
    }
    return false;
  }

  /**
   * The run lost the session (its lease renewal was fenced, or it could not renew for a lease):
   * cancel the turn and end the loop without a turn-complete, leaving the run's end to the node
   * that takes over.
   */
  void lostOwnership() {
    if (runtime.retire(this)) {
      lost = true;
      Cancellation c = current;
      if (c != null) {
        c.cancel();
      }
      tail.lost();
    }
  }

  /** Whether onChatStart has fired for the chat; read on the run's own thread (hand-over). */
  boolean chatStarted() {
    return chatStarted;
  }

  void renewed(long nanos) {
    renewedNanos = nanos;
  }

  long renewedNanos() {
    return renewedNanos;
  }

  /**
   * The session was closed (through this node's engine): the turn in flight is cancelled, as a stop
   * would (its writes would be refused anyway), and the run ends with reason {@code closed} instead
   * of waiting out its idle timeout.
   */
  void sessionClosed() {
    closeRequested = true;
    Cancellation c = current;
    if (c != null) {
      c.cancel();
    }
    tail.wake();
  }

  /** Retires the run and ends it, reason {@code closed}; the session is closed already. */
  private Next endClosed() {
    runtime.retireAndClose(
        this,
        () -> {
          snapshotActions();
          endRun("closed");
        });
    return Next.END;
  }

  /** Ends the loop from outside (runtime close). */
  void shutdown() {
    tail.end();
  }

  boolean awaitDone(long millis) throws InterruptedException {
    return done.await(millis, TimeUnit.MILLISECONDS);
  }

  long lastReceived() {
    return tail.lastReceived();
  }

  boolean hasQueued() {
    return tail.hasQueued();
  }

  void markRetired() {
    retired = true;
  }

  boolean retired() {
    return retired;
  }

  // ------------------------------------------------------------ current turn's stop signal

  private volatile @Nullable Cancellation current;
  private volatile long currentInId;

  void applyStop() {
    Cancellation c = current;
    if (c != null && currentInId < tail.stopAt()) {
      c.cancel();
    }
  }

  // ------------------------------------------------------------ dispatch

  private Next dispatch(StreamRecord<InEvent> record) throws Exception {
    if (!(record.event() instanceof InEvent.Message m)) {
      LOG.debug(
          "run [{}] skips in record [{}] ({})",
          run.runId(),
          record.eventId(),
          record.event().kind());
      return Next.CONTINUE;
    }
    WirePayload payload = m.payload();
    Trigger trigger = payload.trigger();
    if (trigger == Trigger.SUBMIT_MESSAGE
        || trigger == Trigger.REGENERATE_MESSAGE
        || trigger == Trigger.ACTION) {
      return observed(record.eventId(), payload);
    }
    if (trigger == Trigger.CLOSE) {
      runtime.retireAndClose(
          this,
          () -> {
            // Closed first: a node that sees this run end finds the session closed, and starts
            // no continuation (S5).
            chat.closeSession(sessionId, "closed by the client");
            endRun("closed");
          });
      return Next.END;
    }
    LOG.debug(
        "run [{}] ignores trigger [{}] at [{}]", run.runId(), trigger.wireName(), record.eventId());
    return Next.CONTINUE;
  }

  /** A turn or an action, as one telemetry span (the turn meters and observation). */
  private Next observed(long inId, WirePayload payload) throws Exception {
    Telemetry.TurnSpan span =
        chat.telemetry()
            .turnStarted(agent.id, payload.trigger().wireName(), sessionId, run.runId());
    turnCompleted = false;
    turnStopped = false;
    turnFailure = null;
    inTurn = true;
    Throwable thrown = null;
    try {
      return payload.trigger() == Trigger.ACTION ? action(inId, payload) : turn(inId, payload);
    } catch (Exception | Error e) {
      thrown = e;
      throw e;
    } finally {
      inTurn = false;
      String outcome =
          !turnCompleted
              ? "interrupted"
              : turnFailure != null ? "failed" : turnStopped ? "stopped" : "completed";
      span.end(outcome, turnFailure != null ? turnFailure : thrown);
      runtime.turnEnded();
    }
  }

  /** Whether a turn or an action is in flight. */
  boolean inTurn() {
    return inTurn;
  }

  private TurnContext<C> context(long inId, WirePayload payload, Cancellation cancellation) {
    BootEvent<C> b = boot;
    if (b == null) {
      throw new IllegalStateException("run [" + run.runId() + "] dispatched before boot");
    }
    return new TurnContext<>(
        chatId,
        sessionId,
        run.runId(),
        run.reason(),
        b.clientData(),
        payload.trigger(),
        payload.message(),
        payload.action(),
        payload.metadata(),
        inId,
        history,
        cancellation);
  }

  private ChunkWriter writer(Cancellation cancellation) {
    return new ChunkWriter(
        chat,
        sessionId,
        run.runId(),
        run.runId() + "-m" + messageCount++,
        cancellation,
        System::nanoTime,
        ChunkWriter.DEFAULT_MAX_BATCH,
        ChunkWriter.DEFAULT_MAX_LATENCY);
  }

  private Next turn(long inId, WirePayload payload) throws Exception {
    int attempt = countAttempt(inId);
    if (attempt > maxAttempts) {
      return exhausted(inId, payload, attempt - 1);
    }
    var cancellation = new Cancellation();
    TurnContext<C> ctx = context(inId, payload, cancellation);
    ChunkWriter out = writer(cancellation);
    try {
      call(agent.onValidateMessages, ctx);
      if (ctx.upgradeRequested()) {
        return upgrade();
      }
      if (agent.hydrateMessages != null) {
        ctx.setMessages(agent.hydrateMessages.hydrate(ctx));
      } else {
        ctx.setMessages(withIncoming(ctx.messages(), payload));
      }
      if (!chatStarted) {
        call(agent.onChatStart, ctx);
        chatStarted = true;
      }
      call(agent.onTurnStart, ctx);
      if (ctx.upgradeRequested()) {
        return upgrade();
      }
      ctx.injectable(() -> tail.takeInjectable(cancellation::isCancelled));
      try {
        respond(agent.run, ctx, out, inId, cancellation);
      } finally {
        ctx.injectable(null);
      }
    } catch (FencedException | SessionClosedException | NoSuchSessionException e) {
      throw e;
    } catch (Exception e) {
      if (closeRequested) {
        return endClosed();
      }
      if (chat.isClosed() || runtime.isClosing()) {
        LOG.info(
            "run [{}] turn at in [{}] stopped: the engine closed under it ({})",
            run.runId(),
            inId,
            e.toString());
      } else {
        LOG.warn("run [{}] turn at in [{}] failed", run.runId(), inId, e);
      }
      turnFailure = e;
      out.error(describe(e));
      out.finish();
    }
    if (lost) {
      // No turn-complete: the node that takes over answers this message again (H4).
      return Next.END;
    }
    if (closeRequested) {
      return endClosed();
    }
    Optional<UIMessage> response = out.message();
    if (response.isPresent()) {
      addToHistory(ctx, response.get());
      ctx.response(response.get());
    }
    compact(ctx);
    callLogged(agent.onBeforeTurnComplete, ctx);
    // L2: turn-complete (W6), then onTurnComplete (after the deferred work, L9), then the
    // snapshot (H1), so that history changes made in onTurnComplete are in this turn's snapshot.
    long dispatched = ctx.dispatchedInEventId();
    turnStopped = cancellation.isCancelled();
    Appended complete =
        chat.appendOut(sessionId, run.runId(), new OutEvent.TurnComplete(dispatched));
    attemptInId = 0;
    turnCompleted = true;
    awaitDeferred(ctx);
    history = ctx.messages();
    callLogged(agent.onTurnComplete, ctx);
    history = ctx.messages();
    history().snapshot(sessionId, history, complete.lastEventId(), dispatched);
    lastCompleteOut = complete.lastEventId();
    lastCompleteIn = dispatched;
    actionsSinceSnapshot = false;
    if (ctx.upgradeRequested()) {
      return upgrade();
    }
    return Next.CONTINUE;
  }

  /** The history with the incoming message of a turn applied (H6). */
  private static List<UIMessage> withIncoming(List<UIMessage> history, WirePayload payload) {
    var messages = new ArrayList<>(history);
    if (payload.trigger() == Trigger.REGENERATE_MESSAGE) {
      // H6: regenerate drops the trailing non-user messages and answers again.
      while (!messages.isEmpty() && !messages.get(messages.size() - 1).role().equals("user")) {
        messages.remove(messages.size() - 1);
      }
    } else if (payload.message() != null) {
      // H6: the one merge rule replay uses too, so live and rebuilt histories agree.
      MessageMerge.merge(messages, payload.message());
    }
    return messages;
  }

  /**
   * S12: counts this dispatch of the in record as an attempt, durably, before any of the agent's
   * code runs for it (a process that dies in it has it counted).
   *
   * @return the attempts at the record so far, this one included; 0 when not counted (the store
   *     cannot, or this upgrade run answers what its predecessor attempted and handed over)
   */
  private int countAttempt(long inId) {
    boolean handedOver = !dispatchedAny && run.reason() == RunReason.UPGRADE;
    dispatchedAny = true;
    if (handedOver || !runtime.countsAttempts()) {
      return 0;
    }
    int attempts = chat.recordAttempt(sessionId, run.runId(), inId);
    attemptInId = inId;
    return attempts;
  }

  /**
   * S12: the record had {@code maxAttempts} attempts and none answered it (each ended without its
   * turn-complete: the process died, the run lost its lease, or an error ended it). It is answered
   * now with an error chunk naming the cause and its turn-complete, without calling any of the
   * agent's code (which may be what kills the process), and is never tried again; the chat goes on
   * with the next record.
   */
  private Next exhausted(long inId, WirePayload payload, int attempts) {
    var cancellation = new Cancellation();
    TurnContext<C> ctx = context(inId, payload, cancellation);
    ChunkWriter out = writer(cancellation);
    boolean isTurn = payload.trigger() != Trigger.ACTION;
    if (isTurn && agent.hydrateMessages == null) {
      ctx.setMessages(withIncoming(ctx.messages(), payload));
    }
    String cause = exhaustedCause(inId, attempts);
    LOG.warn("run [{}] of session [{}]: {}", run.runId(), sessionId, cause);
    out.error(cause);
    out.finish();
    out.message().ifPresent(response -> addToHistory(ctx, response));
    Appended complete = chat.appendOut(sessionId, run.runId(), new OutEvent.TurnComplete(inId));
    attemptInId = 0;
    history = ctx.messages();
    if (isTurn) {
      history().snapshot(sessionId, history, complete.lastEventId(), inId);
      actionsSinceSnapshot = false;
    } else {
      actionsSinceSnapshot = true;
    }
    lastCompleteOut = complete.lastEventId();
    lastCompleteIn = inId;
    return Next.CONTINUE;
  }

  /** The error text of an exhausted record: how often it was tried, and how the last try ended. */
  private String exhaustedCause(long inId, int attempts) {
    String previousId = run.previousRunId();
    SessionRun previous = null;
    if (previousId != null) {
      for (SessionRun r : chat.runs(sessionId)) {
        if (r.runId().equals(previousId)) {
          previous = r;
        }
      }
    }
    String last = "";
    if (previous != null) {
      last =
          "; the run before this one, ["
              + previous.runId()
              + "], ended ["
              + previous.endReason()
              + "]"
              + ("superseded".equals(previous.endReason())
                  ? ": its process died, or it failed or lost its lease, and it was taken over"
                  : "");
    }
    return "in record ["
        + inId
        + "] was not answered: ["
        + attempts
        + "] attempts ended without a reply (maxAttempts ["
        + maxAttempts
        + "])"
        + last;
  }

  /** Puts the reply into the context's history: in place if its id is there (H3), else last. */
  private void addToHistory(TurnContext<C> ctx, UIMessage response) {
    var messages = new ArrayList<>(ctx.messages());
    put(messages, response);
    ctx.setMessages(messages);
  }

  private Next action(long inId, WirePayload payload) throws Exception {
    int attempt = countAttempt(inId);
    if (attempt > maxAttempts) {
      return exhausted(inId, payload, attempt - 1);
    }
    var cancellation = new Cancellation();
    TurnContext<C> ctx = context(inId, payload, cancellation);
    ChunkWriter out = writer(cancellation);
    try {
      // The action schema: one that does not bind fails here, before any hook (an error chunk).
      ctx.boundAction(agent.bindAction(payload.action()));
      call(agent.onValidateMessages, ctx);
      if (agent.hydrateMessages != null) {
        ctx.setMessages(agent.hydrateMessages.hydrate(ctx));
      }
      if (agent.onAction == null) {
        LOG.warn("agent [{}] got an action but has no onAction; ignored", agent.id);
      } else {
        respond(agent.onAction, ctx, out, inId, cancellation);
      }
    } catch (FencedException | SessionClosedException | NoSuchSessionException e) {
      throw e;
    } catch (Exception e) {
      if (closeRequested) {
        return endClosed();
      }
      LOG.warn("run [{}] action at in [{}] failed", run.runId(), inId, e);
      turnFailure = e;
      out.error(describe(e));
      out.finish();
    }
    if (lost) {
      return Next.END;
    }
    if (closeRequested) {
      return endClosed();
    }
    out.message().ifPresent(response -> addToHistory(ctx, response));
    // L6: an action's turn-complete, and no snapshot. Its history changes live in this run's
    // memory: the next turn's snapshot carries them, and if the run ends before a turn does
    // (idle, shutdown, upgrade), snapshotActions() writes them at this turn-complete first, so a
    // continuation does not lose them. A reply the action streamed is on out and replays anyway.
    turnStopped = cancellation.isCancelled();
    Appended complete = chat.appendOut(sessionId, run.runId(), new OutEvent.TurnComplete(inId));
    attemptInId = 0;
    turnCompleted = true;
    history = ctx.messages();
    lastCompleteOut = complete.lastEventId();
    lastCompleteIn = inId;
    actionsSinceSnapshot = true;
    return Next.CONTINUE;
  }

  /**
   * Before the run ends: if actions completed after the last turn's snapshot, snapshot the history
   * as of the last action's turn-complete, so a continuation rebuilds the actions' changes (L6 asks
   * for no snapshot per action, not for losing them). A crash before the run ends still loses an
   * action's direct history edits (not a reply it streamed, which replays from out).
   */
  private void snapshotActions() {
    if (actionsSinceSnapshot && lastCompleteOut > 0) {
      history().snapshot(sessionId, history, lastCompleteOut, lastCompleteIn);
      actionsSinceSnapshot = false;
    }
  }

  /** Runs a responder; a stop (L7) keeps the partial (abort, no finish), else finish. */
  private void respond(
      ChatAgent.Responder<C> responder,
      TurnContext<C> ctx,
      ChunkWriter out,
      long inId,
      Cancellation cancellation)
      throws Exception {
    currentInId = inId;
    current = cancellation;
    applyStop();
    try {
      // A stop sent after this record was queued stops it before it starts (L7).
      if (!cancellation.isCancelled()) {
        responder.respond(ctx, out);
      }
    } catch (TurnCancelledException e) {
      // The stop arrived: what was written stays, cleaned up as a partial.
    } catch (FencedException e) {
      throw e;
    } catch (Exception e) {
      if (!cancellation.isCancelled()) {
        throw e;
      }
    } finally {
      current = null;
    }
    if (cancellation.isCancelled()) {
      out.abort();
    } else {
      out.finish();
    }
  }

  private void compact(TurnContext<C> ctx) {
    ChatAgent.Compaction<C> compaction = agent.compaction;
    if (compaction == null) {
      return;
    }
    try {
      if (compaction.shouldCompact(ctx, ctx.messages())) {
        ctx.setMessages(compaction.summarize(ctx, ctx.messages()));
      }
    } catch (Exception e) {
      LOG.warn("run [{}]: compaction failed; the history stays as it was", run.runId(), e);
    }
  }

  private ChatHistory history() {
    return runtime.history(agent.hydrateMessages != null);
  }

  /**
   * H3, for the server's own reply: it replaces the message of its id in place, else is appended.
   * What a client sends goes through {@link MessageMerge#merge} instead (H6).
   */
  static void put(List<UIMessage> messages, UIMessage message) {
    for (int i = messages.size() - 1; i >= 0; i--) {
      if (messages.get(i).id().equals(message.id())) {
        messages.set(i, message);
        return;
      }
    }
    messages.add(message);
  }

  private void awaitDeferred(TurnContext<C> ctx) {
    if (ctx.deferred().isEmpty()) {
      return;
    }
    CompletableFuture<?>[] all =
        ctx.deferred().stream()
            .map(s -> s.toCompletableFuture())
            .toArray(CompletableFuture<?>[]::new);
    try {
      CompletableFuture.allOf(all).get(agent.deferTimeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      LOG.warn(
          "run [{}]: deferred work did not finish within [{}]; going on",
          run.runId(),
          agent.deferTimeout);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      LOG.warn("run [{}]: deferred work failed", run.runId(), e);
    }
  }

  /** L4: upgrade-required, swap to a new run (reason upgrade), and let it take {@code in} over. */
  private Next upgrade() {
    snapshotActions();
    chat.appendOut(sessionId, run.runId(), new OutEvent.UpgradeRequired());
    SwapResult swap = chat.endAndContinue(sessionId, run.runId(), RunReason.UPGRADE);
    runtime.handOver(this, swap);
    return Next.END;
  }

  /** Called by the runtime under the session's lock when the run found nothing to do (L3). */
  private void suspend() {
    BootEvent<C> b = boot;
    if (b != null) {
      callLogged(agent.onChatSuspend, b);
    }
    snapshotActions();
    endRun("idle");
  }

  private void endRun(String reason) {
    try {
      chat.endRun(sessionId, run.runId(), reason);
    } catch (NoSuchSessionException e) {
      LOG.debug("run [{}]: not ended ({}): the session was deleted", run.runId(), reason);
    } catch (DurableChatException e) {
      if (chat.isClosed()) {
        // The engine closed under the run: the lease lapses and another run takes over (S8).
        LOG.info("run [{}]: not ended ({}): the engine is closed", run.runId(), reason);
      } else {
        LOG.warn("run [{}]: could not end it ({}): {}", run.runId(), reason, e.getMessage());
      }
    }
  }

  private static <E> void call(ChatAgent.@Nullable Hook<E> hook, E event) throws Exception {
    if (hook != null) {
      hook.on(event);
    }
  }

  private <E> void callLogged(ChatAgent.@Nullable Hook<E> hook, E event) {
    try {
      call(hook, event);
    } catch (Exception e) {
      LOG.warn("run [{}]: hook failed", run.runId(), e);
    }
  }

  private static String describe(Exception e) {
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }
}
