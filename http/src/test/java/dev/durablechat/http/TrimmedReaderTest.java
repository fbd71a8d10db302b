package dev.durablechat.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.StreamKind;
import dev.durablechat.http.SseReader.WireRecord;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("an SSE reader whose bookmark was trimmed is told so (H5, http.md §1)")
class TrimmedReaderTest {
  private final HttpFixture f = new HttpFixture();

  @AfterEach
  void close() {
    f.close();
  }

  @Test
  @DisplayName(
      "H5: a stream-trimmed control record numbered just before the first kept record, then the"
          + " kept records in order")
  void toldThenContinues() {
    String token = f.createSession("chat-t").string("publicAccessToken").orElseThrow();
    f.append("chat-t", token, HttpFixture.submit("chat-t", "u1", "count: 5"));
    HttpFixture.await(
        "the first turn is stored",
        () -> f.chat.readIn("chat-t", 0, 10).size() == 1 && endsWithTurnComplete());
    long firstTurnEnd = f.chat.lastEventId("chat-t", StreamKind.OUT);
    f.append("chat-t", token, HttpFixture.submit("chat-t", "u2", "again"));
    HttpFixture.await(
        "the second turn is stored",
        () ->
            f.chat.lastEventId("chat-t", StreamKind.OUT) > firstTurnEnd && endsWithTurnComplete());
    long last = f.chat.lastEventId("chat-t", StreamKind.OUT);
    String id = f.chat.session("chat-t").friendlyId();
    f.store.trim(id, StreamKind.OUT, firstTurnEnd);

    try (SseReader sse = f.openOut("chat-t", token, Map.of("Last-Event-ID", "2"))) {
      List<WireRecord> records = sse.recordsUntil(WireRecord::isTurnComplete, HttpFixture.WAIT);

      WireRecord notice = records.get(0);
      assertThat(notice.control()).contains("stream-trimmed");
      assertThat(notice.header("stream-trimmed-from")).contains("2");
      assertThat(notice.header("stream-trimmed-to")).contains(Long.toString(firstTurnEnd + 1));
      assertThat(notice.seq()).isEqualTo(firstTurnEnd);
      assertThat(notice.body()).isEmpty();
      assertThat(records.subList(1, records.size()))
          .extracting(WireRecord::seq)
          .as("the kept records, in order, none repeated")
          .isEqualTo(
              java.util.stream.LongStream.rangeClosed(firstTurnEnd + 1, last).boxed().toList());
    }
    // A reader whose bookmark is still there is told nothing.
    try (SseReader sse =
        f.openOut("chat-t", token, Map.of("Last-Event-ID", Long.toString(firstTurnEnd)))) {
      List<WireRecord> records = sse.recordsUntil(WireRecord::isTurnComplete, HttpFixture.WAIT);
      assertThat(records).noneMatch(r -> r.control().filter("stream-trimmed"::equals).isPresent());
      assertThat(records.get(0).seq()).isEqualTo(firstTurnEnd + 1);
    }
  }

  private boolean endsWithTurnComplete() {
    long last = f.chat.lastEventId("chat-t", StreamKind.OUT);
    return last > 0
        && f.chat.readOut("chat-t", last - 1, 1).get(0).event()
            instanceof dev.durablechat.api.OutEvent.TurnComplete;
  }
}
