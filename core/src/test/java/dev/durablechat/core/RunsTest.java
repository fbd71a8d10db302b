package dev.durablechat.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.InvalidInputException;
import dev.durablechat.api.NoSuchRunException;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.SessionRun;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Runs (S6-S8)")
class RunsTest {
  private final Fixture f = new Fixture();

  @AfterEach
  void close() {
    f.close();
  }

  private static <T> List<T> race(int threads, Callable<T> call) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      var start = new CountDownLatch(1);
      List<Future<T>> futures = new ArrayList<>();
      for (int i = 0; i < threads; i++) {
        futures.add(
            pool.submit(
                () -> {
                  start.await();
                  return call.call();
                }));
      }
      start.countDown();
      List<T> results = new ArrayList<>();
      for (Future<T> future : futures) {
        results.add(future.get());
      }
      return results;
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  @DisplayName("S7: the first ensure-run starts an initial run; the next reuses it while it runs")
  void startsThenReuses() {
    f.newSession("c");

    EnsuredRun first = f.chat.ensureRun("c", RunReason.INITIAL);
    EnsuredRun second = f.chat.ensureRun("c", RunReason.INITIAL);

    assertThat(first.started()).isTrue();
    assertThat(first.run().reason()).isEqualTo(RunReason.INITIAL);
    assertThat(first.run().previousRunId()).isNull();
    assertThat(first.run().runId()).startsWith("run_");
    assertThat(first.session().currentRunId()).isEqualTo(first.run().runId());
    assertThat(first.session().version()).isEqualTo(1);
    assertThat(second.started()).isFalse();
    assertThat(second.run().runId()).isEqualTo(first.run().runId());
    assertThat(f.chat.runs("c")).hasSize(1);
  }

  @Test
  @DisplayName("S7: a preload ensure-run records the preload reason")
  void preload() {
    f.newSession("c");

    assertThat(f.chat.ensureRun("c", RunReason.PRELOAD).run().reason())
        .isEqualTo(RunReason.PRELOAD);
  }

  @Test
  @DisplayName("S7: after the run ended, ensure-run starts a continuation naming the previous run")
  void continuationAfterEnd() {
    f.newSession("c");
    String first = f.chat.ensureRun("c", RunReason.INITIAL).run().runId();
    SessionRun ended = f.chat.endRun("c", first, "idle");

    EnsuredRun next = f.chat.ensureRun("c", RunReason.INITIAL);

    assertThat(ended.isRunning()).isFalse();
    assertThat(ended.endReason()).isEqualTo("idle");
    assertThat(next.started()).isTrue();
    assertThat(next.run().reason()).isEqualTo(RunReason.CONTINUATION);
    assertThat(next.run().previousRunId()).isEqualTo(first);
    assertThat(next.session().version()).isEqualTo(2);
    assertThat(f.chat.runs("c"))
        .extracting(SessionRun::runId)
        .containsExactly(first, next.run().runId());
  }

  @Test
  @DisplayName("S7: ensure-run takes only initial or preload as the first run's reason")
  void ensureRunReason() {
    f.newSession("c");
    Fixture.State before = f.state("c");

    assertThatThrownBy(() -> f.chat.ensureRun("c", RunReason.UPGRADE))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("[upgrade]");
    assertThat(f.state("c")).isEqualTo(before);
  }

  @Test
  @DisplayName("S6, S7: 16 racing ensure-run callers get one run and one SessionRun row")
  void racingEnsureRun() throws Exception {
    f.newSession("c");

    List<EnsuredRun> results = race(16, () -> f.chat.ensureRun("c", RunReason.INITIAL));

    assertThat(results.stream().map(r -> r.run().runId()).collect(Collectors.toSet())).hasSize(1);
    assertThat(results.stream().filter(EnsuredRun::started).count()).isEqualTo(1);
    assertThat(f.chat.runs("c")).hasSize(1);
    assertThat(f.chat.session("c").version()).isEqualTo(1);
  }

  @Test
  @DisplayName("S8: end-and-continue swaps to a continuation that knows its previous run")
  void swaps() {
    f.newSession("c");
    String first = f.chat.ensureRun("c", RunReason.INITIAL).run().runId();

    SwapResult swap = f.chat.endAndContinue("c", first, RunReason.UPGRADE);

    assertThat(swap.swapped()).isTrue();
    assertThat(swap.continuation()).isTrue();
    assertThat(swap.previousRunId()).isEqualTo(first);
    assertThat(swap.winnerRunId()).isNotEqualTo(first).isEqualTo(swap.session().currentRunId());
    List<SessionRun> runs = f.chat.runs("c");
    assertThat(runs).hasSize(2);
    assertThat(runs.get(0).isRunning()).isFalse();
    assertThat(runs.get(1).reason()).isEqualTo(RunReason.UPGRADE);
    assertThat(runs.get(1).previousRunId()).isEqualTo(first);
    assertThat(f.chat.session("c").version()).isEqualTo(2);
  }

  @Test
  @DisplayName("S8: a caller that is no longer current gets the winner, swapped=false, no new row")
  void staleCaller() {
    f.newSession("c");
    String first = f.chat.ensureRun("c", RunReason.INITIAL).run().runId();
    String winner = f.chat.endAndContinue("c", first, RunReason.UPGRADE).winnerRunId();
    Fixture.State before = f.state("c");

    SwapResult late = f.chat.endAndContinue("c", first, RunReason.UPGRADE);

    assertThat(late.swapped()).isFalse();
    assertThat(late.winnerRunId()).isEqualTo(winner);
    assertThat(late.continuation()).isTrue();
    assertThat(late.previousRunId()).isEqualTo(first);
    assertThat(f.state("c")).isEqualTo(before);
  }

  @Test
  @DisplayName("S8: end-and-continue by a run the session never had is refused and changes nothing")
  void unknownCaller() {
    f.newSession("c");
    f.chat.ensureRun("c", RunReason.INITIAL);
    Fixture.State before = f.state("c");

    assertThatThrownBy(() -> f.chat.endAndContinue("c", "run_other", RunReason.UPGRADE))
        .isInstanceOf(NoSuchRunException.class)
        .hasMessageContaining("[run_other]");
    assertThatThrownBy(() -> f.chat.endAndContinue("c", "run_other", RunReason.INITIAL))
        .isInstanceOf(InvalidInputException.class);
    assertThat(f.state("c")).isEqualTo(before);
  }

  @Test
  @DisplayName("invariant 5: of 8 racing end-and-continue calls exactly one swaps")
  void racingSwaps() throws Exception {
    f.newSession("c");
    String first = f.chat.ensureRun("c", RunReason.INITIAL).run().runId();

    List<SwapResult> results =
        race(8, () -> f.chat.endAndContinue("c", first, RunReason.CONTINUATION));

    assertThat(results.stream().filter(SwapResult::swapped).count()).isEqualTo(1);
    assertThat(results.stream().map(SwapResult::winnerRunId).collect(Collectors.toSet()))
        .hasSize(1);
    assertThat(f.chat.runs("c")).hasSize(2);
    assertThat(f.chat.session("c").version()).isEqualTo(2);
  }

  @Test
  @DisplayName("ending an unknown run is refused with NoSuchRunException")
  void endUnknownRun() {
    f.newSession("c");

    assertThatThrownBy(() -> f.chat.endRun("c", "run_nope", "idle"))
        .isInstanceOf(NoSuchRunException.class);
  }
}
