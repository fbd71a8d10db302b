package dev.durablechat.api.spi;

/**
 * A snapshot's bytes and the version a conditional write must name to replace them (an etag, a row
 * version, a file revision: opaque to the engine).
 *
 * @param content the JSON bytes exactly as written; the caller must not modify the array
 * @param version the store's version of this content
 */
public record StoredSnapshot(byte[] content, String version) {}
