/**
 * A {@link dev.durablechat.api.spi.SnapshotStore} on S3 and S3-compatible object stores (MinIO,
 * Cloudflare R2, ...): one JSON object per session at {@code
 * [prefix/]packets/{projectRef}/{envSlug}/ sessions/{sessionId}/snapshot.json}, replaced with
 * conditional writes ({@code If-None-Match: *}, then {@code If-Match: <etag>}) so that a stale
 * writer is refused.
 *
 * <p>Two ways in: {@link dev.durablechat.storage.s3.S3SnapshotStore#create(
 * software.amazon.awssdk.services.s3.S3Client, String, String)} with a client you build and own, or
 * the {@code s3} scheme through {@link dev.durablechat.api.spi.StoreLoader}; {@link
 * dev.durablechat.storage.s3.S3SnapshotStoreProvider} documents the locations and environment
 * variables.
 */
@NullMarked
package dev.durablechat.storage.s3;

import org.jspecify.annotations.NullMarked;
