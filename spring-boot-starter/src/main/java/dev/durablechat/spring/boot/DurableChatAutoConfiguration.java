package dev.durablechat.spring.boot;

import dev.durablechat.agent.AgentRuntime;
import dev.durablechat.agent.ChatAgent;
import dev.durablechat.api.Environment;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoreLoader;
import dev.durablechat.core.DurableChat;
import dev.durablechat.core.Telemetry;
import dev.durablechat.storage.jdbc.JdbcStores;
import java.util.Locale;
import javax.sql.DataSource;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;

/**
 * The engine ({@link DurableChat}) on the application's {@link DataSource}, its snapshot store, and
 * one {@link AgentRuntime} for every {@link ChatAgent} bean. Each bean backs off when the
 * application defines its own of the type.
 */
@AutoConfiguration(
    afterName = "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration")
@ConditionalOnClass({DurableChat.class, AgentRuntime.class})
@ConditionalOnBooleanProperty(name = "durablechat.enabled", matchIfMissing = true)
@EnableConfigurationProperties(DurableChatProperties.class)
public final class DurableChatAutoConfiguration {
  /** A session id no session has: the start check and the health checks read it. */
  static final String PROBE_SESSION = "session_durablechat-probe";

  /**
   * The session store on the application's data source (PostgreSQL or H2); its tables are created
   * or migrated now, so an unreachable database fails the start here.
   */
  @Bean
  @ConditionalOnMissingBean
  @ConditionalOnSingleCandidate(DataSource.class)
  SessionStore durableChatSessionStore(DataSource dataSource) {
    try {
      return JdbcStores.sessionStore(dataSource);
    } catch (RuntimeException e) {
      throw new DurableChatStartupException(
          "the durablechat session store on the application's DataSource is unreachable: "
              + e.getMessage(),
          "Check spring.datasource.url and that the database is up, or define a SessionStore"
              + " bean of your own.",
          e);
    }
  }

  /** The snapshot store of {@code durablechat.snapshots.location}, checked for reachability. */
  @Bean
  @ConditionalOnMissingBean
  @Conditional(OnSnapshotLocation.class)
  SnapshotStore durableChatSnapshotStore(
      DurableChatProperties properties, ObjectProvider<DataSource> dataSource, BeanFactory beans) {
    String location = OnSnapshotLocation.location(properties.getSnapshots().getLocation());
    SnapshotStore store;
    try {
      if (location.equals("jdbc")) {
        DataSource ds = dataSource.getIfUnique();
        if (ds == null) {
          throw new IllegalStateException("there is no single DataSource bean");
        }
        store = JdbcStores.snapshotStore(ds);
      } else if (location.toLowerCase(Locale.ROOT).startsWith("s3://")
          && S3Snapshots.hasClientBean(beans)) {
        store = S3Snapshots.open(beans, location);
      } else {
        store = StoreLoader.openSnapshotStore(location);
      }
      store.read(new SnapshotKey(environment(properties), PROBE_SESSION));
    } catch (RuntimeException e) {
      throw new DurableChatStartupException(
          "the durablechat snapshot store ["
              + OnSnapshotLocation.redacted(location)
              + "] is unreachable: "
              + e.getMessage(),
          "Fix durablechat.snapshots.location (jdbc, file:PATH, s3://bucket/prefix, or none),"
              + " or define a SnapshotStore bean of your own.",
          e);
    }
    return store;
  }

  /** The engine, reporting to the {@link Telemetry} bean if there is one. */
  @Bean
  @ConditionalOnMissingBean
  @ConditionalOnBean(SessionStore.class)
  DurableChat durableChat(
      DurableChatProperties properties,
      SessionStore sessionStore,
      ObjectProvider<SnapshotStore> snapshotStore,
      ObjectProvider<Telemetry> telemetry) {
    DurableChat.Builder builder =
        DurableChat.builder()
            .environment(environment(properties))
            .sessionStore(sessionStore)
            .maxAppendBytes(properties.getMaxAppendBytes());
    snapshotStore.ifUnique(builder::snapshotStore);
    telemetry.ifUnique(builder::telemetry);
    return builder.build();
  }

  /** Every {@link ChatAgent} bean, on one runtime over the engine. */
  @Bean
  @ConditionalOnMissingBean
  @ConditionalOnBean({DurableChat.class, ChatAgent.class})
  AgentRuntime durableChatAgentRuntime(
      DurableChat chat, ObjectProvider<ChatAgent<?>> agents, DurableChatProperties properties) {
    AgentRuntime.Builder builder =
        AgentRuntime.builder(chat)
            .leaseDuration(properties.getRuntime().getLeaseDuration())
            .retention(properties.getRuntime().isRetention());
    agents.orderedStream().forEach(builder::register);
    return builder.build();
  }

  /** Graceful shutdown of the runtime and the routes (a no-op without them). */
  @Bean
  @ConditionalOnMissingBean
  DurableChatShutdown durableChatShutdown(
      ObjectProvider<AgentRuntime> runtime,
      ObjectProvider<DurableChatShutdown.Routes> routes,
      ApplicationEventPublisher events,
      DurableChatProperties properties) {
    return new DurableChatShutdown(runtime, routes, events, properties.getShutdown());
  }

  static Environment environment(DurableChatProperties properties) {
    try {
      return new Environment(properties.getProject(), properties.getEnvironment());
    } catch (RuntimeException e) {
      throw new DurableChatStartupException(
          "durablechat.project or durablechat.environment is invalid: " + e.getMessage(),
          "Use 1 to 64 letters, digits, '_' or '-' for each.",
          e);
    }
  }
}
