package dev.durablechat.cli;

import dev.durablechat.agent.AgentRuntime;
import dev.durablechat.agent.ChatAgent;
import dev.durablechat.agent.ChunkWriter;
import dev.durablechat.agent.ScriptedModel;
import dev.durablechat.agent.TurnContext;
import dev.durablechat.api.DurableChatException;
import dev.durablechat.api.Environment;
import dev.durablechat.api.JsonNumber;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoreLoader;
import dev.durablechat.core.DurableChat;
import dev.durablechat.http.HttpAdapter;
import dev.durablechat.http.SessionsServlet;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.function.Function;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ./durablechat serve}: the HTTP adapter (the sessions servlet on embedded Jetty) on
 * 127.0.0.1 over the embedded defaults (an H2 file session store and a local snapshot folder), or
 * over the stores named by {@code --store} and {@code --snapshots} (PostgreSQL and S3: several
 * {@code serve} processes on one store serve the same chats), with a scripted demo agent registered
 * as {@code demo} and a small chat page at {@code /demo/}. Runs until Ctrl-C; a shutdown hook
 * closes everything.
 */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description =
        "Serve the Sessions HTTP routes and a demo chat page on 127.0.0.1, with a scripted demo"
            + " agent [demo] on embedded defaults (H2 file + snapshot folder) or on the stores"
            + " --store and --snapshots name (several nodes may share them). Ctrl-C stops it.")
final class ServeCommand implements Callable<Integer> {
  static final String AGENT_ID = "demo";
  static final String SECRET_KEY_ENV = "DURABLECHAT_SECRET_KEY";
  static final String HOST = "127.0.0.1";
  private static final Environment ENVIRONMENT = new Environment("demo", "dev");

  @Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--port",
      paramLabel = "N",
      description = "The port to listen on, 0 for any free one (default: ${DEFAULT-VALUE}).",
      defaultValue = "8787")
  int port = 8787;

  @Option(
      names = "--host",
      paramLabel = "ADDR",
      description =
          "The address to listen on (default: ${DEFAULT-VALUE}, this machine only); 0.0.0.0"
              + " listens on every interface.",
      defaultValue = HOST)
  String host = HOST;

  @Option(
      names = "--store",
      paramLabel = "URL",
      description =
          "The session store: jdbc:postgresql://HOST:PORT/DB?user=...  or jdbc:h2:file:PATH"
              + " (default: an H2 file under --data). Nodes that share a PostgreSQL store serve"
              + " the same chats.")
  @Nullable String store;

  @Option(
      names = "--snapshots",
      paramLabel = "URL",
      description =
          "The snapshot store: file:DIR, s3://BUCKET/PREFIX?endpoint=..., or s3: configured by"
              + " the OBJECT_STORE_* environment variables (default: a folder under --data).")
  @Nullable String snapshots;

  @Option(
      names = "--secret-key",
      paramLabel = "KEY",
      description =
          "The secret key that signs session tokens and authorises the server-side routes"
              + " (default: $"
              + SECRET_KEY_ENV
              + ", else a random dev key, printed).")
  @Nullable String secretKey;

  @Option(
      names = "--allow-origin",
      paramLabel = "ORIGIN",
      description =
          "A browser origin (scheme://host[:port]) whose pages may call the Sessions routes,"
              + " besides the chat page's own; repeatable. Other origins get 403 and no CORS"
              + " grant.")
  java.util.List<String> allowOrigins = new java.util.ArrayList<>();

  @Option(
      names = "--data",
      paramLabel = "DIR",
      description =
          "Where the H2 file and the snapshot folder go (default: a temp directory, deleted when"
              + " the server stops).")
  @Nullable Path data;

  @Option(
      names = "--chunk-delay-ms",
      paramLabel = "MS",
      description =
          "The demo agent's pause before each chunk, so that replies visibly stream"
              + " (default: ${DEFAULT-VALUE}).",
      defaultValue = "40")
  int chunkDelayMs = 40;

  @Option(
      names = "--model-base-url",
      paramLabel = "URL",
      description =
          "Answer with a real model: an OpenAI-compatible chat-completions endpoint (e.g."
              + " https://api.openai.com/v1, http://localhost:11434/v1); needs --model.")
  @Nullable String modelBaseUrl;

  @Option(names = "--model", paramLabel = "NAME", description = "The model name to ask for.")
  @Nullable String model;

  @Option(
      names = "--api-key",
      paramLabel = "KEY",
      description =
          "The model endpoint's API key (default: $" + ModelAgent.OPENAI_API_KEY_ENV + ").")
  @Nullable String apiKey;

  /** Where the environment variables come from; tests replace it. */
  Function<String, @Nullable String> env = System::getenv;

  /** Completes with the server's base URI once it listens (tests wait on it). */
  final CompletableFuture<URI> started = new CompletableFuture<>();

  private final CountDownLatch stopped = new CountDownLatch(1);
  private volatile @Nullable Thread hook;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    validate();
    Key key = key();
    // A server's terminal shows its own lines; the library's info logging would bury them.
    if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
      System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    }
    boolean temp = data == null;
    Path dir = (temp ? Files.createTempDirectory("durablechat-serve-") : data).toAbsolutePath();
    Files.createDirectories(dir);
    String storeUrl = store != null ? store : "jdbc:h2:file:" + dir.resolve("chat");
    String snapshotsUrl = snapshots != null ? snapshots : "file:" + dir.resolve("snapshots");
    Served served;
    try {
      served =
          Served.start(
              storeUrl,
              snapshotsUrl,
              key.value(),
              host,
              port,
              allowOrigins,
              modelBaseUrl == null
                  ? agent(Duration.ofMillis(chunkDelayMs))
                  : ModelAgent.agent(
                      modelBaseUrl,
                      java.util.Objects.requireNonNull(model),
                      apiKey != null ? apiKey : env.apply(ModelAgent.OPENAI_API_KEY_ENV)));
    } catch (RuntimeException e) {
      if (temp) {
        deleteRecursively(dir);
      }
      if (causedBy(e, BindException.class)) {
        PrintWriter err = spec.commandLine().getErr();
        err.println(
            "durablechat serve: could not listen on ["
                + host
                + ":"
                + port
                + "]: the port is in use; choose another with --port");
        err.flush();
        return 1;
      }
      if (e instanceof DurableChatException || e instanceof IllegalArgumentException) {
        // e.g. the H2 file is held by another server on the same --data, PostgreSQL is not
        // reachable, an s3: location lacks its bucket
        PrintWriter err = spec.commandLine().getErr();
        String where =
            store == null && snapshots == null
                ? dir.toString()
                : redact(storeUrl) + "] and [" + redact(snapshotsUrl);
        err.println(
            "durablechat serve: could not start on ["
                + where
                + "]: "
                + redact(String.valueOf(e.getMessage())));
        err.flush();
        return 1;
      }
      throw e;
    }
    Thread shutdown =
        new Thread(
            () -> {
              served.close();
              if (temp) {
                deleteRecursively(dir);
              }
              stopped.countDown();
            },
            "durablechat-serve-shutdown");
    hook = shutdown;
    Runtime.getRuntime().addShutdownHook(shutdown);

    URI base = served.adapter.baseUri();
    out.println("durablechat serve: the Sessions HTTP routes and a demo chat page");
    out.println("  chat page      " + base + ChatPage.PREFIX + "/");
    out.println("  Sessions API   " + base + "/realtime/v1/sessions/{chatId}/out, /in/append");
    out.println("                 " + base + "/api/v1/sessions (agent id [" + AGENT_ID + "])");
    out.println("  secret key     " + key.value() + "  (" + key.source() + ")");
    out.println("  session store  " + redact(storeUrl));
    out.println(
        "  snapshots      "
            + redact(snapshotsUrl)
            + (temp && snapshots == null ? "  (temporary)" : ""));
    if (modelBaseUrl != null) {
      out.println("  model          [" + model + "] at " + modelBaseUrl + "  (tool word_count)");
    }
    out.println("Press Ctrl-C to stop.");
    out.flush();
    started.complete(base);

    stopped.await();
    return 0;
  }

  /**
   * Stops a server started by {@link #call()} as Ctrl-C would, and waits until it is closed (for
   * tests: it runs the shutdown hook's work here and unregisters the hook).
   */
  void stop() throws InterruptedException {
    Thread h = hook;
    if (h != null) {
      boolean mine;
      try {
        mine = Runtime.getRuntime().removeShutdownHook(h);
      } catch (IllegalStateException shuttingDown) {
        mine = false; // the JVM runs the hook itself
      }
      if (mine) {
        h.run();
      }
    }
    stopped.await();
  }

  /** What is wrong with a {@code --store} value, or null if it is a JDBC URL (serve, inspect). */
  static @Nullable String storeProblem(String store) {
    if (store.startsWith("jdbc:")) {
      return null;
    }
    return "--store ["
        + redact(store)
        + "] must be a jdbc: URL (jdbc:postgresql://... or jdbc:h2:file:...)";
  }

  /** The location without a password in it: the printed lines and errors never show one. */
  static String redact(String location) {
    return location
        .replaceAll("(?i)(password|secret|accessKey|secretKey)=[^&;]*", "$1=***")
        .replaceAll("//([^/@:]+):[^/@]*@", "//$1:***@");
  }

  private void validate() {
    if (host.isBlank()) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--host must not be blank");
    }
    String storeProblem = store == null ? null : storeProblem(store);
    if (storeProblem != null) {
      throw new CommandLine.ParameterException(spec.commandLine(), storeProblem);
    }
    if (port < 0 || port > 65535) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--port [" + port + "] is out of range, expected 0 to 65535");
    }
    if (chunkDelayMs < 0 || chunkDelayMs > 10_000) {
      throw new CommandLine.ParameterException(
          spec.commandLine(),
          "--chunk-delay-ms [" + chunkDelayMs + "] is out of range, expected 0 to 10000");
    }
    String modelProblem = ModelAgent.problem(modelBaseUrl, model);
    if (modelProblem != null) {
      throw new CommandLine.ParameterException(spec.commandLine(), modelProblem);
    }
    for (String origin : allowOrigins) {
      try {
        new java.net.URI(origin);
        if (!origin.matches("(?i)https?://[^/?#@]+")) {
          throw new java.net.URISyntaxException(origin, "not an origin");
        }
      } catch (java.net.URISyntaxException e) {
        throw new CommandLine.ParameterException(
            spec.commandLine(),
            "--allow-origin ["
                + origin
                + "] must be scheme://host[:port] (http or https, no path), e.g."
                + " https://app.example.com");
      }
    }
    if (data != null && Files.exists(data) && !Files.isDirectory(data)) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--data [" + data + "] is a file, expected a directory");
    }
  }

  /** The secret key and where it came from: the option, then the environment, then generated. */
  private Key key() {
    if (secretKey != null) {
      return new Key(checkKey(secretKey, "--secret-key"), "from --secret-key");
    }
    String fromEnv = env.apply(SECRET_KEY_ENV);
    if (fromEnv != null && !fromEnv.isEmpty()) {
      return new Key(checkKey(fromEnv, "$" + SECRET_KEY_ENV), "from $" + SECRET_KEY_ENV);
    }
    byte[] random = new byte[24];
    new SecureRandom().nextBytes(random);
    return new Key(
        "dc_dev_" + HexFormat.of().formatHex(random),
        "generated for this run; set --secret-key or $" + SECRET_KEY_ENV + " to keep one");
  }

  private String checkKey(String key, String name) {
    if (key.isBlank() || !key.strip().equals(key) || key.chars().anyMatch(c -> c < 0x21)) {
      // The key travels as a Bearer header value: no spaces or control characters.
      throw new CommandLine.ParameterException(
          spec.commandLine(),
          name + " must be a non-blank key without spaces or control characters");
    }
    int bytes = key.getBytes(StandardCharsets.UTF_8).length;
    if (bytes < SessionsServlet.MIN_SECRET_KEY_BYTES) {
      // Its length and how to make a good one, never the key itself.
      throw new CommandLine.ParameterException(
          spec.commandLine(),
          name
              + " is too short to sign tokens safely: ["
              + bytes
              + "] bytes, expected at least ["
              + SessionsServlet.MIN_SECRET_KEY_BYTES
              + "]; make one with `openssl rand -base64 32`");
    }
    return key;
  }

  private record Key(String value, String source) {}

  private static boolean causedBy(Throwable e, Class<? extends Throwable> type) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (type.isInstance(t)) {
        return true;
      }
    }
    return false;
  }

  /** Everything the server opened, closed in reverse order. */
  static final class Served implements AutoCloseable {
    final SessionStore store;
    final SnapshotStore snapshots;
    final DurableChat chat;
    final AgentRuntime runtime;
    final HttpAdapter adapter;

    private Served(
        SessionStore store,
        SnapshotStore snapshots,
        DurableChat chat,
        AgentRuntime runtime,
        HttpAdapter adapter) {
      this.store = store;
      this.snapshots = snapshots;
      this.chat = chat;
      this.runtime = runtime;
      this.adapter = adapter;
    }

    static Served start(
        String storeUrl,
        String snapshotsUrl,
        String secretKey,
        String host,
        int port,
        java.util.List<String> allowOrigins,
        ChatAgent<JsonValue> agent) {
      // H2 closes its databases in a JVM shutdown hook of its own, which would race ours on
      // Ctrl-C: ours closes the store after the runs have ended.
      String location =
          storeUrl.startsWith("jdbc:h2:")
                  && !storeUrl.toUpperCase(java.util.Locale.ROOT).contains("DB_CLOSE_ON_EXIT")
              ? storeUrl + ";DB_CLOSE_ON_EXIT=FALSE"
              : storeUrl;
      SessionStore store = StoreLoader.openSessionStore(location);
      SnapshotStore snapshots = null;
      DurableChat chat = null;
      AgentRuntime runtime = null;
      try {
        snapshots = StoreLoader.openSnapshotStore(snapshotsUrl);
        chat =
            DurableChat.builder()
                .environment(ENVIRONMENT)
                .sessionStore(store)
                .snapshotStore(snapshots)
                .build();
        runtime = AgentRuntime.builder(chat).register(agent).build();
        ChatPage page = new ChatPage(runtime, AGENT_ID);
        HttpAdapter adapter =
            HttpAdapter.builder(runtime)
                .host(host)
                .port(port)
                .secretKeys(secretKey)
                .allowedOrigins(allowOrigins.toArray(String[]::new))
                .route(ChatPage.PREFIX, page)
                .start();
        page.attach(adapter.servlet());
        return new Served(store, snapshots, chat, runtime, adapter);
      } catch (RuntimeException e) {
        if (runtime != null) {
          runtime.close();
        }
        if (chat != null) {
          chat.close();
        }
        if (snapshots != null) {
          snapshots.close();
        }
        store.close();
        throw e;
      }
    }

    @Override
    public void close() {
      adapter.close();
      runtime.close();
      chat.close();
      snapshots.close();
      store.close();
    }
  }

  /**
   * The demo agent: for each user message it thinks aloud, calls a {@code word_count} tool (its
   * input and output show on the page), then streams {@link #replyText} word by word.
   */
  static ChatAgent<JsonValue> agent(Duration chunkDelay) {
    return ChatAgent.builder(AGENT_ID).run((turn, out) -> answer(turn, out, chunkDelay)).build();
  }

  private static void answer(TurnContext<JsonValue> turn, ChunkWriter out, Duration chunkDelay) {
    UIMessage m = turn.message();
    if (m == null) {
      return;
    }
    String text = m.text();
    ScriptedModel.builder()
        .reasoning("The user wrote something; count its words with the tool, then answer.")
        .toolCall(
            "word_count",
            JsonObject.builder().put("text", text).build(),
            JsonObject.builder()
                .put("words", JsonNumber.of(wordCount(text)))
                .put("characters", JsonNumber.of(text.codePointCount(0, text.length())))
                .build())
        .text(replyText(text))
        .chunkDelay(chunkDelay)
        .build()
        .play(out);
  }

  /** What the demo agent answers to a user message: the same text every time for the same input. */
  static String replyText(String userText) {
    int words = wordCount(userText);
    return "You wrote "
        + words
        + (words == 1 ? " word" : " words")
        + ", as the word_count tool counted. This reply streams one word at a time from the"
        + " session's out stream. Reload the page in the middle of it: the page resumes from the"
        + " last event id it saw, so no word is shown twice and none is lost. Every message of"
        + " this chat lives in the session's in and out streams, rebuilt on demand.";
  }

  static int wordCount(String text) {
    String stripped = text.strip();
    return stripped.isEmpty() ? 0 : stripped.split("\\s+").length;
  }

  private static void deleteRecursively(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException("could not delete [" + dir + "]", e);
    }
  }
}
