package dev.durablechat.storage.memory;

import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.storage.tck.SessionListingContract;
import org.junit.jupiter.api.DisplayName;

@DisplayName("the memory SessionStore keeps the session listing contract")
class MemorySessionListingTest extends SessionListingContract {

  @Override
  protected SessionStore openStore() {
    return new MemorySessionStore("listing");
  }
}
