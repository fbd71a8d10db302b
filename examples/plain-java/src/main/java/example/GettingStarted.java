package example;

import dev.durablechat.agent.AgentChat;
import dev.durablechat.agent.AgentRuntime;
import dev.durablechat.agent.ChatAgent;
import dev.durablechat.api.Environment;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.StoreLoader;
import dev.durablechat.core.DurableChat;
import java.time.Duration;

/** The README's "Getting started" code, kept compiling here (memory: needs storage-memory). */
public final class GettingStarted {
  public static void main(String[] args) {
    try (SessionStore store = StoreLoader.openSessionStore("memory:");
        DurableChat chat =
            DurableChat.builder()
                .environment(new Environment("my-app", "dev"))
                .sessionStore(store)
                .build();
        AgentRuntime runtime =
            AgentRuntime.builder(chat)
                .register(
                    ChatAgent.builder("echo")
                        .run((turn, out) -> out.text("you said: " + turn.message().text()))
                        .build())
                .build()) {
      AgentChat user = AgentChat.builder(runtime, "echo").chatId("chat-1").build();
      System.out.println(user.sendMessage("hello").text(Duration.ofSeconds(10)));
    }
  }
}
