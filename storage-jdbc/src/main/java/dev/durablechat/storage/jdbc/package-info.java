/**
 * JDBC storage: {@link dev.durablechat.api.spi.SessionStore} and {@link
 * dev.durablechat.api.spi.SnapshotStore} on H2 (embedded, the default) or PostgreSQL (production,
 * many nodes), opened through {@link dev.durablechat.storage.jdbc.JdbcStores} or the {@code jdbc}
 * scheme of {@link dev.durablechat.api.spi.StoreLoader}.
 */
@NullMarked
package dev.durablechat.storage.jdbc;

import org.jspecify.annotations.NullMarked;
