package dev.durablechat.spring.boot;

import dev.durablechat.agent.AgentRuntime;
import dev.durablechat.http.SessionsServlet;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;

/**
 * The Sessions routes ({@link SessionsServlet}) on the application's own servlet container, under
 * {@code durablechat.http.base-path}, with async support (the SSE streams hold no thread).
 */
@AutoConfiguration(after = DurableChatAutoConfiguration.class)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@ConditionalOnClass({SessionsServlet.class, ServletRegistrationBean.class})
@ConditionalOnBooleanProperty(name = "durablechat.enabled", matchIfMissing = true)
@ConditionalOnBooleanProperty(name = "durablechat.http.enabled", matchIfMissing = true)
@ConditionalOnBean(AgentRuntime.class)
public final class DurableChatWebAutoConfiguration {

  /** The routes over the runtime; a secret key is required. */
  @Bean
  @ConditionalOnMissingBean
  SessionsServlet durableChatSessionsServlet(
      AgentRuntime runtime, DurableChatProperties properties) {
    DurableChatProperties.Http http = properties.getHttp();
    List<String> keys = http.getSecretKeys();
    if (keys.isEmpty() || keys.stream().allMatch(k -> k == null || k.isBlank())) {
      throw new DurableChatStartupException(
          "durablechat.http.secret-keys is not set: the Sessions routes need a secret key to"
              + " sign and check session tokens",
          "Set durablechat.http.secret-keys to a key of at least "
              + SessionsServlet.MIN_SECRET_KEY_BYTES
              + " bytes (make one with `openssl rand -base64 32`), or turn the routes off with"
              + " durablechat.http.enabled=false.");
    }
    SessionsServlet.Builder builder = SessionsServlet.builder(runtime);
    for (int i = 0; i < keys.size(); i++) {
      try {
        builder.secretKeys(keys.get(i));
      } catch (IllegalArgumentException e) {
        // The message names the key's length, never the key.
        throw new DurableChatStartupException(
            "durablechat.http.secret-keys[" + i + "] is refused: " + e.getMessage(),
            "Use a key of at least "
                + SessionsServlet.MIN_SECRET_KEY_BYTES
                + " bytes (UTF-8, this one has "
                + (keys.get(i) == null ? 0 : keys.get(i).getBytes(StandardCharsets.UTF_8).length)
                + "); make one with `openssl rand -base64 32`.",
            e);
      }
    }
    builder.tokenTtl(http.getTokenTtl()).pingInterval(http.getPingInterval());
    if (http.getEnvironmentId() != null) {
      builder.environmentId(http.getEnvironmentId());
    }
    return builder.build();
  }

  /** The servlet mounted at {@code <base-path>/*}, async supported. */
  @Bean
  @ConditionalOnMissingBean(name = "durableChatSessionsRegistration")
  ServletRegistrationBean<SessionsServlet> durableChatSessionsRegistration(
      SessionsServlet servlet, DurableChatProperties properties) {
    String base = basePath(properties.getHttp().getBasePath());
    var registration = new ServletRegistrationBean<>(servlet, base + "/*");
    registration.setName("durablechatSessions");
    registration.setAsyncSupported(true);
    registration.setLoadOnStartup(1);
    return registration;
  }

  /** The servlet's part in the graceful shutdown ({@link DurableChatShutdown}). */
  @Bean
  DurableChatShutdown.Routes durableChatSessionsShutdown(SessionsServlet servlet) {
    return new DurableChatShutdown.Routes() {
      @Override
      public void stopAccepting() {
        servlet.stopAccepting();
      }

      @Override
      public void closeStreams(Duration retryHint) {
        servlet.closeStreams(retryHint);
      }
    };
  }

  /** "/chat/" and "chat" become "/chat"; "/" and "" the root. */
  static String basePath(String configured) {
    String path = configured == null ? "" : configured.trim();
    while (path.endsWith("/")) {
      path = path.substring(0, path.length() - 1);
    }
    if (!path.isEmpty() && !path.startsWith("/")) {
      path = "/" + path;
    }
    if (path.contains("*")) {
      throw new DurableChatStartupException(
          "durablechat.http.base-path [" + configured + "] must not hold a wildcard",
          "Give a plain path such as /durablechat; the routes are mounted under it.");
    }
    return path;
  }
}
