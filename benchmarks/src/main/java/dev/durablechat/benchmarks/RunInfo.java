package dev.durablechat.benchmarks;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What a benchmark figure was measured on, printed as one JSON object for {@code benchmarks/run}:
 * the load average (1, 5, 15 minutes), the CPU model and core count, the JVM, the H2 version and,
 * when {@code PG_JDBC_URL} is set, the PostgreSQL server's version and its {@code fsync} setting. A
 * figure without these cannot be compared with another.
 */
public final class RunInfo {
  private RunInfo() {}

  public static void main(String[] args) {
    System.out.println(toJson(collect()));
  }

  static Map<String, Object> collect() {
    var info = new LinkedHashMap<String, Object>();
    info.put(
        "loadAverage",
        read("/proc/loadavg").map(l -> l.split(" ")).map(RunInfo::firstThree).orElse(null));
    info.put("cpu", cpuModel());
    info.put("cores", Runtime.getRuntime().availableProcessors());
    info.put(
        "jvm",
        System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
    info.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
    info.put("h2", org.h2.engine.Constants.FULL_VERSION);
    String pg = System.getenv("PG_JDBC_URL");
    if (pg != null && !pg.isBlank()) {
      info.put("postgresql", postgres(pg));
    }
    return info;
  }

  private static String firstThree(String[] fields) {
    return fields.length < 3
        ? String.join(" ", fields)
        : fields[0] + " " + fields[1] + " " + fields[2];
  }

  private static Optional<String> read(String file) {
    try {
      return Optional.of(Files.readString(Path.of(file)).trim());
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  private static String cpuModel() {
    return read("/proc/cpuinfo")
        .flatMap(
            text ->
                text.lines()
                    .filter(l -> l.startsWith("model name"))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim())
                    .findFirst())
        .orElse(System.getProperty("os.arch"));
  }

  private static String postgres(String url) {
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      String version;
      try (ResultSet r = s.executeQuery("show server_version")) {
        r.next();
        version = r.getString(1);
      }
      try (ResultSet r = s.executeQuery("show fsync")) {
        r.next();
        return version + " (fsync " + r.getString(1) + ")";
      }
    } catch (SQLException e) {
      return "unreachable: " + e.getMessage();
    }
  }

  private static String toJson(Map<String, Object> info) {
    try {
      return new ObjectMapper().writeValueAsString(info);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("run info is not writable as JSON", e);
    }
  }
}
