package dev.durablechat.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.agent.AgentRuntime;
import dev.durablechat.api.Environment;
import dev.durablechat.core.DurableChat;
import dev.durablechat.storage.memory.MemorySessionStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Secret keys too short to sign safely are refused at build time (issue 16 part 5)")
class SecretKeyTest {
  private static final String SHORT = "short-key-15byt";
  private static final String GOOD = "a-good-key-of-16";

  private final DurableChat chat =
      DurableChat.builder()
          .environment(new Environment("proj", "test"))
          .sessionStore(new MemorySessionStore())
          .build();
  private final AgentRuntime runtime =
      AgentRuntime.builder(chat).register(HttpFixture.echoAgent("echo", HttpFixture.WAIT)).build();

  @AfterEach
  void close() {
    runtime.close();
    chat.close();
  }

  @Test
  @DisplayName("a key of 15 bytes is refused with how to make one, never the key itself")
  void shortKeyRefused() {
    assertThat(SHORT).hasSize(SessionsServlet.MIN_SECRET_KEY_BYTES - 1);
    assertThatThrownBy(() -> SessionsServlet.builder(runtime).secretKeys(SHORT))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "a secret key of [15] bytes is too short to sign tokens safely, expected at least"
                + " [16]; make one with `openssl rand -base64 32`")
        .message()
        .doesNotContain(SHORT);
  }

  @Test
  @DisplayName("a short rotation key is refused too, and the good keys before it are not kept")
  void shortRotationKeyRefused() {
    SessionsServlet.Builder b = SessionsServlet.builder(runtime);
    assertThatThrownBy(() -> b.secretKeys(GOOD, SHORT))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("too short to sign tokens safely");
    // Nothing was kept: the builder still has no key.
    assertThatThrownBy(b::build)
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("sessions servlet needs secretKeys(String...)");
  }

  @Test
  @DisplayName("HttpAdapter refuses it the same way before it listens; 16 bytes are enough")
  void adapterRefusesAndSixteenBytesStart() {
    assertThatThrownBy(() -> HttpAdapter.builder(runtime).port(0).secretKeys(SHORT))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("openssl rand -base64 32");
    assertThat(GOOD).hasSize(SessionsServlet.MIN_SECRET_KEY_BYTES);
    try (HttpAdapter http = HttpAdapter.builder(runtime).port(0).secretKeys(GOOD).start()) {
      assertThat(http.baseUri().getPort()).isPositive();
    }
  }

  @Test
  @DisplayName("the length counts UTF-8 bytes: 8 two-byte characters make 16 bytes")
  void countsBytes() {
    String eightChars = "éééééééé";
    assertThat(SessionsServlet.builder(runtime).secretKeys(eightChars).build()).isNotNull();
  }
}
