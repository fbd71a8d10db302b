package dev.durablechat.api.spi;

/**
 * Where an append landed: records {@code firstSeq..lastSeq}, gapless. For an append whose part id
 * was already used on the stream, nothing was written and both numbers name the earlier record.
 *
 * @param firstSeq the first record's sequence number
 * @param lastSeq the last record's sequence number
 * @param duplicate whether the part id was seen before and nothing was written
 */
public record AppendResult(long firstSeq, long lastSeq, boolean duplicate) {

  /** Requires {@code 1 <= firstSeq <= lastSeq}. */
  public AppendResult {
    if (firstSeq < 1 || lastSeq < firstSeq) {
      throw new IllegalArgumentException(
          "append result [" + firstSeq + ".." + lastSeq + "] is not a range of event ids");
    }
  }
}
