package dev.durablechat.modulepath;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A consumer that is itself a named module ({@code src/test/consumer}) is compiled against the
 * packaged jars on the module path and run with {@code java --module-path}: the jars are automatic
 * modules named by their {@code Automatic-Module-Name}, and StoreLoader finds the stores through
 * their {@code META-INF/services} files.
 */
@DisplayName("a consumer on the module path")
class ModulePathIT {
  private static final Path MODULES = Path.of(System.getProperty("modulepath.modules"));
  private static final Path CONSUMER = Path.of(System.getProperty("modulepath.consumer"));
  private static final Path WORK = Path.of(System.getProperty("modulepath.work"));

  @Test
  @DisplayName(
      "compiles as a named module against the jars and opens memory, jdbc (H2), file and s3 stores"
          + " by location through ServiceLoader, each from its own named module")
  void opensTheStoresByServiceLoader() throws Exception {
    Path classes = WORK.resolve("classes");
    Files.createDirectories(classes);
    List<String> javac = new ArrayList<>(List.of("--module-path", MODULES.toString()));
    javac.addAll(List.of("-Xlint:all,-requires-automatic", "-Werror", "-d", classes.toString()));
    javac.add(CONSUMER.resolve("module-info.java").toString());
    javac.add(CONSUMER.resolve("consumer/Main.java").toString());
    int compiled =
        ToolProvider.getSystemJavaCompiler().run(null, null, null, javac.toArray(new String[0]));
    assertThat(compiled).as("javac of the consumer module").isZero();

    Path snapshots = Files.createTempDirectory(WORK, "snapshots");
    String launcher = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> command =
        List.of(
            launcher,
            "--module-path",
            MODULES + File.pathSeparator + classes,
            // ALL-MODULE-PATH: nothing requires the stores, so they are added to the graph here.
            // jdk.net: the S3 client's HTTP client (httpclient5, an automatic module) uses
            // jdk.net.Sockets but cannot say so; a consumer of s3 on the module path adds it.
            "--add-modules",
            "ALL-MODULE-PATH,jdk.net",
            "-m",
            "durablechat.consumer/consumer.Main",
            "memory:",
            "jdbc:h2:mem:modulepath;DB_CLOSE_DELAY=-1",
            "--",
            "memory:",
            "file:" + snapshots,
            "s3://bucket/prefix?endpoint=http://127.0.0.1:9&region=us-east-1&pathStyle=true");
    Path log = WORK.resolve("consumer.log");
    Process process =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    boolean exited = process.waitFor(120, TimeUnit.SECONDS);
    if (!exited) {
      process.destroyForcibly();
    }
    assertThat(exited).as("the consumer exits; output:%n%s", Files.readString(log)).isTrue();
    String output = Files.readString(log);
    assertThat(process.exitValue()).as("exit status; output:%n%s", output).isZero();

    assertThat(output)
        .contains("consumer module: durablechat.consumer")
        .contains(
            "snapshot providers: {file=dev.durablechat.storage.file,"
                + " jdbc=dev.durablechat.storage.jdbc, memory=dev.durablechat.storage.memory,"
                + " s3=dev.durablechat.storage.s3}")
        .contains(
            "session store memory: dev.durablechat.storage.memory, engine dev.durablechat.core,"
                + " session c1 of agent agent")
        .contains(
            "session store jdbc: dev.durablechat.storage.jdbc, engine dev.durablechat.core,"
                + " session c1 of agent agent")
        .contains("snapshot store memory: dev.durablechat.storage.memory, read back {}")
        .contains("snapshot store file: dev.durablechat.storage.file, read back {}")
        .contains("snapshot store s3: dev.durablechat.storage.s3, opened");
  }

  @Test
  @DisplayName("every durablechat jar on the module path names its module in its manifest")
  void everyJarNamesItsModule() throws IOException {
    List<Path> jars;
    try (Stream<Path> files = Files.list(MODULES)) {
      jars =
          files
              .filter(p -> p.getFileName().toString().startsWith("durablechat-"))
              .sorted()
              .toList();
    }
    assertThat(jars).hasSize(6);
    for (Path jar : jars) {
      try (var file = new JarFile(jar.toFile())) {
        String name = file.getManifest().getMainAttributes().getValue("Automatic-Module-Name");
        String expected =
            "dev.durablechat."
                + jar.getFileName()
                    .toString()
                    .replaceFirst("^durablechat-", "")
                    .replaceFirst("-\\d.*$", "")
                    .replace('-', '.');
        assertThat(name).as("Automatic-Module-Name of %s", jar.getFileName()).isEqualTo(expected);
      }
    }
  }
}
