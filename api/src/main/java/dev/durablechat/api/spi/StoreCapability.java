package dev.durablechat.api.spi;

/**
 * Optional behaviour a {@link SessionStore} may declare. A store without a capability must refuse
 * the calls that need it with {@link dev.durablechat.api.UnsupportedCapabilityException} and change
 * nothing.
 */
public enum StoreCapability {
  /** {@link SessionStore#trim} removes old records of a stream (retention, PROTOCOL H5). */
  TRIM,
  /**
   * Several processes may share the store: every guarantee holds across processes, and {@link
   * SessionStore#watch} wakes watchers in other processes too.
   */
  SHARED_ACROSS_PROCESSES,
  /**
   * {@link SessionStore#renewRun} records a run's heartbeat, so that nodes sharing the store can
   * tell a live run on another node from a dead one (run leases).
   */
  RUN_LEASES,
  /**
   * {@link SessionStore#findSessionsToRecover} finds, through an index, the sessions whose run died
   * or whose {@code in} grew while no run served them, and {@link SessionStore#recordAttempt}
   * counts each message's attempts durably (PROTOCOL S12: automatic recovery, {@code maxAttempts}).
   */
  RECOVERY
}
