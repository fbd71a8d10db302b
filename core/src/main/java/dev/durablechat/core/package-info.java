/**
 * The durablechat engine: {@link dev.durablechat.core.DurableChat} keeps sessions, their runs and
 * their {@code in}/{@code out} streams on a {@link dev.durablechat.api.spi.SessionStore}, validates
 * every input before it reaches the store, and lets readers follow a stream live.
 */
@NullMarked
package dev.durablechat.core;

import org.jspecify.annotations.NullMarked;
