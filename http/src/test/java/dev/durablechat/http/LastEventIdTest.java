package dev.durablechat.http;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@DisplayName("W7: a client's Last-Event-ID")
class LastEventIdTest {

  @ParameterizedTest(name = "[{0}] means {1}")
  @DisplayName("is read as the number before any dash; anything unparsable restarts at 0")
  @CsvSource(
      nullValues = "NULL",
      value = {
        "123, 123",
        "123-4, 123",
        "' 7 ', 7",
        "0, 0",
        "NULL, 0",
        "'', 0",
        "abc, 0",
        "-5, 0",
        "12a, 0",
        "99999999999999999999, 0",
        "1.5, 0"
      })
  void parses(String header, long expected) {
    assertThat(OutStreams.parseLastEventId(header)).isEqualTo(expected);
  }
}
