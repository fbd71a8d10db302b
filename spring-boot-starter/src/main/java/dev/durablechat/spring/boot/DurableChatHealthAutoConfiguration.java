package dev.durablechat.spring.boot;

import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.core.DurableChat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.CompositeHealthContributor;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthContributor;
import org.springframework.context.annotation.Bean;

/**
 * Health of durablechat's stores, as {@code durablechat} with one indicator per store: {@code
 * sessionStore} (one read of the session store) and {@code snapshotStore} (one read of the snapshot
 * store, if there is one). Each is DOWN while its store cannot be read, UP again once it can.
 */
@AutoConfiguration(after = DurableChatAutoConfiguration.class)
@ConditionalOnClass({HealthContributor.class, DurableChat.class})
@ConditionalOnBooleanProperty(name = "durablechat.enabled", matchIfMissing = true)
@ConditionalOnEnabledHealthIndicator("durablechat")
@ConditionalOnBean({DurableChat.class, SessionStore.class})
public final class DurableChatHealthAutoConfiguration {

  /** The composite {@code durablechat} contributor. */
  @Bean
  @ConditionalOnMissingBean(name = "durablechatHealthContributor")
  CompositeHealthContributor durablechatHealthContributor(
      DurableChat chat, SessionStore sessionStore, ObjectProvider<SnapshotStore> snapshotStore) {
    Map<String, HealthContributor> stores = new LinkedHashMap<>();
    stores.put("sessionStore", new SessionStoreHealth(chat, sessionStore));
    SnapshotStore snapshots = snapshotStore.getIfUnique();
    if (snapshots != null) {
      stores.put("snapshotStore", new SnapshotStoreHealth(chat, snapshots));
    }
    return CompositeHealthContributor.fromMap(stores);
  }

  /** UP when the session store answers a read. */
  static final class SessionStoreHealth extends AbstractHealthIndicator {
    private final DurableChat chat;
    private final SessionStore store;

    SessionStoreHealth(DurableChat chat, SessionStore store) {
      super("durablechat session store is unreachable");
      this.chat = chat;
      this.store = store;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
      store.findByFriendlyId(chat.environment(), DurableChatAutoConfiguration.PROBE_SESSION);
      builder.up().withDetail("store", store.toString());
    }
  }

  /** UP when the snapshot store answers a read. */
  static final class SnapshotStoreHealth extends AbstractHealthIndicator {
    private final DurableChat chat;
    private final SnapshotStore store;

    SnapshotStoreHealth(DurableChat chat, SnapshotStore store) {
      super("durablechat snapshot store is unreachable");
      this.chat = chat;
      this.store = store;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
      store.read(new SnapshotKey(chat.environment(), DurableChatAutoConfiguration.PROBE_SESSION));
      builder.up().withDetail("store", store.toString());
    }
  }
}
