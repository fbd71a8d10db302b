package consumer;

import dev.durablechat.api.Environment;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoreLoader;
import dev.durablechat.core.CreateSessionRequest;
import dev.durablechat.core.DurableChat;
import java.nio.charset.StandardCharsets;
import java.util.TreeMap;

/**
 * Opens stores by location through StoreLoader (ServiceLoader underneath) and prints, for each,
 * the module its class came from. Arguments: session store locations, "--", snapshot locations.
 */
public final class Main {
  public static void main(String[] args) {
    System.out.println("consumer module: " + Main.class.getModule().getName());
    var providers = new TreeMap<String, String>();
    StoreLoader.snapshotStoreProviders(Main.class.getClassLoader())
        .forEach((scheme, p) -> providers.put(scheme, p.getClass().getModule().getName()));
    System.out.println("snapshot providers: " + providers);

    boolean snapshots = false;
    Environment environment = new Environment("modulepath", "test");
    for (String location : args) {
      if (location.equals("--")) {
        snapshots = true;
      } else if (!snapshots) {
        try (SessionStore store = StoreLoader.openSessionStore(location);
            DurableChat chat =
                DurableChat.builder().environment(environment).sessionStore(store).build()) {
          chat.createSession(CreateSessionRequest.builder("agent").externalId("c1").build());
          // An append reports to the engine's telemetry: the no-op one, with no Micrometer here.
          chat.appendIn("c1", new dev.durablechat.api.InEvent.Stop(null), null);
          System.out.println(
              "session store "
                  + location.substring(0, location.indexOf(':'))
                  + ": "
                  + store.getClass().getModule().getName()
                  + ", engine "
                  + chat.getClass().getModule().getName()
                  + ", session c1 of agent "
                  + chat.session("c1").agentId());
        }
      } else if (location.startsWith("s3:")) {
        // Opened only: the location names no running server.
        try (SnapshotStore store = StoreLoader.openSnapshotStore(location)) {
          System.out.println(
              "snapshot store s3: " + store.getClass().getModule().getName() + ", opened");
        }
      } else {
        try (SnapshotStore store = StoreLoader.openSnapshotStore(location)) {
          SnapshotKey key = new SnapshotKey(environment, "session_1");
          store.write(key, "{}".getBytes(StandardCharsets.UTF_8), null);
          String back = new String(store.read(key).orElseThrow().content(), StandardCharsets.UTF_8);
          System.out.println(
              "snapshot store "
                  + location.substring(0, location.indexOf(':'))
                  + ": "
                  + store.getClass().getModule().getName()
                  + ", read back "
                  + back);
        }
      }
    }
  }
}
