package dev.durablechat.cli;

import dev.durablechat.api.DurableChatException;
import dev.durablechat.api.Environment;
import dev.durablechat.api.InEvent;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.RunReason;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.UIMessage;
import dev.durablechat.api.UIMessageChunk;
import dev.durablechat.api.WirePayload;
import dev.durablechat.api.spi.StoreLoader;
import dev.durablechat.core.CreateSessionRequest;
import dev.durablechat.core.DurableChat;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ./durablechat demo}: one small conversation end to end on embedded defaults, printed as
 * tables: a session created (and found again), a run claimed, {@code in} and {@code out} records
 * appended and read back, a run swapped, a fenced append refused, the session closed.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description =
        "Run a small end-to-end conversation on embedded defaults and print what happened.")
final class DemoCommand implements Callable<Integer> {

  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--session-store",
      description = "Session store location (default: ${DEFAULT-VALUE}).",
      defaultValue = "memory:")
  String sessionStore = "memory:";

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    var environment = new Environment("demo", "dev");
    try (var store = StoreLoader.openSessionStore(sessionStore);
        var chat = DurableChat.builder().environment(environment).sessionStore(store).build()) {
      out.println(
          "durablechat demo: environment " + environment + ", session store " + sessionStore);
      out.println();

      var request = CreateSessionRequest.builder("demo").externalId("demo-chat-1").build();
      var first = chat.createSession(request);
      var again = chat.createSession(request);
      section(out, "1. Sessions (S1: create is idempotent on the external id)");
      new Table("call", "friendly id", "external id", "created", "version")
          .row(
              "create",
              first.session().friendlyId(),
              first.session().externalId(),
              first.created(),
              first.session().version())
          .row(
              "create again",
              again.session().friendlyId(),
              again.session().externalId(),
              again.created(),
              again.session().version())
          .print(out);

      String chatId = "demo-chat-1";
      var run = chat.ensureRun(chatId, RunReason.INITIAL).run();

      var userMessage = UIMessage.userText("msg_user_1", "What is durable about this chat?");
      String body =
          new InEvent.Message(WirePayload.submit(chatId, userMessage)).toJson().toString();
      var appended = chat.appendIn(chatId, body.getBytes(StandardCharsets.UTF_8), "part-1");
      var retried = chat.appendIn(chatId, body.getBytes(StandardCharsets.UTF_8), "part-1");

      var reply = new ArrayList<OutEvent>();
      reply.add(chunk("{\"type\":\"start\",\"messageId\":\"msg_assistant_1\"}"));
      reply.add(chunk("{\"type\":\"text-start\",\"id\":\"t0\"}"));
      for (String delta :
          List.of(
              "The session row ", "outlives every run, ", "and the streams resume by event id.")) {
        reply.add(
            chunk(
                JsonObject.builder()
                    .put("type", "text-delta")
                    .put("id", "t0")
                    .put("delta", delta)
                    .build()
                    .toString()));
      }
      reply.add(chunk("{\"type\":\"text-end\",\"id\":\"t0\"}"));
      reply.add(chunk("{\"type\":\"finish\"}"));
      reply.add(new OutEvent.TurnComplete(appended.eventId()));
      chat.appendOut(chatId, run.runId(), reply);

      section(
          out,
          "2. Streams (W1: gapless event ids per stream; W5: a retried part id stores one record)");
      var streams = new Table("stream", "event id", "record");
      for (StreamRecord<InEvent> r : chat.readIn(chatId, 0, 100)) {
        streams.row("in", r.eventId(), abbreviate(r.event().toJson().toString()));
      }
      for (StreamRecord<OutEvent> r : chat.readOut(chatId, 0, 100)) {
        streams.row("out", r.eventId(), abbreviate(r.event().toJson().toString()));
      }
      streams.print(out);
      out.println(
          "retry of part-1: duplicate=" + retried.duplicate() + ", event id " + retried.eventId());
      out.println();

      section(out, "3. Resume (W7: reading after event id 4 delivers 5 first)");
      var resumed = new Table("event id", "record");
      for (StreamRecord<OutEvent> r : chat.readOut(chatId, 4, 100)) {
        resumed.row(r.eventId(), abbreviate(r.event().toJson().toString()));
      }
      resumed.print(out);

      var swap = chat.endAndContinue(chatId, run.runId(), RunReason.UPGRADE);
      String fenced;
      try {
        chat.appendOut(
            chatId,
            run.runId(),
            chunk("{\"type\":\"text-delta\",\"id\":\"t0\",\"delta\":\"late\"}"));
        fenced = "appended (unexpected)";
      } catch (DurableChatException e) {
        fenced = e.getClass().getSimpleName() + ": " + e.getMessage();
      }
      section(out, "4. Runs (S6, S8: a swap is a compare-and-set that writes one audit row)");
      var runs = new Table("run id", "reason", "previous run", "ended", "end reason");
      for (SessionRun r : chat.runs(chatId)) {
        runs.row(
            r.runId(),
            r.reason().wireName(),
            r.previousRunId(),
            r.endedAt() != null,
            r.endReason());
      }
      runs.print(out);
      out.println(
          "swapped="
              + swap.swapped()
              + ", continuation="
              + swap.continuation()
              + ", session version "
              + chat.session(chatId).version());
      out.println("old run appends to out: " + fenced);

      chat.closeSession(chatId, "demo finished");
      String refused;
      try {
        chat.appendIn(chatId, body.getBytes(StandardCharsets.UTF_8), "part-2");
        refused = "appended (unexpected)";
      } catch (DurableChatException e) {
        refused = e.getClass().getSimpleName() + ": " + e.getMessage();
      }
      section(out, "5. Close (S4, S5: closed once; appends refused, nothing stored)");
      var session = chat.session(chatId);
      new Table("friendly id", "status", "closed reason", "in events", "out events")
          .row(
              session.friendlyId(),
              session.status(java.time.Instant.now()),
              session.closedReason(),
              chat.lastEventId(chatId, dev.durablechat.api.StreamKind.IN),
              chat.lastEventId(chatId, dev.durablechat.api.StreamKind.OUT))
          .print(out);
      out.println("append after close: " + refused);
      out.flush();
      return 0;
    }
  }

  private static OutEvent chunk(String json) {
    return OutEvent.Chunk.of(UIMessageChunk.parse(json));
  }

  private static void section(PrintWriter out, String title) {
    out.println();
    out.println(title);
  }

  private static String abbreviate(String text) {
    return text.length() <= 96 ? text : text.substring(0, 93) + "...";
  }
}
