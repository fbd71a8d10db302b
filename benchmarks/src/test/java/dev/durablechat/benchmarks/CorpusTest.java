package dev.durablechat.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.JsonObject;
import dev.durablechat.api.UIMessage;
import dev.durablechat.core.internal.JsonCodec;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The benchmark data is what the benchmarks say it is")
class CorpusTest {

  @Test
  @DisplayName("each turn is a user text and an assistant reply with tool calls of multi-KB output")
  void turnsAreToolHeavy() {
    for (ChatCorpus.Turn t : ChatCorpus.turns(20)) {
      assertThat(t.user().role()).isEqualTo("user");
      assertThat(t.user().text()).isNotBlank();
      UIMessage a = t.assistant();
      assertThat(a.role()).isEqualTo("assistant");
      assertThat(a.id()).isEqualTo("a-" + t.index());
      List<JsonObject> tools = new ArrayList<>();
      for (JsonObject p : a.parts()) {
        if (p.string("type").orElse("").startsWith("tool-")) {
          tools.add(p);
        }
      }
      assertThat(tools).isNotEmpty();
      for (JsonObject tool : tools) {
        assertThat(tool.string("state")).contains("output-available");
        assertThat(tool.get("input")).isInstanceOf(JsonObject.class);
        assertThat(JsonCodec.writeBytes(tool.get("output")).length).isGreaterThan(1800);
      }
      assertThat(a.text()).isNotBlank();
    }
  }

  @Test
  @DisplayName("the corpus is deterministic: turn k is the same whatever the chat length")
  void deterministic() {
    assertThat(ChatCorpus.turn(7)).isEqualTo(ChatCorpus.turns(10).get(7));
    assertThat(ChatCorpus.turn(7)).isNotEqualTo(ChatCorpus.turn(8));
  }

  @Test
  @DisplayName("wire size: our body holds one message; the old body holds the whole history (W3)")
  void wireSizes() {
    int[][] sizes = WireSize.measure(30);
    for (int i = 1; i < sizes.length; i++) {
      assertThat(sizes[i][1]).isGreaterThan(sizes[i - 1][1]);
      assertThat(sizes[i][0]).isLessThan(sizes[i][1]);
    }
    assertThat(sizes[0][0]).isEqualTo(WireSize.ours(ChatCorpus.turn(0).user()));
  }

  @Test
  @DisplayName("the turn at which the full-history body passes 512 KiB matches the encoded bodies")
  void capTurnMatchesEncoding() {
    int turn = WireSize.turnPassingCap(5_000);
    assertThat(turn).isGreaterThan(1);
    int[][] sizes = WireSize.measure(turn);
    assertThat(sizes[turn - 1][1]).isGreaterThan(WireSize.CAP);
    assertThat(sizes[turn - 2][1]).isLessThanOrEqualTo(WireSize.CAP);
  }

  @Test
  @DisplayName("fold setup: ten turns of stored records fold back into the corpus's ten replies")
  void foldData() {
    var bench = new FoldBenchmark();
    bench.setUp();
    List<UIMessage> folded = bench.parseAndFold();
    List<ChatCorpus.Turn> turns = ChatCorpus.turns(FoldBenchmark.TURNS);
    assertThat(folded).hasSize(FoldBenchmark.TURNS);
    for (int i = 0; i < turns.size(); i++) {
      assertThat(folded.get(i)).isEqualTo(turns.get(i).assistant());
    }
    assertThat(bench.foldParsed()).isEqualTo(folded);
  }

  @Test
  @DisplayName("persistence bytes: ours is one turn's records, Spring AI rewrites the conversation")
  void persistBytes() {
    long[] at10 = PersistBenchmark.bytesPerTurn(10);
    long[] at100 = PersistBenchmark.bytesPerTurn(100);
    assertThat(at100[1]).isGreaterThan(at10[1] * 5);
    assertThat(at100[0]).isLessThan(at100[1] / 10);
    assertThat(PersistBenchmark.springMessages(ChatCorpus.turns(3))).hasSize(6);
  }
}
