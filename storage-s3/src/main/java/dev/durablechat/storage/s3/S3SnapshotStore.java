package dev.durablechat.storage.s3;

import dev.durablechat.api.DurableChatException;
import dev.durablechat.api.Environment;
import dev.durablechat.api.InvalidInputException;
import dev.durablechat.api.SnapshotConflictException;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StoreUnavailableException;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoredSnapshot;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Snapshots in an S3 bucket: one object per session at {@code [prefix/]} + {@link
 * SnapshotKey#path()}; the version is the object's ETag.
 *
 * <p>Writes are conditional: the first with {@code If-None-Match: *}, later ones with {@code
 * If-Match: <etag>}. A store that answers 412 (or 404 for {@code If-Match} on a key that is gone,
 * or 409 for a concurrent conditional write) refused a stale writer: {@link
 * SnapshotConflictException}, nothing changed. The store needs an object store that enforces these
 * headers (AWS S3 since 2024, MinIO, s3proxy 4.1+); one that ignores them would let a stale writer
 * win.
 *
 * <p>Errors: a store that cannot be reached, times out or answers 5xx or throttling after the SDK's
 * retries is {@link StoreUnavailableException}; any other refusal (access denied, no such bucket)
 * is a {@link DurableChatException} naming the bucket, key and status. Nothing is contacted at
 * open: the first call tells whether the bucket is reachable.
 *
 * <p>Permissions: {@code s3:GetObject}, {@code s3:PutObject}, {@code s3:DeleteObject} and {@code
 * s3:ListBucket} on the bucket. Without {@code ListBucket}, S3 answers a missing snapshot with 403
 * instead of 404, which this store must report as an error rather than "no snapshot".
 *
 * <p>Thread-safe (the S3 client is).
 */
public final class S3SnapshotStore implements SnapshotStore {
  private static final Logger log = LoggerFactory.getLogger(S3SnapshotStore.class);
  private static final String SNAPSHOT_FILE = "/snapshot.json";

  private final S3Client s3;
  private final boolean ownsClient;
  private final String bucket;
  private final String prefix;

  private S3SnapshotStore(S3Client s3, boolean ownsClient, String bucket, String prefix) {
    this.s3 = s3;
    this.ownsClient = ownsClient;
    this.bucket = bucket;
    this.prefix = prefix;
  }

  /**
   * A store on the bucket through a client you built and own: {@link #close()} leaves it open. The
   * client's own retry and timeout settings apply.
   */
  public static S3SnapshotStore create(S3Client client, String bucket) {
    return create(client, bucket, "");
  }

  /**
   * A store on the bucket under a key prefix (e.g. {@code chat/prod}; slashes at either end are
   * ignored, empty for none) through a client you built and own: {@link #close()} leaves it open.
   */
  public static S3SnapshotStore create(S3Client client, String bucket, String prefix) {
    Objects.requireNonNull(client, "client must not be null");
    if (bucket == null || bucket.isBlank()) {
      throw new IllegalArgumentException("s3 store bucket [" + bucket + "] must not be blank");
    }
    Objects.requireNonNull(prefix, "prefix must not be null (use \"\" for none)");
    return new S3SnapshotStore(client, false, bucket, S3Settings.prefixOf(prefix));
  }

  /** A store that owns a client built from the settings. */
  static S3SnapshotStore open(S3Settings settings) {
    log.debug("opening s3 snapshot store {}", settings);
    return new S3SnapshotStore(settings.buildClient(), true, settings.bucket(), settings.prefix());
  }

  /** The object key of a snapshot: the prefix, if any, and the key's path. */
  String objectKey(SnapshotKey key) {
    return prefix.isEmpty() ? key.path() : prefix + "/" + key.path();
  }

  @Override
  public Optional<StoredSnapshot> read(SnapshotKey key) {
    String objectKey = objectKey(key);
    try {
      ResponseBytes<GetObjectResponse> bytes =
          s3.getObjectAsBytes(b -> b.bucket(bucket).key(objectKey));
      return Optional.of(new StoredSnapshot(bytes.asByteArray(), bytes.response().eTag()));
    } catch (NoSuchKeyException e) {
      return Optional.empty();
    } catch (SdkException e) {
      throw failure("read", objectKey, e);
    }
  }

  @Override
  public String write(SnapshotKey key, byte[] content, @Nullable String expectedVersion) {
    Objects.requireNonNull(content, "content must not be null");
    String objectKey = objectKey(key);
    PutObjectRequest.Builder put =
        PutObjectRequest.builder().bucket(bucket).key(objectKey).contentType("application/json");
    if (expectedVersion == null) {
      put.ifNoneMatch("*");
    } else {
      put.ifMatch(expectedVersion);
    }
    try {
      return s3.putObject(put.build(), RequestBody.fromBytes(content)).eTag();
    } catch (S3Exception e) {
      if (!isConflict(e)) {
        throw failure("write", objectKey, e);
      }
      if (attempts(e) > 1) {
        // An earlier attempt may have landed and its answer been lost: then the 412 is our own
        // write seen again. Same bytes now means the store holds what we wrote.
        Optional<StoredSnapshot> now = read(key);
        if (now.isPresent() && Arrays.equals(now.get().content(), content)) {
          return now.get().version();
        }
      }
      log.debug("stale snapshot write refused for [{}] in bucket [{}]", objectKey, bucket);
      throw new SnapshotConflictException(
          "snapshot ["
              + objectKey
              + "] in bucket ["
              + bucket
              + "]: "
              + (expectedVersion == null
                  ? "expected no snapshot but one exists"
                  : "expected version [" + expectedVersion + "] is no longer current")
              + " (status "
              + e.statusCode()
              + ")",
          e);
    } catch (SdkException e) {
      throw failure("write", objectKey, e);
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>Deleting a session's {@code snapshot.json} also deletes every segment object in its folder,
   * referenced or not (listed by prefix, then one DELETE each).
   */
  @Override
  public boolean delete(SnapshotKey key) {
    String objectKey = objectKey(key);
    try {
      // S3 answers a delete with 204 whether or not the object existed; HEAD says which.
      boolean existed;
      try {
        s3.headObject(b -> b.bucket(bucket).key(objectKey));
        existed = true;
      } catch (NoSuchKeyException e) {
        existed = false;
      } catch (S3Exception e) {
        if (e.statusCode() != 404) {
          throw e;
        }
        existed = false;
      }
      if (existed) {
        s3.deleteObject(b -> b.bucket(bucket).key(objectKey));
      }
      if (!key.isSegment()) {
        String segments = objectKey(key.withSegment("x"));
        String segmentPrefix =
            segments.substring(0, segments.lastIndexOf('/') + 1) + SnapshotKey.SEGMENT_PREFIX;
        for (S3Object object :
            s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(segmentPrefix)).contents()) {
          s3.deleteObject(b -> b.bucket(bucket).key(object.key()));
        }
      }
      return existed;
    } catch (SdkException e) {
      throw failure("delete", objectKey, e);
    }
  }

  /**
   * Deletes the snapshots of the environment's sessions that {@code closedOrExpired} accepts (it is
   * given session ids, e.g. {@code session_abc}). The engine keeps working without them: a later
   * turn rebuilds from the stream. Their segment objects ({@code seg-*.json}) go too; other objects
   * under the sessions folder are left alone.
   *
   * @return how many objects (snapshots and segments) were deleted
   * @throws StoreUnavailableException if the bucket cannot be listed or a delete fails; snapshots
   *     deleted before that stay deleted
   */
  public int sweep(Environment environment, Predicate<String> closedOrExpired) {
    Objects.requireNonNull(environment, "environment must not be null");
    Objects.requireNonNull(closedOrExpired, "closedOrExpired must not be null");
    String folder = (prefix.isEmpty() ? "" : prefix + "/") + sessionsFolder(environment);
    int deleted = 0;
    String current = folder;
    try {
      for (S3Object object :
          s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(folder)).contents()) {
        current = object.key();
        String rest = current.substring(folder.length());
        int slash = rest.indexOf('/');
        String file = slash < 0 ? "" : rest.substring(slash + 1);
        if (!(file.equals(SNAPSHOT_FILE.substring(1)) || isSegmentFile(file))) {
          continue;
        }
        String sessionId = rest.substring(0, slash);
        if (!isSessionId(environment, sessionId) || !closedOrExpired.test(sessionId)) {
          continue;
        }
        // One DELETE per object rather than a batch: some S3-compatible stores lack
        // DeleteObjects, and a sweep is rare and off the turn's path.
        String objectKey = current;
        s3.deleteObject(b -> b.bucket(bucket).key(objectKey));
        deleted++;
      }
    } catch (SdkException e) {
      throw failure("sweep", current, e);
    }
    log.debug(
        "swept {} snapshots of [{}] from bucket [{}] under [{}]",
        deleted,
        environment,
        bucket,
        folder);
    return deleted;
  }

  /** Closes the client if the store built it; a client passed to {@link #create} stays open. */
  @Override
  public void close() {
    if (ownsClient) {
      s3.close();
    }
  }

  @Override
  public String toString() {
    return "S3SnapshotStore[bucket=" + bucket + ", prefix=" + prefix + "]";
  }

  static String sessionsFolder(Environment environment) {
    return "packets/" + environment.projectRef() + "/" + environment.envSlug() + "/sessions/";
  }

  private static boolean isSegmentFile(String name) {
    return name.startsWith(SnapshotKey.SEGMENT_PREFIX)
        && name.endsWith(".json")
        && name.indexOf('/') < 0;
  }

  private static boolean isSessionId(Environment environment, String id) {
    try {
      new SnapshotKey(environment, id);
      return true;
    } catch (InvalidInputException e) {
      return false;
    }
  }

  /**
   * 412: the precondition failed. 404 on a conditional PUT: {@code If-Match} named an object that
   * is gone (unless the bucket is what is missing). 409: S3's answer to a concurrent conditional
   * write on the same key.
   */
  private static boolean isConflict(S3Exception e) {
    int status = e.statusCode();
    if (status == 412 || status == 409) {
      return true;
    }
    return status == 404 && !"NoSuchBucket".equals(errorCode(e));
  }

  private static int attempts(SdkException e) {
    Integer attempts = e.numAttempts();
    return attempts == null ? 1 : attempts;
  }

  private static @Nullable String errorCode(S3Exception e) {
    return e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
  }

  private DurableChatException failure(String operation, String objectKey, SdkException e) {
    String where =
        "s3 snapshot store " + operation + " of [" + objectKey + "] in bucket [" + bucket;
    if (e instanceof S3Exception) {
      S3Exception s3e = (S3Exception) e;
      int status = s3e.statusCode();
      String detail = "] failed: status [" + status + "] code [" + errorCode(s3e) + "]";
      if (status >= 500 || status == 429 || s3e.isThrottlingException()) {
        return new StoreUnavailableException(where + detail + " after retries", e);
      }
      return new DurableChatException(where + detail, e);
    }
    if (e instanceof SdkClientException) {
      // Not reached, timed out or the answer was lost: whether a write landed is unknown.
      return new StoreUnavailableException(
          where + "] failed: store unreachable or timed out (" + e.getMessage() + ")", e);
    }
    return new StoreUnavailableException(where + "] failed: " + e.getMessage(), e);
  }
}
