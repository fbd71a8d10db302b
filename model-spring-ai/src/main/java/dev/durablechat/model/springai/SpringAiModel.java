package dev.durablechat.model.springai;

import dev.durablechat.agent.ChunkWriter;
import dev.durablechat.agent.TurnContext;
import dev.durablechat.agent.model.ModelHistory;
import dev.durablechat.agent.model.ModelLoop;
import dev.durablechat.agent.model.ModelMessage;
import dev.durablechat.agent.model.ModelTool;
import dev.durablechat.agent.model.StepModel;
import dev.durablechat.agent.model.StepSink;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.SystemMessage;
import org.springframework.ai.chat.messages.ToolResponseMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.metadata.Usage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;
import org.springframework.ai.chat.model.StreamingChatModel;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.content.Media;
import org.springframework.ai.model.tool.ToolCallingChatOptions;
import org.springframework.ai.tool.ToolCallback;
import org.springframework.ai.tool.definition.ToolDefinition;
import org.springframework.ai.tool.method.MethodToolCallbackProvider;
import org.springframework.util.MimeType;
import reactor.core.Disposable;
import reactor.core.scheduler.Schedulers;

/**
 * Answers a {@link dev.durablechat.agent.ChatAgent}'s turns with a Spring AI {@link
 * StreamingChatModel} ({@code stream(Prompt)}), streaming AI SDK UI message chunks (see {@link
 * ModelLoop} for what is written when). Tools are Spring AI's own: {@link ToolCallback}s or objects
 * with {@code @Tool} methods; the adapter runs them between steps itself (the model only describes
 * them to the provider), and a {@link ToolDefinition} without a callback is a client-side tool.
 *
 * <pre>{@code
 * OpenAiChatModel openAi = OpenAiChatModel.builder()
 *     .options(OpenAiChatOptions.builder().baseUrl(url).apiKey(key).model("gpt-4o-mini").build())
 *     .build();
 * SpringAiModel model = SpringAiModel.builder(openAi)
 *     .systemPrompt("You are a helpful assistant.")
 *     .tools(new WordTools())            // @Tool methods run on the server
 *     .needsApproval("delete_file")
 *     .build();
 * ChatAgent<JsonValue> agent = ChatAgent.builder("assistant").run(model::respond).build();
 * }</pre>
 */
public final class SpringAiModel {
  private final ModelLoop loop;

  private SpringAiModel(ModelLoop loop) {
    this.loop = loop;
  }

  /** A builder for the model. */
  public static Builder builder(StreamingChatModel model) {
    return new Builder(Objects.requireNonNull(model, "model must not be null"));
  }

  /** Answers the turn: use it as the agent's {@code run}. */
  public void respond(TurnContext<?> turn, ChunkWriter out) throws Exception {
    loop.respond(turn, out);
  }

  /** The loop underneath (for its model input, say). */
  public ModelLoop loop() {
    return loop;
  }

  /** The Spring AI messages for the neutral ones; consecutive tool results share one message. */
  static List<Message> messages(List<ModelMessage> messages) {
    var out = new ArrayList<Message>();
    var results = new ArrayList<ToolResponseMessage.ToolResponse>();
    for (ModelMessage m : messages) {
      if (!(m instanceof ModelMessage.ToolResult) && !results.isEmpty()) {
        out.add(ToolResponseMessage.builder().responses(List.copyOf(results)).build());
        results.clear();
      }
      if (m instanceof ModelMessage.SystemPrompt s) {
        out.add(new SystemMessage(s.text()));
      } else if (m instanceof ModelMessage.UserInput u) {
        var media = new ArrayList<Media>();
        var text = new StringBuilder();
        for (ModelMessage.Content c : u.content()) {
          if (c instanceof ModelMessage.Text t) {
            text.append(t.text());
          } else if (c instanceof ModelMessage.File f) {
            if (f.mediaType().startsWith("image/")) {
              media.add(
                  Media.builder()
                      .mimeType(MimeType.valueOf(f.mediaType()))
                      .data(URI.create(f.url()))
                      .build());
            } else {
              // The chat API reads no other file by URL: the model learns of it by name.
              text.append("[file ")
                  .append(f.filename() == null ? f.url() : f.filename())
                  .append(" (")
                  .append(f.mediaType())
                  .append(")]");
            }
          }
        }
        out.add(UserMessage.builder().text(text.toString()).media(media).build());
      } else if (m instanceof ModelMessage.AssistantOutput a) {
        var calls = new ArrayList<AssistantMessage.ToolCall>();
        for (ModelMessage.ToolCall call : a.toolCalls()) {
          calls.add(
              new AssistantMessage.ToolCall(call.id(), "function", call.name(), call.arguments()));
        }
        out.add(AssistantMessage.builder().content(a.text()).toolCalls(calls).build());
      } else if (m instanceof ModelMessage.ToolResult r) {
        results.add(
            new ToolResponseMessage.ToolResponse(r.toolCallId(), r.toolName(), r.content()));
      }
    }
    if (!results.isEmpty()) {
      out.add(ToolResponseMessage.builder().responses(List.copyOf(results)).build());
    }
    return out;
  }

  /** One streaming call per step. */
  private static final class Steps implements StepModel {
    private final StreamingChatModel model;
    private final List<ToolCallback> callbacks;
    private final @Nullable ChatOptions options;

    Steps(StreamingChatModel model, List<ToolCallback> callbacks, @Nullable ChatOptions base) {
      this.model = model;
      this.callbacks = List.copyOf(callbacks);
      this.options = options(model, base, this.callbacks);
    }

    /**
     * The prompt options: the given or the model's defaults, with the tools. A provider reads its
     * own options class, so the tools go into a copy of those ({@code mutate()}).
     */
    private static @Nullable ChatOptions options(
        StreamingChatModel model, @Nullable ChatOptions base, List<ToolCallback> callbacks) {
      if (base == null && model instanceof ChatModel chatModel) {
        base = chatModel.getOptions();
      }
      if (callbacks.isEmpty()) {
        return base;
      }
      if (base != null && base.mutate() instanceof ToolCallingChatOptions.Builder<?> b) {
        return b.toolCallbacks(callbacks).build();
      }
      return ToolCallingChatOptions.builder().toolCallbacks(callbacks).build();
    }

    @Override
    public Call stream(List<ModelMessage> messages, StepSink sink) {
      Prompt prompt =
          options == null
              ? new Prompt(messages(messages))
              : new Prompt(messages(messages), options);
      // Tool calls may arrive merged or in pieces: the latest state of each, by id, in order.
      var calls = new LinkedHashMap<String, AssistantMessage.ToolCall>();
      var finishReason = new AtomicReference<@Nullable String>();
      var usage = new AtomicReference<StepSink.@Nullable Usage>();
      Disposable subscription =
          model.stream(prompt)
              // A blocking client would hold the turn's thread for the whole stream: no stop.
              .subscribeOn(Schedulers.boundedElastic())
              .subscribe(
                  response -> {
                    take(response, sink, calls, finishReason);
                    StepSink.Usage u = usage(response);
                    if (u != null) {
                      usage.set(u);
                    }
                  },
                  sink::error,
                  () -> {
                    int index = 0;
                    for (AssistantMessage.ToolCall call : calls.values()) {
                      sink.toolCall(index++, call.id(), call.name(), call.arguments());
                    }
                    String reason = finishReason.get();
                    if (reason == null && !calls.isEmpty()) {
                      reason = "tool_calls";
                    }
                    sink.finish(StepSink.finishReason(reason), usage.get());
                  });
      // Disposing closes the OpenAI client's stream, which waits for the read it interrupts (the
      // reader's lock): off the turn's thread, so that a stop ends the turn at once.
      return () -> {
        Thread cancel = new Thread(subscription::dispose, "durablechat-spring-ai-cancel");
        cancel.setDaemon(true);
        cancel.start();
      };
    }

    private static void take(
        ChatResponse response,
        StepSink sink,
        Map<String, AssistantMessage.ToolCall> calls,
        AtomicReference<@Nullable String> finishReason) {
      for (Generation g : response.getResults()) {
        AssistantMessage output = g.getOutput();
        String text = output.getText();
        if (text != null) {
          sink.text(text);
        }
        for (AssistantMessage.ToolCall call : output.getToolCalls()) {
          String key = call.id() == null || call.id().isEmpty() ? "#" + calls.size() : call.id();
          calls.put(key, call);
        }
        String reason = g.getMetadata().getFinishReason();
        if (reason != null && !reason.isBlank()) {
          finishReason.set(reason);
        }
      }
    }

    private static StepSink.@Nullable Usage usage(ChatResponse response) {
      Usage u = response.getMetadata() == null ? null : response.getMetadata().getUsage();
      if (u == null || (u.getPromptTokens() == null && u.getCompletionTokens() == null)) {
        return null;
      }
      if (Objects.equals(u.getPromptTokens(), 0) && Objects.equals(u.getCompletionTokens(), 0)) {
        return null; // Spring AI's empty usage
      }
      return new StepSink.Usage(
          asLong(u.getPromptTokens()), asLong(u.getCompletionTokens()), asLong(u.getTotalTokens()));
    }

    private static @Nullable Long asLong(@Nullable Integer n) {
      return n == null ? null : n.longValue();
    }
  }

  /** Builds a {@link SpringAiModel}. */
  public static final class Builder {
    private final StreamingChatModel model;
    private final Map<String, ToolCallback> callbacks = new LinkedHashMap<>();
    private final Set<String> clientTools = new HashSet<>();
    private final Set<String> approvals = new HashSet<>();
    private @Nullable String systemPrompt;
    private @Nullable ChatOptions options;
    private int maxSteps = ModelLoop.DEFAULT_MAX_STEPS;
    private ModelHistory.@Nullable DataParts dataParts;

    private Builder(StreamingChatModel model) {
      this.model = model;
    }

    /** The agent's instructions, sent first on every call. */
    public Builder systemPrompt(String systemPrompt) {
      this.systemPrompt = systemPrompt;
      return this;
    }

    /**
     * The options every call starts from (model name, temperature, ...); default: the model's
     * default options. The tools are added to a copy.
     */
    public Builder options(ChatOptions options) {
      this.options = Objects.requireNonNull(options, "options must not be null");
      return this;
    }

    /** Server tools. */
    public Builder toolCallbacks(ToolCallback... toolCallbacks) {
      for (ToolCallback callback : toolCallbacks) {
        add(callback);
      }
      return this;
    }

    /** Objects whose {@code @Tool} methods are server tools. */
    public Builder tools(Object... toolObjects) {
      return toolCallbacks(
          MethodToolCallbackProvider.builder().toolObjects(toolObjects).build().getToolCallbacks());
    }

    /**
     * A client-side tool: the model may call it, the turn then ends with the call in {@code
     * input-available}, and the client's output continues it.
     */
    public Builder clientTool(ToolDefinition definition) {
      Objects.requireNonNull(definition, "tool definition must not be null");
      add(
          new ToolCallback() {
            @Override
            public ToolDefinition getToolDefinition() {
              return definition;
            }

            @Override
            public String call(String toolInput) {
              throw new IllegalStateException(
                  "tool [" + definition.name() + "] runs on the client, not on the server");
            }
          });
      clientTools.add(definition.name());
      return this;
    }

    /** Calls of these tools wait for the user's approval ({@code tool-approval-request}). */
    public Builder needsApproval(String... toolNames) {
      approvals.addAll(List.of(toolNames));
      return this;
    }

    /** The most model calls per turn; default {@link ModelLoop#DEFAULT_MAX_STEPS}. */
    public Builder maxSteps(int maxSteps) {
      if (maxSteps < 1) {
        throw new IllegalArgumentException("max steps [" + maxSteps + "] must be at least 1");
      }
      this.maxSteps = maxSteps;
      return this;
    }

    /** Maps data parts of the history to model content; by default they are dropped. */
    public Builder dataParts(ModelHistory.DataParts dataParts) {
      this.dataParts = Objects.requireNonNull(dataParts, "data parts hook must not be null");
      return this;
    }

    private void add(ToolCallback callback) {
      String name = callback.getToolDefinition().name();
      if (callbacks.putIfAbsent(name, callback) != null) {
        throw new IllegalArgumentException("tool [" + name + "] is defined twice");
      }
    }

    /**
     * The model.
     *
     * @throws IllegalArgumentException if an approval names a tool that is not there
     */
    public SpringAiModel build() {
      for (String name : approvals) {
        if (!callbacks.containsKey(name)) {
          throw new IllegalArgumentException(
              "tool [" + name + "] needs approval but is not a tool; tools: " + callbacks.keySet());
        }
      }
      ModelLoop.Builder b =
          ModelLoop.builder(new Steps(model, new ArrayList<>(callbacks.values()), options))
              .systemPrompt(systemPrompt)
              .maxSteps(maxSteps);
      if (dataParts != null) {
        b.dataParts(dataParts);
      }
      for (var e : callbacks.entrySet()) {
        String name = e.getKey();
        ToolCallback callback = e.getValue();
        ModelTool.Executor executor =
            clientTools.contains(name) ? null : (id, arguments) -> callback.call(arguments);
        b.tool(new ModelTool(name, executor, approvals.contains(name)));
      }
      return new SpringAiModel(b.build());
    }
  }
}
