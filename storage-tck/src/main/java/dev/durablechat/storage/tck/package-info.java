/**
 * The storage contract kit: abstract JUnit 5 classes that every backend's tests extend in a few
 * lines. {@link dev.durablechat.storage.tck.SessionStoreContract} checks the {@link
 * dev.durablechat.api.spi.SessionStore} javadoc and invariants 1–7 of protocol.md; {@link
 * dev.durablechat.storage.tck.SnapshotStoreContract} checks the {@link
 * dev.durablechat.api.spi.SnapshotStore} javadoc and invariant 8.
 *
 * <p>Every test works on fresh random ids, so nothing needs wiping between tests and one database
 * can serve a whole run. The kit passes explicit times to the store, so expiry is deterministic.
 */
@NullMarked
package dev.durablechat.storage.tck;

import org.jspecify.annotations.NullMarked;
