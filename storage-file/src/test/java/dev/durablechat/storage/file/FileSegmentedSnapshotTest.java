package dev.durablechat.storage.file;

import static org.assertj.core.api.Assertions.assertThat;

import dev.durablechat.api.Environment;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.UIMessage;
import dev.durablechat.core.ChatHistory;
import dev.durablechat.core.CreateSessionRequest;
import dev.durablechat.core.DurableChat;
import dev.durablechat.storage.memory.MemorySessionStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("segmented snapshots in a folder: a manifest and segment files per session (H1, S11)")
class FileSegmentedSnapshotTest {
  private static final Environment ENV = new Environment("proj", "file-segments");

  private static List<String> jsonFiles(Path folder) throws IOException {
    if (!Files.isDirectory(folder)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(folder)) {
      return files
          .map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".json"))
          .sorted()
          .toList();
    }
  }

  @Test
  @DisplayName(
      "turns leave snapshot.json and a few seg-*.json files readable with any tool; a rebuild"
          + " reads them; deleting the session deletes every one")
  void deleteRemovesEverySegmentFile(@TempDir Path root) throws IOException {
    var store = new MemorySessionStore();
    var snapshots = new FileSnapshotStore(root);
    try (var chat =
        DurableChat.builder()
            .environment(ENV)
            .sessionStore(store)
            .snapshotStore(snapshots)
            .build()) {
      String sessionId =
          chat.createSession(CreateSessionRequest.builder("agent").externalId("chat-f").build())
              .session()
              .friendlyId();
      String run = chat.ensureRun("chat-f", RunReason.INITIAL).run().runId();
      var messages = new ArrayList<UIMessage>();
      for (int t = 1; t <= 12; t++) {
        messages.add(UIMessage.userText("u" + t, "question " + t));
        chat.history().completeTurn("chat-f", run, List.copyOf(messages), 0);
      }
      SnapshotKey key = new SnapshotKey(ENV, sessionId);
      Path folder = root.resolve(key.folder());

      List<String> files = jsonFiles(folder);
      assertThat(files).contains("snapshot.json").hasSizeGreaterThan(2);
      assertThat(files).allMatch(n -> n.equals("snapshot.json") || n.startsWith("seg-"));
      assertThat(ChatHistory.of(chat).rebuild("chat-f").messages()).isEqualTo(messages);

      chat.deleteSession("chat-f");

      assertThat(jsonFiles(folder)).isEmpty();
    } finally {
      store.close();
      snapshots.close();
    }
  }
}
