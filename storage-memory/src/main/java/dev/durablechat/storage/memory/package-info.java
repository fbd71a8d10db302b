/**
 * The reference in-process backend: {@link dev.durablechat.storage.memory.MemorySessionStore} and
 * {@link dev.durablechat.storage.memory.MemorySnapshotStore}, found by ServiceLoader under the
 * scheme {@code memory} ({@code memory:} or {@code memory:name}).
 *
 * <p>Nothing survives the process; use it for tests, demos and a single JVM that can lose its
 * chats.
 */
@NullMarked
package dev.durablechat.storage.memory;

import org.jspecify.annotations.NullMarked;
