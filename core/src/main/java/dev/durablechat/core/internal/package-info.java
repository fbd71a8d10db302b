/**
 * Engine internals that other core packages share (the JSON and snapshot codecs). Not public API:
 * anything here may change in any release.
 */
@NullMarked
package dev.durablechat.core.internal;

import org.jspecify.annotations.NullMarked;
