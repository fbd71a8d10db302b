package dev.durablechat.spring.boot;

import dev.durablechat.core.Telemetry;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * The engine's {@link Telemetry} on the application's {@link MeterRegistry} and, if it has one,
 * {@link ObservationRegistry} (meter and observation names in docs/metrics.md).
 */
@AutoConfiguration(
    before = DurableChatAutoConfiguration.class,
    afterName = {
      "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration",
      "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration",
      "org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration",
      "org.springframework.boot.micrometer.observation.autoconfigure.ObservationAutoConfiguration"
    })
@ConditionalOnClass({Telemetry.class, MeterRegistry.class})
@ConditionalOnBooleanProperty(name = "durablechat.enabled", matchIfMissing = true)
public final class DurableChatTelemetryAutoConfiguration {

  /** Micrometer telemetry; observations only when the application has an observation registry. */
  @Bean
  @ConditionalOnMissingBean
  @ConditionalOnBean(MeterRegistry.class)
  Telemetry durableChatTelemetry(
      MeterRegistry meterRegistry, ObjectProvider<ObservationRegistry> observationRegistry) {
    return Telemetry.micrometer(meterRegistry, observationRegistry.getIfUnique());
  }
}
