package dev.durablechat.storage.memory;

import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.storage.tck.SessionDeletionContract;
import org.junit.jupiter.api.DisplayName;

@DisplayName("MemorySessionStore keeps the delete and retention contract (S11)")
class MemorySessionDeletionTest extends SessionDeletionContract {

  @Override
  protected SessionStore openStore() {
    return new MemorySessionStore("tck-delete");
  }
}
