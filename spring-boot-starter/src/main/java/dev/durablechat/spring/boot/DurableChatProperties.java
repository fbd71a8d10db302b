package dev.durablechat.spring.boot;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The {@code durablechat.*} properties of the Spring Boot starter (docs/spring-boot.md).
 *
 * <p>Only {@code durablechat.http.secret-keys} is required (when the Sessions routes are served):
 * everything else has a default.
 */
@ConfigurationProperties("durablechat")
public class DurableChatProperties {

  /** Whether to configure durablechat at all. */
  private boolean enabled = true;

  /** The project every session lives in (1-64 letters, digits, '_' or '-'). */
  private String project = "default";

  /** The environment of the project every session lives in (1-64 letters, digits, '_' or '-'). */
  private String environment = "prod";

  /** The cap on one in-stream append's body, in bytes (W4). */
  private int maxAppendBytes = 512 * 1024;

  private final Snapshots snapshots = new Snapshots();
  private final Runtime runtime = new Runtime();
  private final Http http = new Http();
  private final Shutdown shutdown = new Shutdown();

  /** Whether to configure durablechat at all. */
  public boolean isEnabled() {
    return enabled;
  }

  /** Whether to configure durablechat at all. */
  public void setEnabled(boolean enabled) {
    this.enabled = enabled;
  }

  /** The project every session lives in. */
  public String getProject() {
    return project;
  }

  /** The project every session lives in. */
  public void setProject(String project) {
    this.project = project;
  }

  /** The environment of the project every session lives in. */
  public String getEnvironment() {
    return environment;
  }

  /** The environment of the project every session lives in. */
  public void setEnvironment(String environment) {
    this.environment = environment;
  }

  /** The cap on one in-stream append's body, in bytes. */
  public int getMaxAppendBytes() {
    return maxAppendBytes;
  }

  /** The cap on one in-stream append's body, in bytes. */
  public void setMaxAppendBytes(int maxAppendBytes) {
    this.maxAppendBytes = maxAppendBytes;
  }

  /** Where snapshots are kept. */
  public Snapshots getSnapshots() {
    return snapshots;
  }

  /** How agents run. */
  public Runtime getRuntime() {
    return runtime;
  }

  /** The Sessions routes on the application's servlet container. */
  public Http getHttp() {
    return http;
  }

  /** Graceful shutdown. */
  public Shutdown getShutdown() {
    return shutdown;
  }

  /** Where snapshots are kept. */
  public static class Snapshots {
    /**
     * The snapshot store: "jdbc" (the application's DataSource, the default when there is one),
     * "file:PATH", "s3://bucket/prefix" (through the application's S3Client bean if it has one,
     * else the AWS SDK's default chain), any location a store provider on the class path opens, or
     * "none".
     */
    private @Nullable String location;

    /** The snapshot store location. */
    public @Nullable String getLocation() {
      return location;
    }

    /** The snapshot store location. */
    public void setLocation(@Nullable String location) {
      this.location = location;
    }
  }

  /** How agents run. */
  public static class Runtime {
    /**
     * How long a run's owner may go without renewing its lease before other nodes take its session
     * over; every node serving the same sessions must use the same value.
     */
    private Duration leaseDuration = Duration.ofSeconds(20);

    /** Whether to trim the out stream after each snapshot (H5). */
    private boolean retention;

    /** The run lease. */
    public Duration getLeaseDuration() {
      return leaseDuration;
    }

    /** The run lease. */
    public void setLeaseDuration(Duration leaseDuration) {
      this.leaseDuration = leaseDuration;
    }

    /** Whether to trim the out stream after each snapshot. */
    public boolean isRetention() {
      return retention;
    }

    /** Whether to trim the out stream after each snapshot. */
    public void setRetention(boolean retention) {
      this.retention = retention;
    }
  }

  /** The Sessions routes on the application's servlet container. */
  public static class Http {
    /** Whether to serve the Sessions routes (when there is an agent runtime). */
    private boolean enabled = true;

    /**
     * The path the routes are served under; the clients' base URL is the application's URL plus
     * this path.
     */
    private String basePath = "/durablechat";

    /**
     * The environment's secret keys (required, at least 16 bytes each): the first signs session
     * tokens, every one verifies them (key rotation).
     */
    private List<String> secretKeys = new ArrayList<>();

    /** How long a minted session token lives. */
    private Duration tokenTtl = Duration.ofHours(1);

    /** The environment id, the subject of tokens; default env_PROJECT_ENVIRONMENT. */
    private @Nullable String environmentId;

    /** How often an idle SSE stream sends a ping. */
    private Duration pingInterval = Duration.ofSeconds(15);

    /** Whether to serve the routes. */
    public boolean isEnabled() {
      return enabled;
    }

    /** Whether to serve the routes. */
    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    /** The path the routes are served under. */
    public String getBasePath() {
      return basePath;
    }

    /** The path the routes are served under. */
    public void setBasePath(String basePath) {
      this.basePath = basePath;
    }

    /** The environment's secret keys. */
    public List<String> getSecretKeys() {
      return secretKeys;
    }

    /** The environment's secret keys. */
    public void setSecretKeys(List<String> secretKeys) {
      this.secretKeys = secretKeys;
    }

    /** How long a minted session token lives. */
    public Duration getTokenTtl() {
      return tokenTtl;
    }

    /** How long a minted session token lives. */
    public void setTokenTtl(Duration tokenTtl) {
      this.tokenTtl = tokenTtl;
    }

    /** The environment id. */
    public @Nullable String getEnvironmentId() {
      return environmentId;
    }

    /** The environment id. */
    public void setEnvironmentId(@Nullable String environmentId) {
      this.environmentId = environmentId;
    }

    /** How often an idle SSE stream sends a ping. */
    public Duration getPingInterval() {
      return pingInterval;
    }

    /** How often an idle SSE stream sends a ping. */
    public void setPingInterval(Duration pingInterval) {
      this.pingInterval = pingInterval;
    }
  }

  /** Graceful shutdown. */
  public static class Shutdown {
    /**
     * How long shutdown waits for the turns in flight to finish, after the routes stopped accepting
     * messages; a turn still running then is answered again by the node that serves its session
     * next. Keep it below spring.lifecycle.timeout-per-shutdown-phase.
     */
    private Duration timeout = Duration.ofSeconds(20);

    /** The reconnection delay sent to SSE readers when their streams are closed at shutdown. */
    private Duration retryHint = Duration.ofSeconds(1);

    /** How long shutdown waits for turns in flight. */
    public Duration getTimeout() {
      return timeout;
    }

    /** How long shutdown waits for turns in flight. */
    public void setTimeout(Duration timeout) {
      this.timeout = timeout;
    }

    /** The reconnection delay sent to SSE readers at shutdown. */
    public Duration getRetryHint() {
      return retryHint;
    }

    /** The reconnection delay sent to SSE readers at shutdown. */
    public void setRetryHint(Duration retryHint) {
      this.retryHint = retryHint;
    }
  }
}
