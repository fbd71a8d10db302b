/**
 * Spring Boot auto-configuration for durablechat: the engine on the application's {@code
 * DataSource}, every {@code ChatAgent} bean on one agent runtime, the Sessions routes on the
 * application's own servlet container, health indicators, graceful shutdown, and Micrometer
 * telemetry. The application's own beans of each kind always win.
 */
@NullMarked
package dev.durablechat.spring.boot;

import org.jspecify.annotations.NullMarked;
