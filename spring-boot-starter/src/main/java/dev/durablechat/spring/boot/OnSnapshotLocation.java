package dev.durablechat.spring.boot;

import java.util.Locale;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * Whether to build a snapshot store: for any {@code durablechat.snapshots.location} but {@code
 * none}; when it is not set, only if the application has a {@link DataSource} (snapshots then go to
 * the same database).
 */
final class OnSnapshotLocation extends SpringBootCondition {
  static final String PROPERTY = "durablechat.snapshots.location";

  @Override
  public ConditionOutcome getMatchOutcome(
      ConditionContext context, AnnotatedTypeMetadata metadata) {
    String location = context.getEnvironment().getProperty(PROPERTY);
    if (location != null && !location.isBlank()) {
      return location.trim().equalsIgnoreCase("none")
          ? ConditionOutcome.noMatch(PROPERTY + " is none")
          : ConditionOutcome.match(PROPERTY + " is set");
    }
    ConfigurableListableBeanFactory beans = context.getBeanFactory();
    boolean dataSource = beans != null && beans.getBeanNamesForType(DataSource.class).length > 0;
    return dataSource
        ? ConditionOutcome.match("snapshots go to the application's DataSource")
        : ConditionOutcome.noMatch(PROPERTY + " is not set and there is no DataSource");
  }

  /** The location to open: the property, or {@code jdbc} when it is not set. */
  static String location(@Nullable String property) {
    return property == null || property.isBlank() ? "jdbc" : property.trim();
  }

  /** The location without its query (which may hold credentials). */
  static String redacted(String location) {
    int q = location.indexOf('?');
    String base = q < 0 ? location : location.substring(0, q) + "?...";
    return base.toLowerCase(Locale.ROOT).startsWith("jdbc:") ? "jdbc:..." : base;
  }
}
