package dev.durablechat.cli;

import dev.durablechat.agent.AgentChat;
import dev.durablechat.agent.AgentRuntime;
import dev.durablechat.agent.ChatAgent;
import dev.durablechat.agent.ChunkWriter;
import dev.durablechat.agent.Reply;
import dev.durablechat.agent.ScriptedModel;
import dev.durablechat.agent.TurnContext;
import dev.durablechat.api.DurableChatException;
import dev.durablechat.api.Environment;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.api.WirePayload;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoreLoader;
import dev.durablechat.api.spi.StoredSnapshot;
import dev.durablechat.core.ChatHistory;
import dev.durablechat.core.DurableChat;
import dev.durablechat.core.fold.ChunkFold;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ./durablechat demo}: a tool-using chat of {@code --turns} user messages played by the
 * agent runtime on the embedded defaults (an H2 file session store and a local snapshot folder),
 * with an idle-out and its continuation run, and a simulated crash mid-reply recovered by a new
 * "process" on the same files. Prints one line per turn and a summary table.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description =
        "Play a tool-using chat on embedded defaults (H2 file + snapshot folder), with an idle-out"
            + " and a simulated crash, and print what happened.")
final class DemoCommand implements Callable<Integer> {
  static final int GOAL_BYTES = 5 * 1024;
  static final int CAP_BYTES = 512 * 1024;
  private static final String AGENT_ID = "demo-agent";
  private static final Duration IDLE = Duration.ofMillis(300);
  private static final Duration WAIT = Duration.ofSeconds(15);
  // The run lease: a dead process's session is taken over this long after its last renewal.
  private static final Duration LEASE = Duration.ofSeconds(1);
  private static final Environment ENVIRONMENT = new Environment("demo", "dev");

  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--data",
      paramLabel = "DIR",
      description =
          "Where the H2 file and the snapshot folder go (default: a temp directory,"
              + " deleted at the end).")
  @Nullable Path data;

  @Option(
      names = "--turns",
      paramLabel = "N",
      description = "User messages to send, at least 5 (default: ${DEFAULT-VALUE}).",
      defaultValue = "40")
  int turns = 40;

  // What the agents saw, shared by both "processes".
  private final Map<String, Boot> boots = new ConcurrentHashMap<>();
  private final Map<String, TurnSeen> turnsSeen = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> answers = new ConcurrentHashMap<>();
  private final AtomicInteger snapshotsWritten = new AtomicInteger();
  private volatile @Nullable String crashMessageId;
  private final CountDownLatch crashGate = new CountDownLatch(1);
  private final CountDownLatch crashPartialWritten = new CountDownLatch(1);

  /** A run's boot: its reason, and how long rebuilding its history took. */
  private record Boot(String reason, double rebuildMs, List<UIMessage> history, String source) {}

  /** Which run answered a message. */
  private record TurnSeen(String runId, String reason) {}

  /** One "process": the stores, the engine and the agent runtime on the demo's data directory. */
  private final class Engine implements AutoCloseable {
    final SessionStore store;
    final SnapshotStore snapshots;
    final DurableChat chat;
    final AgentRuntime runtime;
    final String name;

    Engine(Path dir, String name) {
      this.name = name;
      this.store = StoreLoader.openSessionStore("jdbc:h2:file:" + dir.resolve("chat"));
      this.snapshots =
          new CountingSnapshotStore(
              StoreLoader.openSnapshotStore("file:" + dir.resolve("snapshots")), snapshotsWritten);
      this.chat =
          DurableChat.builder()
              .environment(ENVIRONMENT)
              .sessionStore(store)
              .snapshotStore(snapshots)
              .build();
      this.runtime =
          AgentRuntime.builder(chat).leaseDuration(LEASE).register(agent(chat, name)).build();
    }

    @Override
    public void close() {
      runtime.close();
      chat.close();
      snapshots.close();
      store.close();
    }
  }

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (turns < 5) {
      throw new picocli.CommandLine.ParameterException(
          spec.commandLine(), "--turns [" + turns + "] is too small, expected at least 5");
    }
    // Progress goes to the terminal; the library's warnings (the takeover, the fenced dead run)
    // would tear the lines, and the demo prints what they say itself.
    if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
      System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "error");
    }
    boolean temp = data == null;
    Path dir = temp ? Files.createTempDirectory("durablechat-demo-") : data;
    Files.createDirectories(dir);
    try {
      return play(out, dir.toAbsolutePath());
    } finally {
      if (temp) {
        deleteRecursively(dir);
      }
    }
  }

  private int play(PrintWriter out, Path dir) throws Exception {
    Play play = new Play(out, dir);
    play.header();
    try {
      for (int turn = 1; turn <= turns; turn++) {
        if (turn == play.crashAt) {
          turn = play.crashTurn(turn);
        } else {
          String runId = play.turn(turn);
          if (turn == play.idleAfter) {
            turn = play.idleOut(turn, runId);
          }
        }
      }
      return play.finish();
    } finally {
      crashGate.countDown();
      play.engine.close();
    }
  }

  /**
   * One play of the demo: the scenario (which turn pauses, which crashes), the "process" serving
   * it, and what the client saw. Each step prints its lines and records what the final check and
   * the summary need.
   */
  private final class Play {
    final PrintWriter out;
    final Path dir;
    final boolean live = System.console() != null;
    final String chatId = "demo-" + UUID.randomUUID().toString().substring(0, 8);
    final int idleAfter = turns / 2;
    final int crashAt = Math.min(turns - 1, Math.max(idleAfter + 2, turns * 3 / 4));
    final List<Integer> bodySizes = new ArrayList<>();
    final List<UIMessage> transcript = new ArrayList<>();
    boolean continuationIntact;
    boolean crashRecovered;
    Engine engine;
    AgentChat client;

    Play(PrintWriter out, Path dir) {
      this.out = out;
      this.dir = dir;
      this.engine = new Engine(dir, "process-1");
      this.client = client(engine, chatId);
    }

    void header() {
      out.println("durablechat demo: " + turns + " turns of a tool-using chat [" + chatId + "]");
      out.println("  session store  jdbc:h2:file:" + dir.resolve("chat"));
      out.println("  snapshots      file:" + dir.resolve("snapshots"));
      out.println(
          "  idle timeout "
              + IDLE.toMillis()
              + " ms: a pause after turn "
              + idleAfter
              + "; the process dies in the middle of turn "
              + crashAt);
      out.println();
      out.println(
          String.format(
              "%4s  %15s  %-24s  %-12s  %10s  %s",
              "turn", "in/append bytes", "run", "reason", "rebuild ms", "reply"));
      out.flush();
    }

    /** A user message of the turn, counted and put in the transcript. */
    private UIMessage message(int turn) {
      UIMessage message = userMessage(turn);
      bodySizes.add(bodyBytes(chatId, message));
      transcript.add(message);
      return message;
    }

    private int lastBodyBytes() {
      return bodySizes.get(bodySizes.size() - 1);
    }

    /** An ordinary turn: the message, its reply, one line. Returns the run that answered. */
    String turn(int turn) {
      UIMessage message = message(turn);
      Reply reply = client.sendMessage(message);
      List<UIMessage> answered = reply.messages(WAIT);
      transcript.addAll(answered);
      TurnSeen seen = turnsSeen.get(message.id());
      Boot boot = firstTurnOfRun(seen.runId(), message.id()) ? boots.get(seen.runId()) : null;
      line(
          out,
          live,
          turn,
          turns,
          lastBodyBytes(),
          seen.runId(),
          seen.reason(),
          boot == null ? "-" : String.format("%.1f", boot.rebuildMs()),
          answered.isEmpty() ? "0" : answered.get(answered.size() - 1).text().length() + "");
      return seen.runId();
    }

    /**
     * After the turn: no message for the idle timeout, so the run ends (L3); the next message boots
     * a continuation that must rebuild the same history. Returns the last turn played.
     */
    int idleOut(int turn, String idleRun) throws InterruptedException {
      DurableChat idleChat = engine.chat;
      waitFor(() -> !isRunning(idleChat, chatId, idleRun));
      note(
          out,
          live,
          "      idle: no message for "
              + IDLE.toMillis()
              + " ms, run "
              + idleRun
              + " ended ("
              + endReason(engine.chat, chatId, idleRun)
              + "); the next message boots a continuation");
      List<UIMessage> before = List.copyOf(transcript);
      UIMessage resume = message(++turn);
      Reply resumed = client.sendMessage(resume);
      List<UIMessage> resumedAnswer = resumed.messages(WAIT);
      transcript.addAll(resumedAnswer);
      TurnSeen resumedSeen = turnsSeen.get(resume.id());
      Boot resumedBoot = boots.get(resumedSeen.runId());
      line(
          out,
          live,
          turn,
          turns,
          lastBodyBytes(),
          resumedSeen.runId(),
          resumedSeen.reason(),
          String.format("%.1f", resumedBoot.rebuildMs()),
          resumedAnswer.get(resumedAnswer.size() - 1).text().length() + "");
      continuationIntact =
          resumedSeen.reason().equals("continuation")
              && sameMessages(resumedBoot.history(), before);
      note(
          out,
          live,
          "      continuation: rebuilt "
              + resumedBoot.history().size()
              + " messages ("
              + resumedBoot.source()
              + "), equal to the history before the pause: "
              + yes(continuationIntact));
      return turn;
    }

    /**
     * The process dies mid-reply; a new process on the same files takes the session over once the
     * dead run's lease expired, answers the unanswered message once and then the next one, from a
     * history ending on the cleaned partial reply (H4). Returns the last turn played.
     */
    int crashTurn(int turn) throws InterruptedException {
      UIMessage message = message(turn);
      int bytes = lastBodyBytes();
      crashMessageId = message.id();
      Reply reply = client.sendMessage(message);
      UIMessage partial = readPartial(reply);
      transcript.add(partial);
      TurnSeen crashed = turnsSeen.get(message.id());
      String deadRun = crashed.runId();
      line(
          out,
          live,
          turn,
          turns,
          bytes,
          deadRun,
          crashed.reason(),
          "-",
          "process killed mid-reply");
      note(
          out,
          live,
          "      crash: "
              + engine.name
              + " stops dead after writing \""
              + partial.text()
              + "\"; run "
              + deadRun
              + " is left running in the store");
      // The process dies: it renews its run's lease no more (its runtime stops, on a thread of
      // its own since the dead turn never returns). A new process on the same H2 file and
      // snapshot folder takes the session over once that lease has expired.
      Engine dead = engine;
      Thread dies = new Thread(dead.runtime::close, "demo-process-1-dies");
      dies.setDaemon(true);
      dies.start();
      engine = new Engine(dir, "process-2");
      client = client(engine, chatId);
      turn++;
      UIMessage next = userMessage(turn);
      bodySizes.add(bodyBytes(chatId, next));
      int nextBytes = lastBodyBytes();
      Reply recovered = client.sendMessage(next);
      List<UIMessage> answered = recovered.messages(WAIT);
      // The recovery answers the unanswered message first, then the new one.
      transcript.addAll(answered.subList(0, answered.size() - 1));
      transcript.add(next);
      transcript.add(answered.get(answered.size() - 1));
      TurnSeen seen = turnsSeen.get(next.id());
      Boot boot = boots.get(seen.runId());
      line(
          out,
          live,
          turn,
          turns,
          nextBytes,
          seen.runId(),
          seen.reason(),
          String.format("%.1f", boot.rebuildMs()),
          answered.get(answered.size() - 1).text().length() + "");
      // onTurnComplete runs just after the turn-complete record the reply ended on.
      awaitQuietly(() -> answers.containsKey(next.id()));
      boolean partialCleaned =
          boot.history().stream().anyMatch(m -> m.id().equals(partial.id()))
              && boot.history().get(boot.history().size() - 1).id().equals(partial.id());
      crashRecovered =
          seen.reason().equals("continuation")
              && answeredOnce(message.id())
              && answeredOnce(next.id())
              && partialCleaned;
      note(
          out,
          live,
          "      recovery: "
              + engine.name
              + " took over (after the dead run's "
              + LEASE.toMillis()
              + " ms lease) with run "
              + seen.runId()
              + " (continuation), rebuilt "
              + boot.history().size()
              + " messages ("
              + boot.source()
              + ") ending on the cleaned partial reply (H4), answered turn "
              + crashAt
              + " once and turn "
              + turn
              + " once: "
              + yes(crashRecovered));
      // Let the dead process's thread go: its writes are fenced (invariant 6).
      crashGate.countDown();
      dead.close();
      return turn;
    }

    /**
     * The final check (a cold rebuild equals what the client saw, each message once), the summary.
     */
    int finish() throws InterruptedException {
      if (live) {
        out.print("\r\033[K");
      }
      awaitQuietly(() -> answers.size() >= turns);
      ChatHistory.Rebuilt last = engine.chat.history().rebuild(chatId);
      boolean historyIntact = sameMessages(last.messages(), transcript);
      boolean answeredOnce =
          answers.values().stream().allMatch(count -> count.get() == 1) && answers.size() == turns;
      List<SessionRun> runs = engine.chat.runs(chatId);
      out.println();
      summary(
              out,
              bodySizes,
              runs,
              continuationIntact,
              crashRecovered,
              historyIntact && answeredOnce,
              last.messages().size())
          .print(out);
      out.flush();
      return continuationIntact && crashRecovered && historyIntact && answeredOnce ? 0 : 1;
    }
  }

  private Table summary(
      PrintWriter out,
      List<Integer> bodySizes,
      List<SessionRun> runs,
      boolean continuationIntact,
      boolean crashRecovered,
      boolean historyIntact,
      int messages) {
    List<Integer> sorted = bodySizes.stream().sorted().toList();
    int max = sorted.get(sorted.size() - 1);
    int median = sorted.get(sorted.size() / 2);
    Map<String, Integer> byReason = new TreeMap<>();
    for (SessionRun run : runs) {
      byReason.merge(run.reason().wireName(), 1, Integer::sum);
    }
    StringBuilder reasons = new StringBuilder();
    byReason.forEach(
        (reason, count) ->
            reasons.append(reasons.length() == 0 ? "" : ", ").append(reason + " " + count));
    out.println("summary");
    return new Table("check", "value")
        .row("turns", bodySizes.size())
        .row(
            "in/append body max / median",
            max + " B / " + median + " B (goal < " + GOAL_BYTES + " B, cap " + CAP_BYTES + " B)")
        .row("bodies under the 5 KB goal", yes(max < GOAL_BYTES))
        .row("runs by reason", runs.size() + ": " + reasons)
        .row("snapshots written", snapshotsWritten.get())
        .row("idle-out continuation intact", yes(continuationIntact))
        .row("crash recovered", yes(crashRecovered))
        .row(
            "history intact",
            yes(historyIntact) + " (" + messages + " messages, each answered once)");
  }

  private AgentChat client(Engine engine, String chatId) {
    return AgentChat.builder(engine.runtime, AGENT_ID).chatId(chatId).build();
  }

  private ChatAgent<JsonValue> agent(DurableChat chat, String process) {
    ChatHistory probe = chat.history();
    return ChatAgent.builder(AGENT_ID)
        .idleTimeout(IDLE)
        .onBoot(
            boot -> {
              // Time the same rebuild the run just did at its boot (snapshot + out tail).
              long start = System.nanoTime();
              ChatHistory.Rebuilt rebuilt = probe.rebuild(boot.sessionId());
              double ms = (System.nanoTime() - start) / 1e6;
              var source = rebuilt.source();
              String from =
                  source.fromSnapshot()
                      ? "snapshot at out " + source.snapshotOutEventId() + " + "
                      : "no snapshot, ";
              boots.put(
                  boot.runId(),
                  new Boot(
                      boot.reason().wireName(),
                      ms,
                      rebuilt.messages(),
                      from
                          + source.outRecordsReplayed()
                          + " out records replayed"
                          + (rebuilt.partialReply() ? ", partial reply cleaned" : "")));
            })
        .onTurnComplete(
            turn -> {
              UIMessage m = turn.message();
              if (m != null) {
                answers.computeIfAbsent(m.id(), k -> new AtomicInteger()).incrementAndGet();
              }
            })
        .run((turn, out) -> answer(turn, out, process))
        .build();
  }

  private void answer(TurnContext<JsonValue> turn, ChunkWriter out, String process)
      throws InterruptedException {
    UIMessage m = turn.message();
    if (m == null) {
      return;
    }
    turnsSeen.put(m.id(), new TurnSeen(turn.runId(), turn.runReason().wireName()));
    if (m.id().equals(crashMessageId) && process.equals("process-1")) {
      // The process dies here: half a reply is in out, then nothing more from this run.
      String id = out.textStart();
      out.textDelta(id, "Let me look that up");
      out.flush();
      crashPartialWritten.countDown();
      crashGate.await(60, TimeUnit.SECONDS);
      return;
    }
    int n = turn.messages().size();
    String topic = m.text();
    ScriptedModel.builder()
        .reasoning("The user asks about " + topic + "; search the notes first.")
        .toolCall(
            "search_notes",
            Json.parse("{\"query\":\"" + topic + "\",\"limit\":3}"),
            Json.parse(
                "{\"hits\":[{\"title\":\""
                    + topic
                    + "\",\"score\":0.92},"
                    + "{\"title\":\"durable history\",\"score\":0.71}]}"))
        .text(
            "On "
                + topic
                + ": the notes have two hits. This chat now holds "
                + n
                + " messages, rebuilt from a snapshot plus the out tail whenever a run boots.")
        .chunkDelay(Duration.ofMillis(1))
        .build()
        .play(out);
  }

  private UIMessage readPartial(Reply reply) throws InterruptedException {
    if (!crashPartialWritten.await(WAIT.toSeconds(), TimeUnit.SECONDS)) {
      throw new DurableChatException("the crash turn wrote no partial reply within [" + WAIT + "]");
    }
    List<UIMessageChunk> chunks = new ArrayList<>();
    while (chunks.stream().noneMatch(c -> c.type().equals("text-delta"))) {
      Optional<StreamRecord<OutEvent>> r = reply.next(WAIT);
      if (r.isPresent() && r.get().event() instanceof OutEvent.Chunk c) {
        chunks.add(c.chunk());
      }
    }
    reply.close();
    List<UIMessage> folded = ChunkFold.foldTail(chunks);
    return folded.get(folded.size() - 1);
  }

  private static UIMessage userMessage(int turn) {
    String[] topics = {
      "snapshots",
      "the in stream",
      "run reasons",
      "fencing",
      "idle timeouts",
      "tool calls",
      "retention",
      "the out tail"
    };
    return UIMessage.userText(
        "m-" + turn, "Question " + turn + ": how do " + topics[turn % topics.length] + " work?");
  }

  /** The size of the {@code in/append} body that carries the message: the encoded in event. */
  private static int bodyBytes(String chatId, UIMessage message) {
    return new InEvent.Message(WirePayload.submit(chatId, message))
        .toJson()
        .toString()
        .getBytes(StandardCharsets.UTF_8)
        .length;
  }

  private boolean firstTurnOfRun(String runId, String messageId) {
    return turnsSeen.entrySet().stream()
        .filter(e -> e.getValue().runId().equals(runId))
        .map(Map.Entry::getKey)
        .min(Comparator.comparingInt(DemoCommand::turnOf))
        .map(messageId::equals)
        .orElse(false);
  }

  private static int turnOf(String messageId) {
    return Integer.parseInt(messageId.substring(messageId.lastIndexOf('-') + 1));
  }

  /** Same ids, roles and texts in the same order. */
  static boolean sameMessages(List<UIMessage> a, List<UIMessage> b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (int i = 0; i < a.size(); i++) {
      UIMessage x = a.get(i);
      UIMessage y = b.get(i);
      if (!x.id().equals(y.id()) || !x.role().equals(y.role()) || !x.text().equals(y.text())) {
        return false;
      }
    }
    return true;
  }

  private boolean answeredOnce(String messageId) {
    AtomicInteger count = answers.get(messageId);
    return count != null && count.get() == 1;
  }

  /** Waits up to {@link #WAIT} for the condition; the caller checks the outcome itself. */
  private static void awaitQuietly(java.util.function.BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
  }

  private static boolean isRunning(DurableChat chat, String chatId, String runId) {
    return chat.runs(chatId).stream().anyMatch(r -> r.runId().equals(runId) && r.isRunning());
  }

  private static String endReason(DurableChat chat, String chatId, String runId) {
    return chat.runs(chatId).stream()
        .filter(r -> r.runId().equals(runId))
        .map(r -> String.valueOf(r.endReason()))
        .findFirst()
        .orElse("?");
  }

  private static void waitFor(java.util.function.BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new DurableChatException("the demo timed out after [" + WAIT + "]");
      }
      Thread.sleep(10);
    }
  }

  private static void line(
      PrintWriter out,
      boolean live,
      int turn,
      int turns,
      int bytes,
      @Nullable String runId,
      String reason,
      String rebuildMs,
      String reply) {
    if (live) {
      out.print("\r\033[K");
    }
    out.println(
        String.format(
            "%4d  %15d  %-24s  %-12s  %10s  %s",
            turn, bytes, runId == null ? "-" : runId, reason, rebuildMs, reply));
    if (live) {
      int width = 30;
      int done = width * turn / turns;
      out.print(
          "[" + "#".repeat(done) + " ".repeat(width - done) + "] " + turn + "/" + turns + " turns");
    }
    out.flush();
  }

  /** A note under a turn's line; on a terminal it first clears the progress bar. */
  private static void note(PrintWriter out, boolean live, String text) {
    if (live) {
      out.print("\r\033[K");
    }
    out.println(text);
  }

  private static String yes(boolean value) {
    return value ? "yes" : "NO";
  }

  private static void deleteRecursively(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException("could not delete [" + dir + "]", e);
    }
  }

  /**
   * Counts the snapshots written through it: the writes of {@code snapshot.json} (one per turn),
   * not of the segments a manifest names (H1).
   */
  private static final class CountingSnapshotStore implements SnapshotStore {
    private final SnapshotStore delegate;
    private final AtomicInteger written;

    CountingSnapshotStore(SnapshotStore delegate, AtomicInteger written) {
      this.delegate = delegate;
      this.written = written;
    }

    @Override
    public Optional<StoredSnapshot> read(SnapshotKey key) {
      return delegate.read(key);
    }

    @Override
    public String write(SnapshotKey key, byte[] content, @Nullable String expectedVersion) {
      String version = delegate.write(key, content, expectedVersion);
      if (!key.isSegment()) {
        written.incrementAndGet();
      }
      return version;
    }

    @Override
    public boolean delete(SnapshotKey key) {
      return delegate.delete(key);
    }

    @Override
    public void close() {
      delegate.close();
    }
  }
}
