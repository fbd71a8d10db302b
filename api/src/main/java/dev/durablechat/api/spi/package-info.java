/**
 * The storage SPIs: {@link dev.durablechat.api.spi.SessionStore} for sessions, runs and streams,
 * {@link dev.durablechat.api.spi.SnapshotStore} for history snapshots, and their providers, found
 * through {@link java.util.ServiceLoader} by scheme ({@code memory}, {@code jdbc}, {@code file},
 * {@code s3}) or passed to the engine's builder directly.
 *
 * <p>The javadoc of each interface is the contract; the {@code durablechat-storage-tck} module
 * tests it against every backend.
 */
@NullMarked
package dev.durablechat.api.spi;

import org.jspecify.annotations.NullMarked;
