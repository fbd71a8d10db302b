/**
 * A {@link dev.durablechat.api.spi.SnapshotStore} in a local folder: {@link
 * dev.durablechat.storage.file.FileSnapshotStore}, found by ServiceLoader under the scheme {@code
 * file} ({@code file:./data/snapshots}).
 */
@NullMarked
package dev.durablechat.storage.file;

import org.jspecify.annotations.NullMarked;
