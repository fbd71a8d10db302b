package dev.durablechat.core.internal;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;

/**
 * Whether a history may keep the array a snapshot segment was read into (its messages then are
 * ranges of it: no copy, nothing for the collector to move) or should copy its live messages out.
 * Keeping it costs the array's dead bytes and, for a large array, what the collector rounds it up
 * to: G1 (the default collector) puts an array of half a region or more in whole regions of its
 * own, so a 5 MB segment in 16 MB regions (the size G1 picks for a 32 GB heap) holds 16 MB. A
 * segment is kept while that cost is at most {@value #BOUND} times its live bytes, so that a
 * rebuilt history stays within about that multiple of its JSON bytes on any heap. Not public API.
 */
public final class RetainedBytes {
  /** The most heap a kept array may cost, as a multiple of its live bytes. */
  public static final double BOUND = 1.2;

  /**
   * The granule a large array is rounded up to: G1's region size where that is the collector, else
   * 2 MB (ZGC's large pages; Parallel and Serial round nothing, for which this is only cautious).
   */
  private static final long GRANULE = granule();

  private RetainedBytes() {}

  /**
   * Whether to keep an array of {@code arrayBytes} bytes of which {@code liveBytes} stay live
   * (reachable from the history) rather than copy the live bytes out.
   */
  public static boolean keep(long arrayBytes, long liveBytes) {
    return footprint(arrayBytes, GRANULE) <= BOUND * liveBytes;
  }

  /**
   * The heap an array of {@code bytes} bytes holds when arrays past half a granule get granules.
   */
  static long footprint(long bytes, long granule) {
    if (bytes < granule / 2) {
      return bytes;
    }
    return (bytes + granule - 1) / granule * granule;
  }

  private static long granule() {
    try {
      HotSpotDiagnosticMXBean vm =
          ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
      if (vm != null && "true".equals(vm.getVMOption("UseG1GC").getValue())) {
        long region = Long.parseLong(vm.getVMOption("G1HeapRegionSize").getValue());
        if (region > 0) {
          return region;
        }
      }
    } catch (RuntimeException | LinkageError e) {
      // Not HotSpot, or jdk.management not in the module graph: assume the common granule.
    }
    return 2L << 20;
  }
}
