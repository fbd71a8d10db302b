package dev.durablechat.agent.model;

import dev.durablechat.agent.ChunkWriter;
import dev.durablechat.agent.TurnCancelledException;
import dev.durablechat.agent.TurnContext;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonString;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.core.fold.ChunkFold;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers a turn with a real model, step by step, writing the UI message chunks the AI SDK's {@code
 * streamText(...).toUIMessageStream()} writes for the same response:
 *
 * <ul>
 *   <li>per step: {@code start-step}; {@code reasoning-start/delta/end}; {@code
 *       text-start/delta/end}; per tool call {@code tool-input-start}, {@code tool-input-delta} as
 *       the arguments stream, {@code tool-input-available} (or {@code tool-input-error} for
 *       unparsable arguments or an unknown tool); then server tools run, in call order ({@code
 *       tool-output-available} / {@code tool-output-error}); {@code finish-step};
 *   <li>a step whose calls all have outputs is followed by the next step, up to {@link
 *       Builder#maxSteps}; {@link TurnContext#injectQueuedMessages()} runs at each step boundary;
 *   <li>a call to a client-side tool ends the turn with the call in {@code input-available}; a call
 *       that needs approval ends it with {@code tool-approval-request}. When the client sends the
 *       message back with the output or the approval (H6), the turn continues that message: an
 *       approved call runs, a denied one gets {@code tool-output-denied} and the model reads the
 *       denial ({@link ModelHistory#DENIED} unless the user gave a reason);
 *   <li>the runtime's {@code finish} carries the last step's finish reason and, in the message
 *       metadata, {@code {finishReason, usage: {inputTokens, outputTokens, totalTokens}}} summed
 *       over the steps;
 *   <li>a failed model call (HTTP error, broken stream, timeout) writes an {@code error} chunk
 *       naming the cause and ends the turn; the run goes on serving;
 *   <li>a stop cancels the model call; the runtime keeps the partial reply (L7, H4).
 * </ul>
 *
 * <p>Every step's input is the history converted by {@link ModelHistory}, with the reply as folded
 * so far in place: the same conversion a later turn or a continuation rebuilt from snapshot and
 * replay makes, so the model reads the same messages either way.
 */
public final class ModelLoop {
  /** The default bound on steps (model calls) per turn. */
  public static final int DEFAULT_MAX_STEPS = 10;

  private static final Logger LOG = LoggerFactory.getLogger(ModelLoop.class);
  private static final long POLL_MILLIS = 20;

  private final StepModel model;
  private final @Nullable String systemPrompt;
  private final Map<String, ModelTool> tools;
  private final int maxSteps;
  private final ModelHistory.DataParts dataParts;

  private ModelLoop(Builder b) {
    this.model = b.model;
    this.systemPrompt = b.systemPrompt;
    this.tools = Map.copyOf(b.tools);
    this.maxSteps = b.maxSteps;
    this.dataParts = b.dataParts;
  }

  /** A loop over the adapter's model calls. */
  public static Builder builder(StepModel model) {
    return new Builder(Objects.requireNonNull(model, "model must not be null"));
  }

  /** The tools by name. */
  public Map<String, ModelTool> tools() {
    return tools;
  }

  /**
   * The model input for a history: {@link ModelHistory#convert} with this loop's system prompt and
   * data part hook.
   */
  public List<ModelMessage> input(List<UIMessage> messages) {
    return ModelHistory.convert(systemPrompt, messages, dataParts);
  }

  /**
   * Answers the turn (use it as the agent's {@code run}).
   *
   * @throws TurnCancelledException if the turn is stopped (the runtime keeps the partial)
   */
  public void respond(TurnContext<?> turn, ChunkWriter out) throws Exception {
    new Turn(turn, out).run();
  }

  /** What the turn's error chunk says for a failure: its kind and message, and the root cause's. */
  public static String describe(Throwable error) {
    Throwable e = error;
    while ((e instanceof CompletionException || e instanceof ExecutionException)
        && e.getCause() != null) {
      e = e.getCause();
    }
    var text = new StringBuilder("model call failed: ");
    Integer status = null;
    for (Throwable t = e;
        t != null && status == null;
        t = t.getCause() == t ? null : t.getCause()) {
      status = statusCode(t);
    }
    if (status != null) {
      text.append("HTTP ").append(status).append(": ");
    }
    text.append(name(e));
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    if (root != e) {
      text.append(" (caused by ").append(name(root)).append(')');
    }
    return text.toString();
  }

  /** The HTTP status a client's exception carries ({@code statusCode()}), if any. */
  private static @Nullable Integer statusCode(Throwable t) {
    for (String accessor : List.of("statusCode", "getStatusCode", "getRawStatusCode")) {
      try {
        Object value = t.getClass().getMethod(accessor).invoke(t);
        if (value instanceof Integer code) {
          return code;
        }
        if (value != null) {
          // e.g. Spring's HttpStatusCode: its value()
          Object code = value.getClass().getMethod("value").invoke(value);
          if (code instanceof Integer c) {
            return c;
          }
        }
      } catch (ReflectiveOperationException | RuntimeException ignored) {
        // no such accessor: look further down the chain
      }
    }
    return null;
  }

  private static String name(Throwable e) {
    String message = e.getMessage();
    return e.getClass().getSimpleName()
        + (message == null || message.isBlank() ? "" : ": " + message.strip());
  }

  /** One tool call of a step. */
  private static final class Call {
    @Nullable String id;
    @Nullable String name;
    final StringBuilder arguments = new StringBuilder();
    boolean started;
    boolean done;
    boolean invalid;
  }

  private final class Turn {
    private final TurnContext<?> turn;
    private final ChunkWriter out;
    private final ChunkFold fold;
    private final @Nullable String continued;
    private @Nullable String openText;
    private @Nullable String openReasoning;
    private int partIds;
    private @Nullable String finishReason;
    private long inputTokens;
    private long outputTokens;
    private long totalTokens;
    private boolean usage;

    Turn(TurnContext<?> turn, ChunkWriter out) {
      this.turn = turn;
      this.out = out;
      List<UIMessage> history = turn.messages();
      UIMessage last = history.isEmpty() ? null : history.get(history.size() - 1);
      if (last != null && last.role().equals("assistant")) {
        // The client sent the reply back with a tool output or an approval (H6): go on with it.
        this.continued = last.id();
        this.fold = ChunkFold.continuing(last);
        out.continueMessage(last);
      } else {
        this.continued = null;
        this.fold = ChunkFold.create();
      }
    }

    void run() throws Exception {
      if (continued != null) {
        answerApprovals();
      }
      for (int step = 0; step < maxSteps; step++) {
        if (step > 0) {
          turn.injectQueuedMessages();
        }
        if (!step()) {
          break;
        }
      }
      var metadata = JsonObject.builder().putIfNotNull("finishReason", finishReason);
      if (usage) {
        metadata.put(
            "usage",
            JsonObject.builder()
                .put("inputTokens", inputTokens)
                .put("outputTokens", outputTokens)
                .put("totalTokens", totalTokens)
                .build());
      }
      out.finishWith(finishReason, metadata.build());
    }

    /** The history with the reply as folded so far in its place. */
    private List<UIMessage> history() {
      var messages = new ArrayList<>(turn.messages());
      var reply = fold.message();
      if (reply.isPresent()) {
        int at = -1;
        for (int i = messages.size() - 1; i >= 0 && continued != null; i--) {
          if (messages.get(i).id().equals(continued)) {
            at = i;
            break;
          }
        }
        if (at >= 0) {
          messages.set(at, reply.get());
        } else {
          messages.add(reply.get());
        }
      }
      return messages;
    }

    /** Runs approved calls and reports denied ones, before the model is called again. */
    private void answerApprovals() {
      UIMessage last = turn.messages().get(turn.messages().size() - 1);
      for (JsonObject part : last.parts()) {
        String type = part.string("type").orElse("");
        if (!(type.startsWith("tool-") || type.equals("dynamic-tool"))
            || !part.string("state").orElse("").equals("approval-responded")) {
          continue;
        }
        String id = part.string("toolCallId").orElse("");
        boolean approved =
            part.get("approval") instanceof JsonObject a
                && a.get("approved") instanceof dev.durablechat.api.JsonBoolean v
                && v.value();
        if (approved) {
          JsonValue input = part.get("input");
          execute(id, ModelHistory.toolName(type, part), input == null ? "{}" : Json.write(input));
        } else {
          write(chunk("tool-output-denied").put("toolCallId", id));
        }
      }
    }

    /** One model call and its tools; true if the next step should follow. */
    private boolean step() throws Exception {
      write(chunk("start-step"));
      List<ModelMessage> input = input(history());
      var sink = new StepSink();
      StepModel.Call call;
      try {
        call = model.stream(input, sink);
      } catch (Exception e) {
        return fail(e);
      }
      var calls = new TreeMap<Integer, Call>();
      while (true) {
        if (out.isCancelled()) {
          call.cancel();
          throw new TurnCancelledException(
              "message [" + out.messageId() + "]: the turn was stopped; model call cancelled");
        }
        StepSink.Event event = sink.poll(POLL_MILLIS);
        if (event == null) {
          out.flush();
          continue;
        }
        if (event instanceof StepSink.TextDelta t) {
          closeReasoning();
          if (openText == null) {
            openText = "t" + partIds++;
            write(chunk("text-start").put("id", openText));
          }
          write(chunk("text-delta").put("id", openText).put("delta", t.delta()));
        } else if (event instanceof StepSink.ReasoningDelta r) {
          closeText();
          if (openReasoning == null) {
            openReasoning = "r" + partIds++;
            write(chunk("reasoning-start").put("id", openReasoning));
          }
          write(chunk("reasoning-delta").put("id", openReasoning).put("delta", r.delta()));
        } else if (event instanceof StepSink.ToolInputDelta d) {
          closeText();
          closeReasoning();
          Call c = calls.computeIfAbsent(d.index(), i -> new Call());
          if (c.done) {
            continue;
          }
          if (d.id() != null && !d.id().isEmpty()) {
            c.id = d.id();
          }
          if (d.name() != null && !d.name().isEmpty()) {
            c.name = d.name();
          }
          c.arguments.append(d.delta());
          if (!c.started && c.id != null && c.name != null) {
            c.started = true;
            write(chunk("tool-input-start").put("toolCallId", c.id).put("toolName", c.name));
            if (c.arguments.length() > 0) {
              inputDelta(c, c.arguments.toString());
            }
          } else if (c.started && !d.delta().isEmpty()) {
            inputDelta(c, d.delta());
          }
        } else if (event instanceof StepSink.ToolCallDone d) {
          closeText();
          closeReasoning();
          Call c = calls.computeIfAbsent(d.index(), i -> new Call());
          if (c.done) {
            continue;
          }
          c.id = d.id();
          c.name = d.name();
          c.arguments.setLength(0);
          c.arguments.append(d.arguments());
          complete(c);
        } else if (event instanceof StepSink.Finished f) {
          closeText();
          closeReasoning();
          for (Call c : calls.values()) {
            if (!c.done && c.id != null && c.name != null) {
              complete(c);
            }
          }
          finishReason = f.finishReason();
          if (f.usage() != null) {
            count(f.usage());
          }
          break;
        } else if (event instanceof StepSink.Failed f) {
          return fail(f.error());
        }
      }
      boolean answered = true;
      boolean any = false;
      for (Call c : calls.values()) {
        if (!c.done) {
          continue;
        }
        any = true;
        if (c.invalid) {
          continue; // the tool-input-error is the call's result
        }
        ModelTool tool = tools.get(c.name);
        if (tool == null) {
          continue;
        }
        String id = Objects.requireNonNull(c.id);
        if (tool.needsApproval()) {
          write(
              chunk("tool-approval-request")
                  .put("approvalId", "approval-" + id)
                  .put("toolCallId", id));
          answered = false;
        } else if (tool.executor() == null) {
          answered = false;
        } else {
          execute(id, tool.name(), c.arguments.toString());
        }
      }
      write(chunk("finish-step"));
      return any && answered;
    }

    private void complete(Call c) {
      String id = Objects.requireNonNull(c.id);
      String name = Objects.requireNonNull(c.name);
      c.done = true;
      if (!c.started) {
        c.started = true;
        write(chunk("tool-input-start").put("toolCallId", id).put("toolName", name));
      }
      String arguments = c.arguments.length() == 0 ? "{}" : c.arguments.toString();
      JsonValue input;
      try {
        input = Json.parse(arguments);
      } catch (RuntimeException e) {
        c.invalid = true;
        write(
            chunk("tool-input-error")
                .put("toolCallId", id)
                .put("toolName", name)
                .put("input", arguments)
                .put("errorText", "invalid input for tool [" + name + "]: " + e.getMessage()));
        return;
      }
      if (!tools.containsKey(name)) {
        c.invalid = true;
        write(
            chunk("tool-input-error")
                .put("toolCallId", id)
                .put("toolName", name)
                .put("input", input)
                .put(
                    "errorText",
                    "model called unknown tool ["
                        + name
                        + "]; available: "
                        + new java.util.TreeSet<>(tools.keySet())));
        return;
      }
      write(
          chunk("tool-input-available")
              .put("toolCallId", id)
              .put("toolName", name)
              .put("input", input));
    }

    private void inputDelta(Call c, String delta) {
      write(
          chunk("tool-input-delta")
              .put("toolCallId", Objects.requireNonNull(c.id))
              .put("inputTextDelta", delta));
    }

    private void execute(String id, String name, String arguments) {
      ModelTool tool = tools.get(name);
      if (tool == null || tool.executor() == null) {
        write(
            chunk("tool-output-error")
                .put("toolCallId", id)
                .put("errorText", "tool [" + name + "] has no server implementation"));
        return;
      }
      String result;
      try {
        result = tool.executor().execute(id, arguments);
      } catch (TurnCancelledException e) {
        throw e;
      } catch (Exception e) {
        LOG.debug("tool [{}] call [{}] failed", name, id, e);
        String message = e.getMessage();
        write(
            chunk("tool-output-error")
                .put("toolCallId", id)
                .put("errorText", message == null ? e.getClass().getSimpleName() : message));
        return;
      }
      write(chunk("tool-output-available").put("toolCallId", id).put("output", output(result)));
    }

    private boolean fail(Throwable error) {
      LOG.warn("turn at in [{}]: model call failed", turn.inEventId(), error);
      closeText();
      closeReasoning();
      write(chunk("error").put("errorText", describe(error)));
      write(chunk("finish-step"));
      finishReason = "error";
      return false;
    }

    private void count(StepSink.Usage u) {
      usage = true;
      long in = u.inputTokens() == null ? 0 : u.inputTokens();
      long outTokens = u.outputTokens() == null ? 0 : u.outputTokens();
      inputTokens += in;
      outputTokens += outTokens;
      totalTokens += u.totalTokens() == null ? in + outTokens : u.totalTokens();
    }

    private void closeText() {
      if (openText != null) {
        write(chunk("text-end").put("id", openText));
        openText = null;
      }
    }

    private void closeReasoning() {
      if (openReasoning != null) {
        write(chunk("reasoning-end").put("id", openReasoning));
        openReasoning = null;
      }
    }

    private void write(JsonObject.Builder chunk) {
      UIMessageChunk c = new UIMessageChunk(chunk.build());
      out.write(c);
      fold.accept(c);
    }
  }

  /**
   * A tool's result text as a UI output: valid JSON as the JSON value (the frameworks serialize
   * results to JSON text), anything else as a string.
   */
  static JsonValue output(@Nullable String result) {
    if (result == null) {
      return dev.durablechat.api.JsonNull.INSTANCE;
    }
    try {
      return Json.parse(result.strip());
    } catch (RuntimeException e) {
      return new JsonString(result);
    }
  }

  private static JsonObject.Builder chunk(String type) {
    return JsonObject.builder().put("type", type);
  }

  /** Builds a {@link ModelLoop}. */
  public static final class Builder {
    private final StepModel model;
    private @Nullable String systemPrompt;
    private final Map<String, ModelTool> tools = new LinkedHashMap<>();
    private int maxSteps = DEFAULT_MAX_STEPS;
    private ModelHistory.DataParts dataParts = (m, p) -> java.util.Optional.empty();

    private Builder(StepModel model) {
      this.model = model;
    }

    /** The agent's instructions, sent first on every call. */
    public Builder systemPrompt(@Nullable String systemPrompt) {
      this.systemPrompt = systemPrompt;
      return this;
    }

    /**
     * A tool the model may call; the model learns its schema from the framework.
     *
     * @throws IllegalArgumentException if a tool of that name is there already
     */
    public Builder tool(ModelTool tool) {
      Objects.requireNonNull(tool, "tool must not be null");
      if (tools.putIfAbsent(tool.name(), tool) != null) {
        throw new IllegalArgumentException("tool [" + tool.name() + "] is defined twice");
      }
      return this;
    }

    /** The most model calls per turn; default {@link #DEFAULT_MAX_STEPS}. */
    public Builder maxSteps(int maxSteps) {
      if (maxSteps < 1) {
        throw new IllegalArgumentException("max steps [" + maxSteps + "] must be at least 1");
      }
      this.maxSteps = maxSteps;
      return this;
    }

    /** Maps data parts to model content; by default they are dropped. */
    public Builder dataParts(ModelHistory.DataParts dataParts) {
      this.dataParts = Objects.requireNonNull(dataParts, "data parts hook must not be null");
      return this;
    }

    /** The loop. */
    public ModelLoop build() {
      return new ModelLoop(this);
    }
  }
}
