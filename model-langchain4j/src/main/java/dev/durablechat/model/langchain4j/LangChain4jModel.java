package dev.durablechat.model.langchain4j;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.durablechat.agent.ChunkWriter;
import dev.durablechat.agent.TurnContext;
import dev.durablechat.agent.model.ModelHistory;
import dev.durablechat.agent.model.ModelLoop;
import dev.durablechat.agent.model.ModelMessage;
import dev.durablechat.agent.model.ModelTool;
import dev.durablechat.agent.model.StepModel;
import dev.durablechat.agent.model.StepSink;
import dev.langchain4j.agent.tool.Tool;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.agent.tool.ToolSpecifications;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.Content;
import dev.langchain4j.data.message.ImageContent;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.CompleteToolCall;
import dev.langchain4j.model.chat.response.PartialResponse;
import dev.langchain4j.model.chat.response.PartialResponseContext;
import dev.langchain4j.model.chat.response.PartialThinking;
import dev.langchain4j.model.chat.response.PartialThinkingContext;
import dev.langchain4j.model.chat.response.PartialToolCall;
import dev.langchain4j.model.chat.response.PartialToolCallContext;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.chat.response.StreamingHandle;
import dev.langchain4j.model.output.TokenUsage;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Parameter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;

/**
 * Answers a {@link dev.durablechat.agent.ChatAgent}'s turns with a LangChain4j {@link
 * StreamingChatModel}, streaming AI SDK UI message chunks (see {@link ModelLoop} for what is
 * written when). Tools are LangChain4j's own: objects with {@link Tool @Tool} methods, or a {@link
 * ToolSpecification} with an executor; a specification without one is a client-side tool.
 *
 * <pre>{@code
 * StreamingChatModel openAi = OpenAiStreamingChatModel.builder()
 *     .baseUrl(url).apiKey(key).modelName("gpt-4o-mini").build();
 * LangChain4jModel model = LangChain4jModel.builder(openAi)
 *     .systemPrompt("You are a helpful assistant.")
 *     .tools(new WordTools())            // @Tool methods run on the server
 *     .needsApproval("delete_file")
 *     .build();
 * ChatAgent<JsonValue> agent = ChatAgent.builder("assistant").run(model::respond).build();
 * }</pre>
 */
public final class LangChain4jModel {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ModelLoop loop;

  private LangChain4jModel(ModelLoop loop) {
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

  /** The LangChain4j messages for the neutral ones. */
  static List<ChatMessage> messages(List<ModelMessage> messages) {
    var out = new ArrayList<ChatMessage>();
    for (ModelMessage m : messages) {
      if (m instanceof ModelMessage.SystemPrompt s) {
        out.add(SystemMessage.from(s.text()));
      } else if (m instanceof ModelMessage.UserInput u) {
        var contents = new ArrayList<Content>();
        for (ModelMessage.Content c : u.content()) {
          if (c instanceof ModelMessage.Text t) {
            contents.add(TextContent.from(t.text()));
          } else if (c instanceof ModelMessage.File f) {
            if (f.mediaType().startsWith("image/")) {
              contents.add(ImageContent.from(f.url()));
            } else {
              // OpenAI's chat API reads no other file by URL: the model learns of it by name.
              contents.add(
                  TextContent.from(
                      "[file "
                          + (f.filename() == null ? f.url() : f.filename())
                          + " ("
                          + f.mediaType()
                          + ")]"));
            }
          }
        }
        out.add(UserMessage.from(contents));
      } else if (m instanceof ModelMessage.AssistantOutput a) {
        var requests = new ArrayList<ToolExecutionRequest>();
        for (ModelMessage.ToolCall call : a.toolCalls()) {
          requests.add(
              ToolExecutionRequest.builder()
                  .id(call.id())
                  .name(call.name())
                  .arguments(call.arguments())
                  .build());
        }
        var b = AiMessage.builder();
        if (!a.text().isEmpty()) {
          b.text(a.text());
        }
        if (!a.reasoning().isEmpty()) {
          b.thinking(a.reasoning());
        }
        if (!requests.isEmpty()) {
          b.toolExecutionRequests(requests);
        }
        out.add(b.build());
      } else if (m instanceof ModelMessage.ToolResult r) {
        out.add(ToolExecutionResultMessage.from(r.toolCallId(), r.toolName(), r.content()));
      }
    }
    return out;
  }

  /** One streaming call per step. */
  private static final class Steps implements StepModel {
    private final StreamingChatModel model;
    private final List<ToolSpecification> specifications;

    Steps(StreamingChatModel model, List<ToolSpecification> specifications) {
      this.model = model;
      this.specifications = List.copyOf(specifications);
    }

    @Override
    public Call stream(List<ModelMessage> messages, StepSink sink) {
      var request = ChatRequest.builder().messages(messages(messages));
      if (!specifications.isEmpty()) {
        request.toolSpecifications(specifications);
      }
      var handle = new AtomicReference<@Nullable StreamingHandle>();
      var cancelled = new AtomicBoolean();
      StreamingChatResponseHandler handler =
          new StreamingChatResponseHandler() {
            private void seen(StreamingHandle h) {
              handle.set(h);
              if (cancelled.get()) {
                h.cancel();
              }
            }

            @Override
            public void onPartialResponse(String text) {
              sink.text(text);
            }

            @Override
            public void onPartialResponse(PartialResponse partial, PartialResponseContext ctx) {
              seen(ctx.streamingHandle());
              sink.text(partial.text());
            }

            @Override
            public void onPartialThinking(PartialThinking thinking) {
              sink.reasoning(thinking.text());
            }

            @Override
            public void onPartialThinking(PartialThinking thinking, PartialThinkingContext ctx) {
              seen(ctx.streamingHandle());
              sink.reasoning(thinking.text());
            }

            @Override
            public void onPartialToolCall(PartialToolCall call) {
              sink.toolInput(call.index(), call.id(), call.name(), call.partialArguments());
            }

            @Override
            public void onPartialToolCall(PartialToolCall call, PartialToolCallContext ctx) {
              seen(ctx.streamingHandle());
              sink.toolInput(call.index(), call.id(), call.name(), call.partialArguments());
            }

            @Override
            public void onCompleteToolCall(CompleteToolCall call) {
              ToolExecutionRequest r = call.toolExecutionRequest();
              sink.toolCall(call.index(), r.id(), r.name(), r.arguments());
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
              TokenUsage u = response.tokenUsage();
              sink.finish(
                  StepSink.finishReason(
                      response.finishReason() == null ? null : response.finishReason().name()),
                  u == null
                      ? null
                      : new StepSink.Usage(
                          asLong(u.inputTokenCount()),
                          asLong(u.outputTokenCount()),
                          asLong(u.totalTokenCount())));
            }

            @Override
            public void onError(Throwable error) {
              sink.error(error);
            }
          };
      model.chat(request.build(), handler);
      return () -> {
        cancelled.set(true);
        StreamingHandle h = handle.get();
        if (h != null) {
          h.cancel();
        }
      };
    }

    private static @Nullable Long asLong(@Nullable Integer n) {
      return n == null ? null : n.longValue();
    }
  }

  /** Runs one {@link Tool @Tool} method: arguments bound by the specification's parameter names. */
  private static ModelTool.Executor executor(Object target, Method method, ToolSpecification spec) {
    method.setAccessible(true);
    List<String> names = new ArrayList<>();
    if (spec.parameters() != null && spec.parameters().properties() != null) {
      names.addAll(spec.parameters().properties().keySet());
    }
    Parameter[] parameters = method.getParameters();
    return (toolCallId, arguments) -> {
      JsonNode json = JSON.readTree(arguments.isBlank() ? "{}" : arguments);
      Object[] values = new Object[parameters.length];
      Iterator<String> name = names.iterator();
      List<String> fields = new ArrayList<>();
      json.fieldNames().forEachRemaining(fields::add);
      for (int i = 0; i < parameters.length; i++) {
        String key = name.hasNext() ? name.next() : parameters[i].getName();
        JsonNode value = json.get(key);
        if (value == null && fields.size() == parameters.length) {
          // Compiled without -parameters the schema says arg0, arg1...: bind by position.
          value = json.get(fields.get(i));
        }
        values[i] =
            value == null || value.isNull()
                ? null
                : JSON.convertValue(
                    value,
                    JSON.getTypeFactory().constructType(parameters[i].getParameterizedType()));
      }
      Object result;
      try {
        result = method.invoke(target, values);
      } catch (InvocationTargetException e) {
        Throwable cause = e.getCause();
        throw cause instanceof Exception ex ? ex : e;
      }
      if (method.getReturnType() == void.class) {
        return "Success";
      }
      return result instanceof String s ? s : JSON.writeValueAsString(result);
    };
  }

  /** Builds a {@link LangChain4jModel}. */
  public static final class Builder {
    private final StreamingChatModel model;
    private @Nullable String systemPrompt;
    private int maxSteps = ModelLoop.DEFAULT_MAX_STEPS;
    private ModelHistory.@Nullable DataParts dataParts;
    private final Map<String, ToolSpecification> specifications = new LinkedHashMap<>();
    private final Map<String, ModelTool.@Nullable Executor> executors = new LinkedHashMap<>();
    private final Set<String> approvals = new HashSet<>();

    private Builder(StreamingChatModel model) {
      this.model = model;
    }

    /** The agent's instructions, sent first on every call. */
    public Builder systemPrompt(String systemPrompt) {
      this.systemPrompt = systemPrompt;
      return this;
    }

    /** Objects whose {@link Tool @Tool} methods are server tools. */
    public Builder tools(Object... toolObjects) {
      for (Object target : toolObjects) {
        for (Method method : target.getClass().getDeclaredMethods()) {
          if (method.isAnnotationPresent(Tool.class)) {
            ToolSpecification spec = ToolSpecifications.toolSpecificationFrom(method);
            add(spec, executor(target, method, spec));
          }
        }
      }
      return this;
    }

    /** A server tool: its specification and what runs it. */
    public Builder tool(ToolSpecification specification, ModelTool.Executor executor) {
      return add(specification, Objects.requireNonNull(executor, "executor must not be null"));
    }

    /**
     * A client-side tool: the model may call it, the turn then ends with the call in {@code
     * input-available}, and the client's output continues it.
     */
    public Builder clientTool(ToolSpecification specification) {
      return add(specification, null);
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

    private Builder add(ToolSpecification spec, ModelTool.@Nullable Executor executor) {
      Objects.requireNonNull(spec, "tool specification must not be null");
      if (specifications.putIfAbsent(spec.name(), spec) != null) {
        throw new IllegalArgumentException("tool [" + spec.name() + "] is defined twice");
      }
      executors.put(spec.name(), executor);
      return this;
    }

    /**
     * The model.
     *
     * @throws IllegalArgumentException if an approval names a tool that is not there
     */
    public LangChain4jModel build() {
      for (String name : approvals) {
        if (!specifications.containsKey(name)) {
          throw new IllegalArgumentException(
              "tool ["
                  + name
                  + "] needs approval but is not a tool; tools: "
                  + specifications.keySet());
        }
      }
      ModelLoop.Builder b =
          ModelLoop.builder(new Steps(model, new ArrayList<>(specifications.values())));
      b.systemPrompt(systemPrompt).maxSteps(maxSteps);
      if (dataParts != null) {
        b.dataParts(dataParts);
      }
      for (var e : executors.entrySet()) {
        var tool = new ModelTool(e.getKey(), e.getValue(), approvals.contains(e.getKey()));
        b.tool(tool);
      }
      return new LangChain4jModel(b.build());
    }
  }
}
