package dev.durablechat.api.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.durablechat.api.DurableChatException;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("Finding stores by scheme through ServiceLoader")
class StoreLoaderTest {

  /** A provider registered in this module's test resources under the scheme {@code probe}. */
  public static final class ProbeProvider implements SessionStoreProvider {
    @Override
    public String scheme() {
      return "probe";
    }

    @Override
    public SessionStore open(StoreConfig config) {
      throw new IllegalArgumentException(
          "probe opened [" + config.schemeSpecificPart() + "] " + config.options());
    }
  }

  /** A second provider of the same scheme, visible only through {@link #withSecondProbe}. */
  public static final class SecondProbeProvider implements SessionStoreProvider {
    @Override
    public String scheme() {
      return "probe";
    }

    @Override
    public SessionStore open(StoreConfig config) {
      throw new AssertionError("never opened");
    }
  }

  @Test
  @DisplayName("the location's scheme picks the provider, which gets the location and options")
  void schemePicksTheProvider() {
    assertThat(StoreLoader.sessionStoreProviders(getClass().getClassLoader()))
        .containsOnlyKeys("probe");
    assertThatThrownBy(
            () ->
                StoreLoader.openSessionStore(
                    new StoreConfig("PROBE:somewhere", java.util.Map.of("k", "v"))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("probe opened [somewhere] {k=v}");
  }

  @Test
  @DisplayName("an unknown scheme fails naming what was found and the module to add")
  void unknownScheme() {
    assertThatThrownBy(() -> StoreLoader.openSessionStore("jdbc:h2:mem:x"))
        .isInstanceOf(DurableChatException.class)
        .hasMessage(
            "no session store provider for the scheme [jdbc]; found [probe] through"
                + " dev.durablechat.api.spi.SessionStoreProvider; add the module that provides it"
                + " (e.g. durablechat-storage-jdbc) to the class path");
    assertThatThrownBy(() -> StoreLoader.openSnapshotStore("file:./x"))
        .hasMessageStartingWith("no snapshot store provider for the scheme [file]; found []");
  }

  @Test
  @DisplayName("a location without a scheme is refused")
  void locationNeedsAScheme() {
    assertThatThrownBy(() -> StoreConfig.of("./data"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("store location [./data] must start with a scheme, e.g. [memory:]");
  }

  @Test
  @DisplayName("two providers claiming one scheme are refused at discovery, naming both")
  void duplicateSchemes(@TempDir Path dir) throws IOException {
    try (URLClassLoader loader = withSecondProbe(dir)) {
      assertThatThrownBy(() -> StoreLoader.sessionStoreProviders(loader))
          .isInstanceOf(DurableChatException.class)
          .hasMessage(
              "two SessionStoreProviders claim the scheme [probe]: ["
                  + ProbeProvider.class.getName()
                  + "] and ["
                  + SecondProbeProvider.class.getName()
                  + "]; remove one from the class path");
    }
  }

  private URLClassLoader withSecondProbe(Path dir) throws IOException {
    Path services = dir.resolve("META-INF/services");
    Files.createDirectories(services);
    Files.writeString(
        services.resolve(SessionStoreProvider.class.getName()),
        SecondProbeProvider.class.getName() + "\n");
    return new URLClassLoader(new URL[] {dir.toUri().toURL()}, getClass().getClassLoader());
  }
}
