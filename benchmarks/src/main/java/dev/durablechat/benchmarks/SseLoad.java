package dev.durablechat.benchmarks;

import dev.durablechat.agent.AgentRuntime;
import dev.durablechat.agent.ChatAgent;
import dev.durablechat.api.Environment;
import dev.durablechat.core.DurableChat;
import dev.durablechat.http.HttpAdapter;
import dev.durablechat.storage.memory.MemorySessionStore;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * SSE scale and latency of {@code serve}'s HTTP binding (the sessions servlet on embedded Jetty),
 * measured from outside, over loopback. Not JMH, not a unit test: a main that prints figures.
 *
 * <p>The server runs in a child JVM ({@code -Xmx1g}: the heap cap is the claim), on the memory
 * store, with an agent {@code load} that answers {@code chunks:N:MS} with N text deltas MS apart,
 * each carrying {@code t=<System.nanoTime()>} taken just before it is written. {@code nanoTime} is
 * the system's monotonic clock on Linux, shared by both processes, so the client subtracts it from
 * its own read time. The same child runs a bare Jetty SSE echo (an async servlet that writes a
 * frame of the same size to its subscribers with the same non-blocking writes, spread over as many
 * writer threads) for the baseline. Both producers run on fixed-rate slots ({@link Pacer}) and
 * stamp each frame with its slot's time, so a producer that falls behind is charged for it.
 *
 * <ol>
 *   <li>{@code connect}: N readers (default 10,000) open {@code out} of one session at once; the
 *       time until every one has its {@code 200}.
 *   <li>{@code fan-out}: 20 chunks, 200 ms apart; for each chunk and reader, the time from the
 *       agent's write to the reader's read: p50/p99/max over all of them. Before it, two warm-up
 *       turns of 5 chunks, each followed by a wait for the JIT to go quiet; the echo's fan-out gets
 *       the same.
 *   <li>{@code floor}: the same fan-out from a raw NIO server in the child ({@link RawEcho}: one
 *       non-blocking socket write per reader and frame, no Jetty): the floor that the machine's
 *       loopback and the readers on the same cores set for any server.
 *   <li>{@code single}: one reader of another session, 200 chunks 20 ms apart, against one reader
 *       of the echo, 200 frames 20 ms apart; ten rounds each, interleaved, p50 per round printed.
 *   <li>{@code heap}: the child's heap after a GC with every reader connected, and the peak.
 * </ol>
 *
 * <pre>
 * ulimit -n 20000   # each process holds one socket per reader, plus the JDK's own
 * java -cp benchmarks/target/benchmarks.jar dev.durablechat.benchmarks.SseLoad [readers]
 * </pre>
 */
public final class SseLoad {
  private static final String SECRET = "bench_secret_key";
  private static final int FANOUT_CHUNKS = 20;
  private static final int FANOUT_INTERVAL_MS = 200;
  private static final int WARMUP_CHUNKS = 5;

  /**
   * Chunks of the single-reader phase's first warm-up, a flood. 30,000: with 5,000, the tiered JIT
   * compiled parts of our path with C2 (ChunkFold.accept, DurableChat.appendOut, ...) only during
   * the measured rounds, which ran on the slower profiled code until then ({@code
   * -Xlog:jit+compilation}).
   */
  private static final int SINGLE_WARMUP = Integer.getInteger("sseload.singleWarmup", 30_000);

  /** Warm-up rounds shaped like the measured ones (0: only the flood, as before 1 Dec 2026). */
  private static final int SINGLE_WARMUP_ROUNDS =
      Integer.getInteger("sseload.singleWarmupRounds", 3);

  /**
   * Chunks per warm-up round, paced like the measured ones: at 1 ms apart (before 2 Dec 2026) a
   * thread seldom parked between chunks, and the measured rounds' branches (a parked thread woken,
   * an idle lane) then threw C2 code away during them (Tail.signal, LiveTails.append,
   * OutStreams.onLane made not entrant at level 4).
   */
  private static final int SINGLE_WARMUP_ROUND_CHUNKS =
      Integer.getInteger("sseload.singleWarmupRoundChunks", 150);

  private static final int SINGLE_CHUNKS = 200;

  /**
   * Measured rounds of the single-reader phase. Ten, not two: a round's p50 moves by up to 2x on
   * either side from one round to the next, in the same run (0.11 to 0.30 ms ours, 0.07 to 0.18 ms
   * the echo's), so the ratio of two rounds each went from 1.35x to 2.09x between runs.
   */
  private static final int SINGLE_ROUNDS = 10;

  private static final int SINGLE_INTERVAL_MS = 20;

  /** {@code -Dsseload.perChunk=true}: also the latencies of each chunk of a fan-out, by chunk. */
  private static final boolean PER_CHUNK = Boolean.getBoolean("sseload.perChunk");

  private SseLoad() {}

  /** Readers of the {@code --smoke} run's fan-outs. */
  private static final int SMOKE_READERS = 50;

  /**
   * {@code SseLoad [readers]} drives every phase; {@code SseLoad --single [rounds]} only the
   * single-reader phase (P5), with that many interleaved rounds (default {@value #SINGLE_ROUNDS});
   * {@code SseLoad --smoke} every phase at a size that only shows the harness works (CI runs it;
   * its figures are not results); {@code SseLoad server} is the child. A phase whose readers do not
   * all connect, or do not all get every frame, ends the run with an exception.
   */
  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("server")) {
      Child.run();
      return;
    }
    if (args.length > 0 && args[0].equals("--single")) {
      int rounds = args.length > 1 ? Integer.parseInt(args[1]) : SINGLE_ROUNDS;
      if (rounds < 1) {
        throw new IllegalArgumentException("--single needs at least 1 round, got [" + rounds + "]");
      }
      new Driver(0, rounds, false).run();
      return;
    }
    if (args.length > 0 && args[0].equals("--smoke")) {
      new Driver(SMOKE_READERS, 1, true).run();
      return;
    }
    int readers = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
    if (readers < 1) {
      throw new IllegalArgumentException("readers must be at least 1, got [" + readers + "]");
    }
    new Driver(readers, SINGLE_ROUNDS, false).run();
  }

  // ------------------------------------------------------------------ the driver

  private static final class Driver {
    final int readers;
    final int singleRounds;
    final boolean smoke;
    final int singleWarmup;
    final int singleWarmupRounds;
    final PrintStream out = System.out;
    Process child;
    BufferedReader childOut;
    PrintStream childIn;
    URI base;
    URI echo;
    URI raw;

    /**
     * {@code readers} 0: the single-reader phase only; {@code smoke}: short warm-ups, 1 s pings.
     */
    Driver(int readers, int singleRounds, boolean smoke) {
      this.readers = readers;
      this.singleRounds = singleRounds;
      this.smoke = smoke;
      this.singleWarmup = smoke ? 200 : SINGLE_WARMUP;
      this.singleWarmupRounds = smoke ? 1 : SINGLE_WARMUP_ROUNDS;
    }

    void run() throws Exception {
      out.printf(
          Locale.ROOT,
          readers > 0
              ? "SseLoad"
                  + (smoke ? " --smoke (not results)" : "")
                  + ": %d readers; load average %s%n"
              : "SseLoad --single%s; load average %s%n",
          readers > 0 ? readers : " (" + singleRounds + " rounds)",
          loadAverage());
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      // The heap touched up front: otherwise the first phase pays the page faults of fresh heap
      // pages (kernel time) and the phases after it do not.
      var command = new ArrayList<String>(List.of(java, "-Xmx1g", "-Xms1g", "-XX:+AlwaysPreTouch"));
      // Extra options for the server child only (e.g. a JFR recording while profiling).
      String extra = System.getenv("SSELOAD_SERVER_JAVA_OPTS");
      if (extra != null && !extra.isBlank()) {
        command.addAll(List.of(extra.trim().split("\\s+")));
      }
      if (smoke) {
        // The disconnect phase waits for the server to learn that every reader left, which takes
        // up to two ping intervals: short ones here.
        command.add("-Dsseload.pingMillis=1000");
      }
      command.addAll(
          List.of("-cp", System.getProperty("java.class.path"), SseLoad.class.getName(), "server"));
      child = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
      childOut =
          new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
      childIn = new PrintStream(child.getOutputStream(), true, StandardCharsets.UTF_8);
      try {
        String[] ports = expect("ports").split(" ");
        base = URI.create("http://127.0.0.1:" + ports[1]);
        echo = URI.create("http://127.0.0.1:" + ports[2]);
        raw = URI.create("http://127.0.0.1:" + ports[3]);
        measure();
      } finally {
        childIn.println("quit");
        if (!child.waitFor(10, TimeUnit.SECONDS)) {
          child.destroyForcibly();
        }
      }
    }

    private String expect(String prefix) throws IOException {
      String line;
      while ((line = childOut.readLine()) != null) {
        if (line.startsWith(prefix + " ")) {
          return line;
        }
        out.println("  child: " + line);
      }
      throw new IllegalStateException("the server child exited");
    }

    private void measure() throws Exception {
      HttpClient http = HttpClient.newHttpClient();
      create(http, "fan");
      create(http, "single");
      if (readers > 0) {
        fanOut(http);
      }
      single(http);
    }

    /** Phases 1, 2, 2b and 4: connect, fan-out, the echo's fan-out, disconnect. */
    private void fanOut(HttpClient http) throws Exception {
      // 1. connect
      var fan = new Readers(base, "/realtime/v1/sessions/fan/out", readers, 2);
      long start = System.nanoTime();
      fan.connect();
      boolean all = fan.awaitOk(Duration.ofSeconds(60));
      long connectNanos = System.nanoTime() - start;
      out.printf(
          Locale.ROOT,
          "connect: %d of %d readers had 200 after %.2f s (target: all within 10 s)%s%n",
          fan.ok.get(),
          readers,
          connectNanos / 1e9,
          all ? "" : "  FAILED: " + fan.failed.get() + " failed");
      if (!all) {
        throw new IllegalStateException(
            "connect: " + fan.ok.get() + " of " + readers + " readers had their 200 within 60 s");
      }

      childIn.println("heap");
      out.println("heap (all readers connected): " + expect("heap").substring(5));

      // 2. fan-out
      // A warm-up turn first (its samples dropped): the JIT compiles the write path here, not
      // inside the measured chunks (C2 took a quarter of the server's CPU in a cold fan-out).
      for (int round = 0; round < 2; round++) {
        append(http, "fan", "chunks:" + WARMUP_CHUNKS + ":" + FANOUT_INTERVAL_MS);
        fan.awaitSamples((long) WARMUP_CHUNKS * readers, Duration.ofSeconds(120));
        fan.reset();
        awaitQuietJit("fan-out warm-up " + (round + 1));
      }
      var cpu = new CpuShare(child.pid());
      append(http, "fan", "chunks:" + FANOUT_CHUNKS + ":" + FANOUT_INTERVAL_MS);
      fan.awaitSamples((long) FANOUT_CHUNKS * readers, Duration.ofSeconds(120));
      out.println("fan-out CPU: " + cpu.report());
      fan.printPerChunk(out);
      out.println(
          "fan-out: chunk write -> read by each of "
              + readers
              + " readers ("
              + FANOUT_CHUNKS
              + " chunks): "
              + fan.summary()
              + " (target: p99 <= 100 ms)");
      childIn.println("heap");
      out.println("heap (after fan-out): " + expect("heap").substring(5));

      // 4. every reader disconnects at once; the server lets each go and keeps serving
      long closeStart = System.nanoTime();
      fan.close();
      long open = readers;
      while (open > 0 && System.nanoTime() - closeStart < TimeUnit.SECONDS.toNanos(120)) {
        childIn.println("streams");
        open = Long.parseLong(expect("streams").substring(8).trim());
        if (open > 0) {
          Thread.sleep(100); // the driver polling the child, not a test
        }
      }
      out.printf(
          Locale.ROOT,
          "disconnect: %d readers closed at once; %d streams still open on the server after %.1f s%n",
          readers,
          open,
          (System.nanoTime() - closeStart) / 1e9);

      awaitChildSockets(Duration.ofSeconds(60));

      // 2b. the same fan-out from the bare Jetty echo: what Jetty and this machine's loopback
      // can do at all, measured the same way
      baselineFanOut("bare Jetty echo", echo, "/echo", "echo");
      // 2c. and from a raw NIO server (no Jetty, no servlet): each frame is one non-blocking
      // socket write per reader and nothing else, the least any server on this machine can do
      baselineFanOut("raw NIO floor", raw, "/raw", "raw");
    }

    /**
     * The fan-out of a baseline server in the child ({@code cmd} {@code echo} or {@code raw}):
     * connect as many readers, the same warm-up and the same measured frames as ours, then let
     * every reader go and wait until the child has pruned them (it learns of a closed connection
     * when a write to it fails).
     */
    private void baselineFanOut(String label, URI uri, String path, String cmd) throws Exception {
      var fan = new Readers(uri, path, readers, 2);
      fan.connect();
      fan.awaitOk(Duration.ofSeconds(60));
      // The same full GC as after our readers connected: it moves the connections to the old
      // generation, as in a server that has run a while (then every write's young objects stored
      // into them cost the collector's card refinement, on both sides alike).
      childIn.println("heap");
      out.println("heap (" + label + " readers connected): " + expect("heap").substring(5));
      for (int round = 0; round < 2; round++) {
        childIn.println(cmd + " " + WARMUP_CHUNKS + " " + FANOUT_INTERVAL_MS);
        fan.awaitSamples((long) WARMUP_CHUNKS * readers, Duration.ofSeconds(120));
        fan.reset();
        awaitQuietJit(label + " fan-out warm-up " + (round + 1));
      }
      var cpu = new CpuShare(child.pid());
      childIn.println(cmd + " " + FANOUT_CHUNKS + " " + FANOUT_INTERVAL_MS);
      fan.awaitSamples((long) FANOUT_CHUNKS * readers, Duration.ofSeconds(120));
      out.println(label + " fan-out CPU: " + cpu.report());
      fan.printPerChunk(out);
      out.println(
          label
              + " fan-out: frame write -> read by each of "
              + fan.ok.get()
              + " readers ("
              + FANOUT_CHUNKS
              + " frames): "
              + fan.summary());
      fan.close();
      long left = readers;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (left > 0 && System.nanoTime() < deadline) {
        childIn.println(cmd + " 1 0");
        childIn.println(cmd + "-subscribers");
        left = Long.parseLong(expect(cmd + "-subscribers").split(" ")[1].trim());
        if (left > 0) {
          Thread.sleep(100); // the driver polling the child, not a test
        }
      }
      awaitChildSockets(Duration.ofSeconds(60));
    }

    /** Phase 3: one reader of ours against one reader of the bare echo, interleaved rounds. */
    private void single(HttpClient http) throws Exception {
      // 3. single reader vs bare Jetty echo, interleaved
      var ours = new ArrayList<Long>();
      var bare = new ArrayList<Long>();
      // Warm-up, samples dropped: both paths compiled by the JIT before either is measured (a
      // cold single reader was still a quarter interpreted, with C2 busy on its path).
      {
        var e = new Readers(echo, "/echo", 1, 1);
        e.connect();
        e.awaitOk(Duration.ofSeconds(10));
        childIn.println("echo " + singleWarmup + " 0");
        e.awaitSamples(singleWarmup, Duration.ofSeconds(120));
        e.close();
        var s = new Readers(base, "/realtime/v1/sessions/single/out", 1, 1);
        s.connect();
        s.awaitOk(Duration.ofSeconds(10));
        append(http, "single", "chunks:" + singleWarmup + ":0");
        s.awaitSamples(singleWarmup, Duration.ofSeconds(120));
        s.close();
      }
      // Then rounds shaped like the measured ones, on each side: a new reader, chunks it keeps up
      // with. The flood above compiles the hot path with the branch profile of a reader that
      // falls behind, and never opens a second reader; a measured round then took the branches it
      // never saw (a new reader's first drain, a write straight to the connection), and the JIT
      // threw the compiled code away and ran our path interpreted for much of the round (JFR:
      // jdk.Deoptimization "unstable_if"/"reinterpret" at each round's start).
      for (int round = 0; round < singleWarmupRounds; round++) {
        var e = new Readers(echo, "/echo", 1, 1);
        e.connect();
        e.awaitOk(Duration.ofSeconds(10));
        childIn.println("echo " + SINGLE_WARMUP_ROUND_CHUNKS + " " + SINGLE_INTERVAL_MS);
        e.awaitSamples(SINGLE_WARMUP_ROUND_CHUNKS, Duration.ofSeconds(60));
        e.close();
        var s = new Readers(base, "/realtime/v1/sessions/single/out", 1, 1);
        s.connect();
        s.awaitOk(Duration.ofSeconds(10));
        append(http, "single", "chunks:" + SINGLE_WARMUP_ROUND_CHUNKS + ":" + SINGLE_INTERVAL_MS);
        s.awaitSamples(SINGLE_WARMUP_ROUND_CHUNKS, Duration.ofSeconds(60));
        s.close();
      }
      // As before each fan-out: the compilations the warm-up queued run out before the measured
      // rounds, not during their first chunks.
      awaitQuietJit("single-reader warm-up");
      childIn.println("calls-reset");
      for (int round = 0; round < singleRounds; round++) {
        var e = new Readers(echo, "/echo", 1, 1);
        e.connect();
        e.awaitOk(Duration.ofSeconds(10));
        childIn.println("echo " + SINGLE_CHUNKS + " " + SINGLE_INTERVAL_MS);
        e.awaitSamples(SINGLE_CHUNKS, Duration.ofSeconds(60));
        bare.addAll(e.samples());
        e.close();

        var s = new Readers(base, "/realtime/v1/sessions/single/out", 1, 1);
        s.connect();
        s.awaitOk(Duration.ofSeconds(10));
        append(http, "single", "chunks:" + SINGLE_CHUNKS + ":" + SINGLE_INTERVAL_MS);
        s.awaitSamples(SINGLE_CHUNKS, Duration.ofSeconds(60));
        ours.addAll(s.samples());
        s.close();
        out.println(
            "  round "
                + (round + 1)
                + ": durablechat p50 "
                + millis(percentile(s.samples(), 50))
                + ", bare Jetty echo p50 "
                + millis(percentile(e.samples(), 50)));
      }
      double ratio = percentile(ours, 50) / (double) percentile(bare, 50);
      out.println("single reader, durablechat: " + summary(ours));
      out.println("single reader, bare Jetty echo: " + summary(bare));
      out.printf(
          Locale.ROOT, "single reader p50 ratio durablechat/bare: %.2f (target <= 2)%n", ratio);
      // Where the time goes: the server's own share, the call that appends (or publishes) and,
      // with one reader, also writes and flushes the frame on the same thread.
      childIn.println("calls");
      out.println("single reader, server side: " + expect("calls").substring(6));
      childIn.println("peak");
      out.println("heap peak: " + expect("peak").substring(5));
      out.println("load average at the end: " + loadAverage());
    }

    /**
     * Waits until the child's JIT compilers are idle (their total time grew by at most 20 ms over
     * the last second), at most 60 s. Connecting 10,000 readers queues hundreds of C2 compilations
     * of connection-setup code; without this wait they ran during the measured fan-out, a C2 thread
     * taking a quarter of the server's CPU beside the writes. Both sides wait alike.
     */
    private void awaitQuietJit(String phase) throws IOException, InterruptedException {
      long start = System.nanoTime();
      long last = jitMillis();
      long quietSince = System.nanoTime();
      while (System.nanoTime() - start < TimeUnit.SECONDS.toNanos(60)) {
        Thread.sleep(250); // the driver polling the child, not a test
        long now = jitMillis();
        if (now - last > 20) {
          last = now;
          quietSince = System.nanoTime();
        } else if (System.nanoTime() - quietSince >= TimeUnit.SECONDS.toNanos(1)) {
          break;
        }
      }
      out.printf(
          Locale.ROOT,
          "  (%s: JIT quiet after %.1f s, %d ms compiling in all)%n",
          phase,
          (System.nanoTime() - start) / 1e9,
          last);
    }

    private long jitMillis() throws IOException {
      childIn.println("jit");
      return Long.parseLong(expect("jit").substring(4).trim());
    }

    /**
     * Waits until the child holds few sockets again (the closed readers' connections released), so
     * that the next phase has file descriptors; prints how many are left if it gives up.
     */
    private void awaitChildSockets(Duration timeout) throws InterruptedException {
      Path fds = Path.of("/proc/" + child.pid() + "/fd");
      long deadline = System.nanoTime() + timeout.toNanos();
      long count = Long.MAX_VALUE;
      while (System.nanoTime() < deadline) {
        try (var list = java.nio.file.Files.list(fds)) {
          count = list.count();
        } catch (IOException e) {
          return; // no /proc: nothing to wait for
        }
        if (count < 1_000) {
          return;
        }
        Thread.sleep(100); // the driver polling the child, not a test
      }
      out.println("  (the server still holds " + count + " file descriptors)");
    }

    private void create(HttpClient http, String chatId) throws Exception {
      post(
          http,
          "/api/v1/sessions",
          "{\"type\":\"chat.agent\",\"externalId\":\""
              + chatId
              + "\",\"taskIdentifier\":\"load\",\"triggerConfig\":{\"basePayload\":{\"chatId\":\""
              + chatId
              + "\",\"messages\":[]}}}");
    }

    private void append(HttpClient http, String chatId, String text) throws Exception {
      post(
          http,
          "/realtime/v1/sessions/" + chatId + "/in/append",
          "{\"kind\":\"message\",\"payload\":{\"message\":{\"id\":\"m"
              + System.nanoTime()
              + "\",\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"text\":\""
              + text
              + "\"}]},\"chatId\":\""
              + chatId
              + "\",\"trigger\":\"submit-message\"}}");
    }

    private void post(HttpClient http, String path, String body) throws Exception {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(base.resolve(path))
                  .header("Authorization", "Bearer " + SECRET)
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() >= 300) {
        throw new IllegalStateException(path + " answered " + r.statusCode() + ": " + r.body());
      }
    }
  }

  /**
   * CPU time over a phase, from /proc (Linux): the server child's, this driver's (the readers), and
   * the whole machine's busy time (every process, other builds included), against the wall time
   * times the cores. Says what share of the machine the measuring client itself took.
   */
  static final class CpuShare {
    private final long childPid;
    private final long wallStart = System.nanoTime();
    private final long[] start;

    CpuShare(long childPid) {
      this.childPid = childPid;
      this.start = sample();
    }

    private long[] sample() {
      String child = "/proc/" + childPid + "/stat";
      return new long[] {
        ticks(child, 11) + ticks(child, 12),
        ticks("/proc/self/stat", 11) + ticks("/proc/self/stat", 12),
        busy(),
        ticks(child, 12),
        ticks("/proc/self/stat", 12)
      };
    }

    /** A process's utime (11) or stime (12), in clock ticks. */
    private static long ticks(String statFile, int field) {
      try {
        String stat = java.nio.file.Files.readString(Path.of(statFile));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[field]);
      } catch (IOException | RuntimeException e) {
        return -1;
      }
    }

    /** The machine's busy ticks (everything but idle and iowait), summed over the cores. */
    private static long busy() {
      try {
        String[] f =
            java.nio.file.Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
        long sum = 0;
        for (int i = 1; i < f.length && i <= 8; i++) {
          if (i != 4 && i != 5) {
            sum += Long.parseLong(f[i]);
          }
        }
        return sum;
      } catch (IOException | RuntimeException e) {
        return -1;
      }
    }

    String report() {
      long[] end = sample();
      double wall = (System.nanoTime() - wallStart) / 1e9;
      int cores = Runtime.getRuntime().availableProcessors();
      double tick = 100.0; // USER_HZ on Linux
      double server = (end[0] - start[0]) / tick;
      double client = (end[1] - start[1]) / tick;
      double machine = (end[2] - start[2]) / tick;
      return String.format(
          Locale.ROOT,
          "%.1f s wall on %d cores (%.1f core-s): server %.1f s (%.0f%%; %.1f s in the kernel),"
              + " readers %.1f s (%.0f%%; %.1f s in the kernel),"
              + " the rest of the machine %.1f s (%.0f%%; softirq and other processes)",
          wall,
          cores,
          wall * cores,
          server,
          100 * server / (wall * cores),
          (end[3] - start[3]) / tick,
          client,
          100 * client / (wall * cores),
          (end[4] - start[4]) / tick,
          Math.max(0, machine - server - client),
          100 * Math.max(0, machine - server - client) / (wall * cores));
    }
  }

  private static String loadAverage() {
    try {
      return java.nio.file.Files.readString(Path.of("/proc/loadavg")).trim();
    } catch (IOException e) {
      return String.format(
          Locale.ROOT, "%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }
  }

  static long percentile(List<Long> samples, double p) {
    long[] sorted = samples.stream().mapToLong(Long::longValue).toArray();
    Arrays.sort(sorted);
    if (sorted.length == 0) {
      return -1;
    }
    int i = (int) Math.min(sorted.length - 1, Math.ceil(p / 100.0 * sorted.length) - 1);
    return sorted[Math.max(0, i)];
  }

  private static String millis(long nanos) {
    return String.format(Locale.ROOT, "%.2f ms", nanos / 1e6);
  }

  static String summary(List<Long> samples) {
    return String.format(
        Locale.ROOT,
        "n=%d p50=%.2f ms p99=%.2f ms max=%.2f ms",
        samples.size(),
        percentile(samples, 50) / 1e6,
        percentile(samples, 99) / 1e6,
        percentile(samples, 100) / 1e6);
  }

  // ------------------------------------------------------------------ SSE readers over NIO

  /**
   * N raw SSE connections on a few selector threads: each sends one GET, checks the status line,
   * then scans what arrives for {@code t=<nanos>} markers and records now minus the marker.
   */
  private static final class Readers implements AutoCloseable {
    final URI base;
    final String path;
    final int n;
    final Selector[] selectors;
    final Thread[] threads;
    final AtomicInteger ok = new AtomicInteger();
    final AtomicInteger failed = new AtomicInteger();
    final AtomicInteger sampleCount = new AtomicInteger();
    final ConcurrentLinkedQueue<long[]> sampleChunks = new ConcurrentLinkedQueue<>();
    final List<SocketChannel> channels = new CopyOnWriteArrayList<>();
    final java.util.concurrent.ConcurrentHashMap<Long, ConcurrentLinkedQueue<Long>> perChunk =
        new java.util.concurrent.ConcurrentHashMap<>();
    final CountDownLatch allOk;
    volatile boolean closed;

    Readers(URI base, String path, int n, int threads) throws IOException {
      this.base = base;
      this.path = path;
      this.n = n;
      this.allOk = new CountDownLatch(n);
      this.selectors = new Selector[threads];
      this.threads = new Thread[threads];
      for (int i = 0; i < threads; i++) {
        selectors[i] = Selector.open();
        int k = i;
        this.threads[i] = new Thread(() -> loop(selectors[k]), "sse-reader-" + i);
        this.threads[i].setDaemon(true);
        this.threads[i].start();
      }
    }

    void connect() throws IOException {
      byte[] request =
          ("GET "
                  + path
                  + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                  + "Authorization: Bearer "
                  + SECRET
                  + "\r\nTimeout-Seconds: 600\r\nX-Trigger-Stream-Start: latest\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII);
      var address = new InetSocketAddress(base.getHost(), base.getPort());
      for (int i = 0; i < n; i++) {
        SocketChannel ch = SocketChannel.open();
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        ch.configureBlocking(true);
        ch.connect(address);
        ch.write(ByteBuffer.wrap(request));
        ch.configureBlocking(false);
        channels.add(ch);
        Selector s = selectors[i % selectors.length];
        var conn = new Conn();
        s.wakeup();
        synchronized (this) {
          pendingRegistrations.add(new Object[] {s, ch, conn});
        }
        s.wakeup();
      }
    }

    private final ArrayDeque<Object[]> pendingRegistrations = new ArrayDeque<>();

    private void registerPending(Selector selector) throws IOException {
      synchronized (this) {
        for (var it = pendingRegistrations.iterator(); it.hasNext(); ) {
          Object[] r = it.next();
          if (r[0] == selector) {
            ((SocketChannel) r[1]).register(selector, SelectionKey.OP_READ, r[2]);
            it.remove();
          }
        }
      }
    }

    boolean awaitOk(Duration timeout) throws InterruptedException {
      return allOk.await(timeout.toMillis(), TimeUnit.MILLISECONDS) && failed.get() == 0;
    }

    /** Waits for that many samples; fails the run if they do not all come within the timeout. */
    void awaitSamples(long count, Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (sampleCount.get() < count && System.nanoTime() < deadline) {
        Thread.sleep(20); // a driver polling its own counter, not a test
      }
      if (sampleCount.get() < count) {
        throw new IllegalStateException(
            path
                + ": "
                + sampleCount.get()
                + " of "
                + count
                + " frames reached the readers within "
                + timeout.toSeconds()
                + " s");
      }
    }

    /** Drops the samples so far (a warm-up's); call once they all arrived. */
    void reset() {
      perChunk.clear();
      sampleChunks.clear();
      sampleCount.set(0);
    }

    List<Long> samples() {
      var all = new ArrayList<Long>();
      for (long[] chunk : sampleChunks) {
        for (long v : chunk) {
          all.add(v);
        }
      }
      return all;
    }

    String summary() {
      return SseLoad.summary(samples());
    }

    /** With {@code -Dsseload.perChunk=true}: a line per chunk, in the order they were written. */
    void printPerChunk(PrintStream out) {
      int i = 0;
      for (var e : new java.util.TreeMap<>(perChunk).entrySet()) {
        out.println("    chunk " + i++ + ": " + SseLoad.summary(new ArrayList<>(e.getValue())));
      }
    }

    private void loop(Selector selector) {
      ByteBuffer buffer = ByteBuffer.allocateDirect(64 * 1024);
      byte[] bytes = new byte[64 * 1024];
      long[] local = new long[1024];
      int localCount = 0;
      while (!closed) {
        try {
          selector.select(50);
          registerPending(selector);
          long now = System.nanoTime();
          for (var it = selector.selectedKeys().iterator(); it.hasNext(); ) {
            SelectionKey key = it.next();
            it.remove();
            var ch = (SocketChannel) key.channel();
            var conn = (Conn) key.attachment();
            buffer.clear();
            int read;
            try {
              read = ch.read(buffer);
            } catch (IOException e) {
              read = -1;
            }
            if (read < 0) {
              key.cancel();
              ch.close();
              if (!conn.ok) {
                failed.incrementAndGet();
                allOk.countDown();
              }
              continue;
            }
            buffer.flip();
            buffer.get(bytes, 0, read);
            if (!conn.ok && !conn.failed) {
              String head = new String(bytes, 0, Math.min(read, 16), StandardCharsets.US_ASCII);
              if (head.startsWith("HTTP/1.1 200")) {
                conn.ok = true;
                ok.incrementAndGet();
              } else {
                conn.failed = true;
                failed.incrementAndGet();
              }
              allOk.countDown();
            }
            // t=<digits>; markers, parsed as a stream: a read can end inside one (a reader that
            // fell behind reads whole 64 KiB buffers, cut anywhere), and the connection's parse
            // state carries it over to the next read.
            for (int i = 0; i < read; i++) {
              if (conn.stamps.feed(bytes[i])) {
                long t = conn.stamps.stamp;
                local[localCount++] = now - t;
                if (PER_CHUNK) {
                  perChunk.computeIfAbsent(t, k -> new ConcurrentLinkedQueue<>()).add(now - t);
                }
                if (localCount == local.length) {
                  sampleChunks.add(local);
                  sampleCount.addAndGet(localCount);
                  local = new long[1024];
                  localCount = 0;
                }
              }
            }
          }
          if (localCount > 0) {
            sampleChunks.add(Arrays.copyOf(local, localCount));
            sampleCount.addAndGet(localCount);
            localCount = 0;
          }
        } catch (IOException e) {
          return;
        }
      }
    }

    @Override
    public void close() throws IOException {
      closed = true;
      for (Selector s : selectors) {
        s.wakeup();
      }
      for (Thread t : threads) {
        try {
          t.join(5_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      // A channel registered with a selector is only really closed (its socket released) once its
      // key is deregistered: close the selectors first, then the channels.
      for (Selector s : selectors) {
        s.close();
      }
      for (SocketChannel ch : channels) {
        ch.close();
      }
    }

    private static final class Conn {
      boolean ok;
      boolean failed;

      final Stamps stamps = new Stamps();
    }
  }

  /**
   * Finds the markers {@code t=<digits>;} (a frame's send time, nanos) in a reader's bytes, fed one
   * at a time, so that a marker cut between two reads is still found once.
   */
  static final class Stamps {
    /** Where the parse is: 0 nothing, 1 after "t", 2 after "t=", 3 in the digits. */
    private int state;

    /** The marker's stamp once {@link #feed} returned true. */
    long stamp;

    /** Feeds one byte; true when it ended a marker (its stamp in {@link #stamp}). */
    boolean feed(byte b) {
      switch (state) {
        case 1 -> state = b == '=' ? 2 : 0;
        case 2 -> {
          if (b >= '0' && b <= '9') {
            stamp = b - '0';
            state = 3;
          } else {
            state = 0;
          }
        }
        case 3 -> {
          if (b >= '0' && b <= '9') {
            stamp = stamp * 10 + (b - '0');
            return false;
          }
          state = 0;
          if (b == ';') {
            return true;
          }
        }
        default -> state = 0;
      }
      if (state == 0 && b == 't') {
        state = 1;
      }
      return false;
    }
  }

  // ------------------------------------------------------------------ the server child

  private static final class Child {
    /** How long each append call of the agent took, and each publish of the echo (nanos). */
    static final ConcurrentLinkedQueue<Long> APPEND_CALLS = new ConcurrentLinkedQueue<>();

    static final ConcurrentLinkedQueue<Long> PUBLISH_CALLS = new ConcurrentLinkedQueue<>();

    static void run() throws Exception {
      System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
      var store = new MemorySessionStore();
      DurableChat chat =
          DurableChat.builder()
              .environment(new Environment("bench", "load"))
              .sessionStore(store)
              .build();
      AgentRuntime runtime =
          AgentRuntime.builder(chat)
              .register(
                  ChatAgent.builder("load")
                      .idleTimeout(Duration.ofMinutes(10))
                      .run(
                          (turn, out) -> {
                            String[] spec =
                                turn.message() == null
                                    ? new String[0]
                                    : turn.message().text().split(":");
                            if (spec.length != 3 || !spec[0].equals("chunks")) {
                              out.text("say chunks:N:MS");
                              return;
                            }
                            int n = Integer.parseInt(spec[1]);
                            long pause = Long.parseLong(spec[2]);
                            String id = out.textStart();
                            var pacer = new Pacer(pause);
                            for (int i = 0; i < n; i++) {
                              long t = pacer.next();
                              long began = System.nanoTime();
                              out.textDelta(id, "t=" + t + ";" + PAD);
                              out.flush();
                              // With one reader, the whole path runs in this call: the append,
                              // the tail, the frame, the write and the flush.
                              APPEND_CALLS.add(System.nanoTime() - began);
                            }
                            out.textEnd(id);
                          })
                      .build())
              .build();
      HttpAdapter http =
          HttpAdapter.builder(runtime)
              .port(0)
              .secretKeys(SECRET)
              .backlog(4096)
              // Every reader on one session: far above the default cap of concurrent readers.
              .maxReadersPerSession(1_000_000)
              .pingInterval(Duration.ofMillis(Long.getLong("sseload.pingMillis", 15_000)))
              .start();

      var echo = new EchoServlet();
      var pool = new QueuedThreadPool(200, 4);
      pool.setDaemon(true);
      Server bare = new Server(pool);
      var connector = new ServerConnector(bare, 1, 1);
      connector.setHost("127.0.0.1");
      connector.setPort(0);
      bare.addConnector(connector);
      var context = new ServletContextHandler();
      var holder = new ServletHolder(echo);
      holder.setAsyncSupported(true);
      context.addServlet(holder, "/echo");
      bare.setHandler(context);
      bare.start();
      var raw = new RawEcho();

      System.out.println(
          "ports " + http.port() + " " + connector.getLocalPort() + " " + raw.port());
      var in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      String line;
      while ((line = in.readLine()) != null && !line.equals("quit")) {
        String[] cmd = line.split(" ");
        switch (cmd[0]) {
          case "heap" -> {
            System.gc();
            long used = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            System.out.printf(
                Locale.ROOT,
                "heap %.0f MiB used after GC (max %d MiB); %d open streams%n",
                used / 1048576.0,
                Runtime.getRuntime().maxMemory() / 1048576,
                http.servlet().openStreams());
          }
          case "streams" -> System.out.println("streams " + http.servlet().openStreams());
          case "jit" ->
              System.out.println(
                  "jit " + ManagementFactory.getCompilationMXBean().getTotalCompilationTime());
          case "calls-reset" -> {
            APPEND_CALLS.clear();
            PUBLISH_CALLS.clear();
          }
          case "calls" ->
              System.out.println(
                  "calls ours (append .. flushed) "
                      + summary(new ArrayList<>(APPEND_CALLS))
                      + "; echo (publish .. flushed) "
                      + summary(new ArrayList<>(PUBLISH_CALLS)));
          case "echo-subscribers" -> {
            // Lets go of the echo's subscribers whose connections ended.
            echo.prune();
            System.out.println("echo-subscribers " + echo.subscribers());
          }
          case "raw-subscribers" -> {
            raw.prune();
            System.out.println("raw-subscribers " + raw.subscribers());
          }
          case "peak" -> {
            long peak = 0;
            for (MemoryPoolMXBean pool2 : ManagementFactory.getMemoryPoolMXBeans()) {
              if (pool2.getType() == MemoryType.HEAP) {
                peak += pool2.getPeakUsage().getUsed();
              }
            }
            System.out.printf(
                Locale.ROOT, "peak %.0f MiB (sum of heap pools' peaks)%n", peak / 1048576.0);
          }
          case "echo" -> {
            int n = Integer.parseInt(cmd[1]);
            long pause = Long.parseLong(cmd[2]);
            var pacer = new Pacer(pause);
            for (int i = 0; i < n; i++) {
              long t = pacer.next();
              long began = System.nanoTime();
              echo.publish(t);
              PUBLISH_CALLS.add(System.nanoTime() - began);
            }
          }
          case "raw" -> {
            int n = Integer.parseInt(cmd[1]);
            var pacer = new Pacer(Long.parseLong(cmd[2]));
            for (int i = 0; i < n; i++) {
              raw.publish(pacer.next());
            }
          }
          default -> System.out.println("unknown " + line);
        }
      }
      http.close();
      bare.stop();
      raw.close();
      runtime.close();
      chat.close();
      System.exit(0);
    }
  }

  /**
   * Fixed-rate slots for a producer (the agent, the echo's publisher): {@link #next} waits for the
   * next slot and returns the frame's stamp: the time it woke, or, for a producer that fell behind,
   * the slot's own time. It takes the slots it missed at once, so that a backlog's delay counts in
   * the latency rather than stretching the interval (the echo used to sleep the interval after each
   * publish: with 10,000 subscribers its frames came every 400 ms, ours every 200 ms).
   */
  static final class Pacer {
    private final long start = System.nanoTime();
    private final long intervalNanos;
    private long slots;

    Pacer(long intervalMillis) {
      this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(intervalMillis);
    }

    long next() {
      long slot = start + ++slots * intervalNanos;
      long wait = slot - System.nanoTime();
      if (wait <= 0) {
        return slot; // behind: the frame was due at its slot
      }
      try {
        TimeUnit.NANOSECONDS.sleep(wait); // the benchmark's pacing
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      // On time: stamped when it wakes (the sleep's overshoot is the timer's, not the server's)
      return System.nanoTime();
    }
  }

  /** Text that brings a delta's frame to about the size of a typical model token delta's. */
  private static final String PAD = " lorem ipsum";

  /** A baseline's subscribers: those of all its lanes (a loop: the echo asks on every publish). */
  private static int total(List<? extends List<?>> lanes) {
    int n = 0;
    for (List<?> lane : lanes) {
      n += lane.size();
    }
    return n;
  }

  /** A baseline's writer thread for one lane of its subscribers. */
  private static ExecutorService laneWriter(String name) {
    return Executors.newSingleThreadExecutor(
        r -> {
          Thread t = new Thread(r, name);
          t.setDaemon(true);
          return t;
        });
  }

  /**
   * A baseline's frame for a stamp: the size and shape of one of our text-delta frames (a batch of
   * one record whose body holds the chunk as escaped JSON).
   */
  static byte[] baselineFrame(long nanos) {
    String body =
        "{\\\"data\\\":{\\\"type\\\":\\\"text-delta\\\",\\\"id\\\":\\\"t0\\\",\\\"delta\\\":\\\"t="
            + nanos
            + ";"
            + PAD
            + "\\\"},\\\"id\\\":\\\"p0\\\"}";
    return ("event: batch\ndata: {\"records\":[{\"seq_num\":1,\"timestamp\":"
            + System.currentTimeMillis()
            + ",\"headers\":[],\"body\":\""
            + body
            + "\"}],\"tail\":{\"seq_num\":2,\"timestamp\":"
            + System.currentTimeMillis()
            + "}}\n\n")
        .getBytes(StandardCharsets.UTF_8);
  }

  /**
   * The floor: a server of plain NIO socket channels, no Jetty. It answers any request with an SSE
   * response head (chunked, as Jetty's) and then writes each published frame to every connection as
   * one non-blocking write of the chunk, spread over the same lanes as the echo. No parsing beyond
   * the request's end, no buffers but the frame, no selector for writes: a connection whose socket
   * is full keeps the rest for the next frame (at 200 ms apart, readers keep up). What no server on
   * this machine can beat with readers on the same cores.
   */
  private static final class RawEcho implements AutoCloseable {
    private static final byte[] HEAD =
        ("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII);

    private final java.nio.channels.ServerSocketChannel server;
    private final Thread acceptor;
    private final List<List<Sub>> lanes = new ArrayList<>();
    private final ExecutorService[] writers = new ExecutorService[EchoServlet.LANES];
    private final AtomicInteger assigned = new AtomicInteger();

    RawEcho() throws IOException {
      server = java.nio.channels.ServerSocketChannel.open();
      server.bind(new InetSocketAddress("127.0.0.1", 0), 4096);
      for (int i = 0; i < writers.length; i++) {
        lanes.add(new CopyOnWriteArrayList<>());
        writers[i] = laneWriter("raw-lane-" + i);
      }
      acceptor = new Thread(this::accept, "raw-acceptor");
      acceptor.setDaemon(true);
      acceptor.start();
    }

    int port() throws IOException {
      return ((InetSocketAddress) server.getLocalAddress()).getPort();
    }

    /** Accepts, reads each request to its blank line, answers the head, then adds it to a lane. */
    private void accept() {
      ByteBuffer in = ByteBuffer.allocate(8192);
      while (server.isOpen()) {
        SocketChannel ch;
        try {
          ch = server.accept();
        } catch (IOException e) {
          return; // closed
        }
        try {
          ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
          in.clear();
          while (!headEnded(in)) {
            if (ch.read(in) < 0 || !in.hasRemaining()) {
              throw new IOException("no request head");
            }
          }
          ch.write(ByteBuffer.wrap(HEAD));
          ch.configureBlocking(false);
          lanes.get(Math.floorMod(assigned.getAndIncrement(), lanes.size())).add(new Sub(ch));
        } catch (IOException e) {
          closeQuietly(ch);
        }
      }
    }

    private static boolean headEnded(ByteBuffer in) {
      int n = in.position();
      return n >= 4
          && in.get(n - 4) == '\r'
          && in.get(n - 3) == '\n'
          && in.get(n - 2) == '\r'
          && in.get(n - 1) == '\n';
    }

    void publish(long nanos) {
      byte[] frame = baselineFrame(nanos);
      byte[] size =
          (Integer.toHexString(frame.length) + "\r\n").getBytes(StandardCharsets.US_ASCII);
      byte[] chunk = new byte[size.length + frame.length + 2];
      System.arraycopy(size, 0, chunk, 0, size.length);
      System.arraycopy(frame, 0, chunk, size.length, frame.length);
      chunk[chunk.length - 2] = '\r';
      chunk[chunk.length - 1] = '\n';
      for (int i = 0; i < writers.length; i++) {
        List<Sub> lane = lanes.get(i);
        writers[i].execute(
            () -> {
              for (Sub s : lane) {
                s.offer(chunk);
              }
            });
      }
    }

    void prune() {
      lanes.forEach(l -> l.removeIf(s -> s.failed));
    }

    int subscribers() {
      return total(lanes);
    }

    @Override
    public void close() throws IOException {
      server.close();
      for (ExecutorService w : writers) {
        w.shutdownNow();
      }
      lanes.forEach(l -> l.forEach(s -> closeQuietly(s.ch)));
    }

    private static void closeQuietly(SocketChannel ch) {
      try {
        ch.close();
      } catch (IOException ignored) {
        // closing a connection that already failed
      }
    }

    /** One connection, written only by its lane's thread. */
    private static final class Sub {
      final SocketChannel ch;
      final ArrayDeque<ByteBuffer> pending = new ArrayDeque<>();
      volatile boolean failed;

      Sub(SocketChannel ch) {
        this.ch = ch;
      }

      void offer(byte[] chunk) {
        if (failed) {
          return;
        }
        pending.add(ByteBuffer.wrap(chunk));
        try {
          while (!pending.isEmpty()) {
            ByteBuffer next = pending.peek();
            ch.write(next);
            if (next.hasRemaining()) {
              return; // the socket is full: the rest goes with the next frame
            }
            pending.poll();
          }
        } catch (IOException e) {
          pending.clear();
          failed = true;
          closeQuietly(ch);
        }
      }
    }
  }

  /**
   * The baseline: an async servlet that holds SSE subscribers and writes each published frame to
   * them with non-blocking writes, nothing else (no store, no tail, no JSON encoding of records).
   * It spreads its writes as the hub does (on the publishing thread up to 8 subscribers, else one
   * writer thread per core), so that the two differ in what they do per frame, not in how many
   * cores write.
   */
  private static final class EchoServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    /** As many writer threads as the sessions servlet's hub uses, and the same threshold. */
    private static final int LANES = Math.max(2, Runtime.getRuntime().availableProcessors());

    private static final int INLINE = 8;

    private final transient List<List<Sub>> lanes = new ArrayList<>();
    private final transient ExecutorService[] writers = new ExecutorService[LANES];
    private final AtomicInteger assigned = new AtomicInteger();

    EchoServlet() {
      for (int i = 0; i < LANES; i++) {
        lanes.add(new CopyOnWriteArrayList<>());
        writers[i] = laneWriter("echo-lane-" + i);
      }
    }

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      resp.setStatus(200);
      resp.setHeader("Content-Type", "text/event-stream");
      resp.setHeader("Cache-Control", "no-cache");
      AsyncContext async = req.startAsync();
      async.setTimeout(0);
      ServletOutputStream out = resp.getOutputStream();
      var sub = new Sub(out);
      out.setWriteListener(
          new WriteListener() {
            @Override
            public void onWritePossible() {
              sub.drain();
            }

            @Override
            public void onError(Throwable t) {
              lanes.forEach(l -> l.remove(sub));
              async.complete();
            }
          });
      lanes.get(Math.floorMod(assigned.getAndIncrement(), LANES)).add(sub);
    }

    void prune() {
      lanes.forEach(l -> l.removeIf(s -> s.failed));
    }

    int subscribers() {
      return total(lanes);
    }

    void publish(long nanos) {
      byte[] frame = baselineFrame(nanos);
      // Like the hub: a few subscribers on the publishing thread, many spread over the lanes.
      if (subscribers() <= INLINE) {
        for (List<Sub> lane : lanes) {
          for (Sub s : lane) {
            s.offer(frame);
          }
        }
        return;
      }
      for (int i = 0; i < LANES; i++) {
        List<Sub> lane = lanes.get(i);
        writers[i].execute(
            () -> {
              for (Sub s : lane) {
                s.offer(frame);
              }
            });
      }
    }

    private static final class Sub {
      final ServletOutputStream out;
      final ArrayDeque<byte[]> pending = new ArrayDeque<>();
      boolean needsFlush = true;
      volatile boolean failed;

      Sub(ServletOutputStream out) {
        this.out = out;
      }

      synchronized void offer(byte[] frame) {
        pending.add(frame);
        drain();
      }

      synchronized void drain() {
        try {
          while (out.isReady()) {
            byte[] next = pending.poll();
            if (next == null) {
              if (needsFlush) {
                needsFlush = false;
                out.flush();
                continue;
              }
              return;
            }
            out.write(next);
            needsFlush = true;
          }
        } catch (IOException | IllegalStateException e) {
          pending.clear();
          failed = true;
        }
      }
    }
  }
}
