/**
 * The public value types of durablechat: sessions, runs, stream events, the wire payload, AI SDK UI
 * messages and chunks, snapshots, a JSON value type of our own, and the exception tree.
 *
 * <p>Nothing here exposes a third-party type, so applications and storage backends are not bound to
 * the engine's dependency choices.
 */
@NullMarked
package dev.durablechat.api;

import org.jspecify.annotations.NullMarked;
