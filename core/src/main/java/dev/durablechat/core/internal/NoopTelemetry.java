package dev.durablechat.core.internal;

import dev.durablechat.core.Telemetry;

/** {@link Telemetry#noop()}: every method keeps its no-op default. */
public final class NoopTelemetry implements Telemetry {
  /** The one instance. */
  public static final Telemetry INSTANCE = new NoopTelemetry();

  private NoopTelemetry() {}

  @Override
  public String toString() {
    return "Telemetry.noop()";
  }
}
