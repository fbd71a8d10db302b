package dev.durablechat.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.DurableChatException;
import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.Json;
import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.TriggerConfig;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("the chat agent definition")
class AgentDefinitionTest {

  /** Client data an application declares. */
  public static final class Plan {
    public String name = "";
    public int seats;
    public List<String> tags = List.of();
  }

  private static ChatAgent<Plan> planAgent() {
    return ChatAgent.builder("plans").clientData(Plan.class).run((turn, out) -> {}).build();
  }

  @Test
  @DisplayName("client data binds to the agent's class with Jackson")
  void bindsClientData() {
    Plan plan =
        planAgent().bindClientData(Json.parse("{\"name\":\"pro\",\"seats\":3,\"extra\":true}"));
    assertThat(plan.name).isEqualTo("pro");
    assertThat(plan.seats).isEqualTo(3);
  }

  @Test
  @DisplayName("invalid client data is a clear error naming the field, and starts nothing")
  void invalidClientData() {
    assertThatThrownBy(() -> planAgent().bindClientData(Json.parse("{\"seats\":\"many\"}")))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageContaining("[clientData.seats]")
        .hasMessageContaining("[Plan]");
    assertThatThrownBy(() -> planAgent().bindClientData(Json.parse("{\"tags\":[1,{\"a\":1}]}")))
        .isInstanceOf(InvalidPayloadException.class)
        .hasMessageContaining("[clientData.tags[1]]");
    try (var f = new AgentFixture(planAgent())) {
      assertThatThrownBy(
              () ->
                  f.runtime.startSession(
                      "c1", "plans", Json.parse("{\"seats\":\"x\"}"), TriggerConfig.none()))
          .isInstanceOf(InvalidPayloadException.class);
      assertThatThrownBy(() -> f.chat.session("c1")).isInstanceOf(NoSuchSessionException.class);
    }
  }

  @Test
  @DisplayName("the default idle timeout is 30 seconds (L3); run is required")
  void defaults() {
    assertThat(planAgent().idleTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThatThrownBy(() -> ChatAgent.builder("x").build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("run");
    assertThatThrownBy(() -> ChatAgent.builder("x").onBoot(b -> {}).clientData(Plan.class))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  @DisplayName("a chat local used outside a run, or before init, fails clearly (L8)")
  void chatLocalOutsideRun() {
    ChatLocal<String> local = ChatLocal.of("userContext");
    assertThatThrownBy(local::get)
        .isInstanceOf(DurableChatException.class)
        .hasMessageContaining("chat local [userContext]")
        .hasMessageContaining("outside a chat run");
    var scope = new RunScope("run_1");
    scope.bind();
    try {
      assertThatThrownBy(local::get)
          .isInstanceOf(DurableChatException.class)
          .hasMessage(
              "chat local [userContext] used before initialization in run [run_1]; initialize it"
                  + " in onBoot (L8)");
      assertThatThrownBy(() -> local.set("x")).hasMessageContaining("before initialization");
      local.init("ada");
      assertThat(local.get()).isEqualTo("ada");
      local.set("grace");
      assertThat(local.get()).isEqualTo("grace");
    } finally {
      RunScope.unbind();
    }
    assertThat(local.isInitialized()).isFalse();
  }
}
