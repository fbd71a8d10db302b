package dev.durablechat.cli;

import dev.durablechat.api.DurableChatException;
import dev.durablechat.api.Environment;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonNumber;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.OutEvent;
import dev.durablechat.api.Session;
import dev.durablechat.api.SessionPage;
import dev.durablechat.api.SessionQuery;
import dev.durablechat.api.SessionRun;
import dev.durablechat.api.SessionStatus;
import dev.durablechat.api.SnapshotKey;
import dev.durablechat.api.StreamKind;
import dev.durablechat.api.StreamRecord;
import dev.durablechat.api.spi.SessionStore;
import dev.durablechat.api.spi.SnapshotStore;
import dev.durablechat.api.spi.StoreLoader;
import dev.durablechat.api.spi.StoredSnapshot;
import dev.durablechat.core.ChatHistory;
import dev.durablechat.core.DurableChat;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code inspect}: an operator's view of any session store, without SQL: list sessions, show one
 * with its runs, streams and snapshot, print its {@code out} stream as the JSON lines {@code fold}
 * reads, and delete one (the only subcommand that writes). Exit codes: 0 done, 1 the store could
 * not be opened or read (the cause is printed), 2 an unknown session id or a bad option.
 */
@Command(
    name = "inspect",
    mixinStandardHelpOptions = true,
    description = {
      "Shows what a session store holds: sessions, their runs, streams and snapshots; deletes a"
          + " session.",
      "Works on any store serve takes: --store jdbc:h2:file:PATH or jdbc:postgresql://...,"
          + " --snapshots file:DIR or s3://... . An H2 file can be read only while no server"
          + " holds it."
    },
    subcommands = {
      InspectCommand.Sessions.class,
      InspectCommand.OneSession.class,
      InspectCommand.Out.class,
      InspectCommand.Delete.class,
      InspectCommand.CompactSnapshot.class
    },
    exitCodeListHeading = "Exit codes:%n",
    exitCodeList = {
      "0:done",
      "1:the store could not be opened or read",
      "2:no such session, or a bad option"
    })
public final class InspectCommand implements Callable<Integer> {
  static final int UNAVAILABLE = 1;
  static final int NOT_FOUND = 2;

  @Spec CommandLine.Model.CommandSpec spec;

  InspectCommand() {}

  /** Without a subcommand: the usage, as a bad option would. */
  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return NOT_FOUND;
  }

  /** The options every subcommand takes: where the stores are and which environment to read. */
  static final class StoreOptions {
    @Option(
        names = "--store",
        required = true,
        paramLabel = "URL",
        description =
            "The session store: jdbc:h2:file:PATH (as serve --data DIR writes: DIR/chat) or"
                + " jdbc:postgresql://HOST:PORT/DB?user=...")
    String store = "";

    @Option(
        names = "--snapshots",
        paramLabel = "URL",
        description =
            "The snapshot store, to show the snapshot's watermarks: file:DIR, s3://BUCKET/PREFIX"
                + "?endpoint=..., or s3: (OBJECT_STORE_* variables).")
    @Nullable String snapshots;

    @Option(
        names = "--environment",
        paramLabel = "PROJECT/ENV",
        description = "The environment the sessions live in (default: ${DEFAULT-VALUE}, serve's).",
        defaultValue = "demo/dev")
    String environment = "demo/dev";
  }

  /** A failure that ends the command with an exit code and one line on standard error. */
  static final class Exit extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int code;

    Exit(int code, String message) {
      super(message, null, false, false);
      this.code = code;
    }
  }

  /** The stores and an engine over them, opened for one command. */
  static final class Target implements AutoCloseable {
    final SessionStore store;
    final @Nullable SnapshotStore snapshots;
    final DurableChat chat;
    final Environment environment;

    private Target(
        SessionStore store,
        @Nullable SnapshotStore snapshots,
        DurableChat chat,
        Environment environment) {
      this.store = store;
      this.snapshots = snapshots;
      this.chat = chat;
      this.environment = environment;
    }

    static Target open(StoreOptions o) {
      Environment environment = environment(o.environment);
      String problem = ServeCommand.storeProblem(o.store);
      if (problem != null) {
        throw new Exit(NOT_FOUND, problem);
      }
      SessionStore store;
      try {
        store = StoreLoader.openSessionStore(location(o.store));
      } catch (DurableChatException | IllegalArgumentException e) {
        throw unavailable(o.store, e);
      }
      SnapshotStore snapshots = null;
      try {
        if (o.snapshots != null) {
          snapshots = StoreLoader.openSnapshotStore(o.snapshots);
        }
        DurableChat.Builder engine =
            DurableChat.builder().environment(environment).sessionStore(store);
        if (snapshots != null) {
          engine.snapshotStore(snapshots);
        }
        DurableChat chat = engine.build();
        return new Target(store, snapshots, chat, environment);
      } catch (DurableChatException | IllegalArgumentException e) {
        if (snapshots != null) {
          snapshots.close();
        }
        store.close();
        throw unavailable(o.snapshots == null ? o.store : o.snapshots, e);
      }
    }

    /**
     * The session store location: an H2 file must already exist (inspecting a mistyped path must
     * not leave a new empty database behind).
     */
    static String location(String store) {
      if (store.startsWith("jdbc:h2:") && !store.toUpperCase(Locale.ROOT).contains("IFEXISTS")) {
        return store + ";IFEXISTS=TRUE";
      }
      return store;
    }

    private static Environment environment(String value) {
      int slash = value.indexOf('/');
      try {
        if (slash > 0) {
          return new Environment(value.substring(0, slash), value.substring(slash + 1));
        }
      } catch (DurableChatException e) {
        throw new Exit(NOT_FOUND, "--environment [" + value + "]: " + e.getMessage());
      }
      throw new Exit(NOT_FOUND, "--environment [" + value + "] must be PROJECT/ENV, e.g. demo/dev");
    }

    /** The session at the address, or exit 2 naming it. */
    Session session(String address) {
      try {
        return chat.session(address);
      } catch (NoSuchSessionException e) {
        throw new Exit(NOT_FOUND, "no session [" + address + "] in [" + environment + "]");
      }
    }

    @Override
    public void close() {
      chat.close();
      if (snapshots != null) {
        snapshots.close();
      }
      store.close();
    }
  }

  static Exit unavailable(String location, Exception e) {
    String cause = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    return new Exit(
        UNAVAILABLE,
        "could not open ["
            + ServeCommand.redact(location)
            + "]: "
            + ServeCommand.redact(cause.strip()));
  }

  /** Runs a subcommand's body with the shared exit handling. */
  static int run(CommandLine.Model.CommandSpec spec, StoreOptions o, Body body) {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try (Target target = Target.open(o)) {
      body.run(target, out);
      out.flush();
      return 0;
    } catch (Exit e) {
      out.flush();
      err.println("durablechat inspect: " + e.getMessage());
      err.flush();
      return e.code;
    } catch (NoSuchSessionException e) {
      // Deleted while we read it (inspect out --follow, or a racing delete).
      out.flush();
      err.println("durablechat inspect: " + e.getMessage());
      err.flush();
      return NOT_FOUND;
    } catch (DurableChatException e) {
      // The store failed while reading (e.g. the database went away).
      out.flush();
      err.println(
          "durablechat inspect: ["
              + ServeCommand.redact(o.store)
              + "] failed: "
              + ServeCommand.redact(String.valueOf(e.getMessage())));
      err.flush();
      return UNAVAILABLE;
    }
  }

  @FunctionalInterface
  interface Body {
    void run(Target target, PrintWriter out);
  }

  private static String status(Session s, java.time.Instant now) {
    return switch (s.status(now)) {
      case ACTIVE -> "open";
      case CLOSED -> "closed";
      case EXPIRED -> "expired";
    };
  }

  // ------------------------------------------------------------------ inspect sessions

  /** {@code inspect sessions}: one page of sessions as a table, newest first. */
  @Command(
      name = "sessions",
      mixinStandardHelpOptions = true,
      description = "Lists sessions, newest first, as a table; filters combine.")
  static final class Sessions implements Callable<Integer> {
    @Spec CommandLine.Model.CommandSpec spec;
    @Mixin StoreOptions stores = new StoreOptions();

    @Option(names = "--agent", paramLabel = "A", description = "Only the sessions of this agent.")
    @Nullable String agent;

    @Option(names = "--tag", paramLabel = "T", description = "Only the sessions with this tag.")
    @Nullable String tag;

    @Option(
        names = "--status",
        paramLabel = "S",
        description = "Only the sessions that are open, closed or expired.")
    @Nullable String status;

    @Option(
        names = "--limit",
        paramLabel = "N",
        description = "How many to show (default: ${DEFAULT-VALUE}, at most 500).",
        defaultValue = "50")
    int limit = 50;

    @Option(
        names = "--cursor",
        paramLabel = "C",
        description = "Continue after a previous listing (it prints the cursor of the next page).")
    @Nullable String cursor;

    @Override
    public Integer call() {
      SessionQuery query;
      try {
        SessionQuery.Builder b = SessionQuery.builder().limit(limit).cursor(cursor);
        b.agentId(agent).tag(tag);
        if (status != null) {
          b.status(parseStatus(status));
        }
        query = b.build();
      } catch (DurableChatException e) {
        spec.commandLine().getErr().println("durablechat inspect: " + e.getMessage());
        spec.commandLine().getErr().flush();
        return NOT_FOUND;
      }
      return run(
          spec,
          stores,
          (target, out) -> {
            SessionPage page = target.chat.listSessions(query);
            java.time.Instant now = target.chat.clock().instant();
            var table =
                new Table(
                    "ID", "EXTERNAL ID", "AGENT", "STATUS", "CREATED", "UPDATED", "RUN", "TAGS");
            for (Session s : page.sessions()) {
              table.row(
                  s.friendlyId(),
                  s.externalId(),
                  s.agentId(),
                  status(s, now),
                  s.createdAt(),
                  s.updatedAt(),
                  s.currentRunId(),
                  s.triggerConfig().tags().isEmpty()
                      ? null
                      : String.join(",", s.triggerConfig().tags()));
            }
            table.print(out);
            out.println(
                page.sessions().size()
                    + (page.sessions().size() == 1 ? " session" : " sessions")
                    + (page.nextCursor() == null
                        ? ""
                        : "; next page: --cursor " + page.nextCursor()));
          });
    }

    private static SessionStatus parseStatus(String value) {
      return switch (value.toLowerCase(Locale.ROOT)) {
        case "open" -> SessionStatus.ACTIVE;
        case "closed" -> SessionStatus.CLOSED;
        case "expired" -> SessionStatus.EXPIRED;
        default ->
            throw new dev.durablechat.api.InvalidInputException(
                "--status [" + value + "] must be one of [open, closed, expired]");
      };
    }
  }

  // ------------------------------------------------------------------ inspect session ID

  /** {@code inspect session ID}: the row, its runs, its streams and its snapshot. */
  @Command(
      name = "session",
      mixinStandardHelpOptions = true,
      description =
          "Shows one session (by friendly or external id): the row, its runs, each stream's"
              + " first and last event id, and its snapshot's watermarks (with --snapshots).")
  static final class OneSession implements Callable<Integer> {
    @Spec CommandLine.Model.CommandSpec spec;
    @Mixin StoreOptions stores = new StoreOptions();

    @Parameters(index = "0", paramLabel = "ID", description = "The friendly or external id.")
    String id = "";

    @Override
    public Integer call() {
      return run(
          spec,
          stores,
          (target, out) -> {
            Session s = target.session(id);
            java.time.Instant now = target.chat.clock().instant();
            var fields = new Table("FIELD", "VALUE");
            fields.row("id", s.friendlyId());
            fields.row("external id", s.externalId());
            fields.row("environment", s.environment());
            fields.row("agent", s.agentId());
            fields.row("status", status(s, now));
            fields.row("current run", s.currentRunId());
            fields.row("version", s.version());
            fields.row("created", s.createdAt());
            fields.row("updated", s.updatedAt());
            fields.row("closed", s.closedAt());
            fields.row("closed reason", s.closedReason());
            fields.row("expires", s.expiresAt());
            fields.row("tags", String.join(",", s.triggerConfig().tags()));
            fields.row("trigger config", Json.write(s.triggerConfig().toJson()));
            fields.row("client data", Json.write(s.clientData()));
            fields.print(out);

            out.println();
            List<SessionRun> runs = target.chat.runs(s.friendlyId());
            var runTable =
                new Table("RUN", "REASON", "PREVIOUS", "STARTED", "ENDED", "END REASON", "RENEWED");
            for (SessionRun r : runs) {
              runTable.row(
                  r.runId(),
                  r.reason().wireName(),
                  r.previousRunId(),
                  r.startedAt(),
                  r.endedAt(),
                  r.endReason(),
                  r.renewedAt());
            }
            runTable.print(out);

            out.println();
            var streams = new Table("STREAM", "FIRST", "LAST");
            for (StreamKind kind : List.of(StreamKind.IN, StreamKind.OUT)) {
              List<dev.durablechat.api.spi.StoredRecord> first =
                  target.store.read(s.friendlyId(), kind, 0, 1);
              streams.row(
                  kind.name().toLowerCase(Locale.ROOT),
                  first.isEmpty() ? null : first.get(0).seq(),
                  target.store.lastSeq(s.friendlyId(), kind));
            }
            streams.print(out);

            out.println();
            out.println(snapshotLine(target, s));
          });
    }

    private static String snapshotLine(Target target, Session s) {
      if (target.snapshots == null) {
        return "snapshot: not shown (no --snapshots)";
      }
      Optional<StoredSnapshot> stored =
          target.snapshots.read(new SnapshotKey(target.environment, s.friendlyId()));
      if (stored.isEmpty()) {
        return "snapshot: none";
      }
      JsonObject json;
      try {
        json = Json.parseObject(new String(stored.get().content(), StandardCharsets.UTF_8));
      } catch (DurableChatException e) {
        return "snapshot: unreadable (" + e.getMessage() + ")";
      }
      // A full document (version 1) holds the messages; a manifest (version 2, H1) counts them and
      // names its segments.
      int messages =
          json.get("messages") instanceof JsonArray a
              ? a.size()
              : json.get("messages") instanceof JsonNumber n ? (int) n.longValue() : 0;
      int segments = json.get("segments") instanceof JsonArray seg ? seg.size() : 0;
      return "snapshot: out <= "
          + number(json, "lastOutEventId")
          + ", in <= "
          + number(json, "lastInEventId")
          + ", "
          + messages
          + (messages == 1 ? " message" : " messages")
          + (segments == 0 ? "" : " in " + segments + (segments == 1 ? " segment" : " segments"))
          + ", saved "
          + json.string("savedAt").orElse("-")
          + ", version "
          + stored.get().version();
    }

    private static String number(JsonObject json, String name) {
      JsonValue v = json.get(name);
      return v instanceof JsonNumber n ? String.valueOf(n.longValue()) : "-";
    }
  }

  // ------------------------------------------------------------------ inspect out ID

  /** {@code inspect out ID}: the out stream's chunks as JSON lines, which {@code fold} reads. */
  @Command(
      name = "out",
      mixinStandardHelpOptions = true,
      description = {
        "Prints the session's out stream, one UI message chunk per line (JSON Lines, the input"
            + " 'durablechat fold' takes). Control records (turn-complete, upgrade-required) go to"
            + " standard error as '# <event id> <control>' lines, so the output folds as it is.",
        "With --follow it keeps printing new records until the session is closed or Ctrl-C."
      })
  static final class Out implements Callable<Integer> {
    private static final int PAGE = 500;

    @Spec CommandLine.Model.CommandSpec spec;
    @Mixin StoreOptions stores = new StoreOptions();

    @Parameters(index = "0", paramLabel = "ID", description = "The friendly or external id.")
    String id = "";

    @Option(
        names = "--from",
        paramLabel = "N",
        description = "The first event id to print (default: ${DEFAULT-VALUE}, the start).",
        defaultValue = "1")
    long from = 1;

    @Option(
        names = "--follow",
        description = "Keep printing records as they land, until the session is closed.")
    boolean follow;

    @Override
    public Integer call() {
      if (from < 1) {
        spec.commandLine()
            .getErr()
            .println("durablechat inspect: --from [" + from + "] must be at least 1");
        spec.commandLine().getErr().flush();
        return NOT_FOUND;
      }
      PrintWriter err = spec.commandLine().getErr();
      return run(
          spec,
          stores,
          (target, out) -> {
            Session s = target.session(id);
            String sessionId = s.friendlyId();
            var landed = new Semaphore(0);
            AutoCloseable watch =
                follow ? target.store.watch(sessionId, StreamKind.OUT, landed::release) : null;
            try {
              long after = from - 1;
              while (true) {
                List<StreamRecord<OutEvent>> records = target.chat.readOut(sessionId, after, PAGE);
                for (StreamRecord<OutEvent> r : records) {
                  print(r, out, err);
                  after = r.eventId();
                }
                out.flush();
                if (records.size() == PAGE) {
                  continue;
                }
                if (!follow || closedAndDrained(target, sessionId, after)) {
                  return;
                }
                // Woken by the store's watch; the timeout re-checks the close, which no append
                // announces.
                if (landed.tryAcquire(1, TimeUnit.SECONDS)) {
                  landed.drainPermits();
                }
              }
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            } finally {
              if (watch != null) {
                try {
                  watch.close();
                } catch (Exception e) {
                  err.println("durablechat inspect: closing the watch failed: " + e.getMessage());
                }
              }
            }
          });
    }

    private static boolean closedAndDrained(Target target, String sessionId, long after) {
      Session now = target.chat.session(sessionId);
      return !now.isActive(target.chat.clock().instant())
          && target.chat.lastEventId(sessionId, StreamKind.OUT) <= after;
    }

    private static void print(StreamRecord<OutEvent> r, PrintWriter out, PrintWriter err) {
      OutEvent event = r.event();
      if (event instanceof OutEvent.Chunk c) {
        out.println(Json.write(c.chunk().json()));
        return;
      }
      out.flush();
      if (event instanceof OutEvent.TurnComplete t) {
        err.println(
            "# " + r.eventId() + " turn-complete (in <= " + t.lastDispatchedInEventId() + ")");
      } else {
        err.println("# " + r.eventId() + " upgrade-required");
      }
      err.flush();
    }
  }

  // ------------------------------------------------------------------ inspect delete ID

  /** {@code inspect delete ID}: deletes the session with its runs, streams and snapshot (S11). */
  @Command(
      name = "delete",
      mixinStandardHelpOptions = true,
      description =
          "Deletes one session (by friendly or external id) with its runs, both streams and its"
              + " snapshot (S11). Needs --snapshots, so that the snapshot goes too, or"
              + " --no-snapshots when the application keeps none. Servers sharing a PostgreSQL"
              + " store end the session's readers and run.")
  static final class Delete implements Callable<Integer> {
    @Spec CommandLine.Model.CommandSpec spec;
    @Mixin StoreOptions stores = new StoreOptions();

    @Parameters(index = "0", paramLabel = "ID", description = "The friendly or external id.")
    String id = "";

    @Option(
        names = "--no-snapshots",
        description = "The application keeps no snapshots: delete without a snapshot store.")
    boolean noSnapshots;

    @Override
    public Integer call() {
      if (stores.snapshots == null && !noSnapshots) {
        PrintWriter err = spec.commandLine().getErr();
        err.println(
            "durablechat inspect: delete needs --snapshots URL (the session's snapshot is deleted"
                + " with it), or --no-snapshots if there are none");
        err.flush();
        return NOT_FOUND;
      }
      return run(
          spec,
          stores,
          (target, out) -> {
            target.session(id);
            Session deleted;
            try {
              deleted = target.chat.deleteSession(id);
            } catch (NoSuchSessionException e) {
              // A concurrent delete came first.
              throw new Exit(NOT_FOUND, "no session [" + id + "] in [" + target.environment + "]");
            }
            out.println(
                "deleted session ["
                    + deleted.friendlyId()
                    + "]"
                    + (deleted.externalId() == null
                        ? ""
                        : " (external id [" + deleted.externalId() + "])"));
          });
    }
  }

  // ------------------------------------------------------------------ inspect compact-snapshot ID

  /**
   * {@code inspect compact-snapshot ID}: rewrites a segmented snapshot (H1: a manifest naming
   * segments) as one full version 1 {@code snapshot.json} and deletes its segments, the way back to
   * a release that reads only full snapshots (docs/history.md "Migration").
   */
  @Command(
      name = "compact-snapshot",
      mixinStandardHelpOptions = true,
      description =
          "Rewrites one session's segmented snapshot (a manifest and segments, H1) as one full"
              + " version 1 snapshot.json and deletes the segments: the way back to a release"
              + " that reads only full snapshots. Run it with the session's runs stopped; a"
              + " turn that writes meanwhile wins and the command exits 1 (run it again).")
  static final class CompactSnapshot implements Callable<Integer> {
    @Spec CommandLine.Model.CommandSpec spec;
    @Mixin StoreOptions stores = new StoreOptions();

    @Parameters(index = "0", paramLabel = "ID", description = "The friendly or external id.")
    String id = "";

    @Override
    public Integer call() {
      if (stores.snapshots == null) {
        PrintWriter err = spec.commandLine().getErr();
        err.println("durablechat inspect: compact-snapshot needs --snapshots URL");
        err.flush();
        return NOT_FOUND;
      }
      return run(
          spec,
          stores,
          (target, out) -> {
            Session s = target.session(id);
            SnapshotKey key = new SnapshotKey(target.environment, s.friendlyId());
            boolean compacted =
                ChatHistory.compactSnapshot(
                    java.util.Objects.requireNonNull(target.snapshots), key);
            out.println(
                compacted
                    ? "compacted the snapshot of session ["
                        + s.friendlyId()
                        + "] into one version 1 document"
                    : "the snapshot of session ["
                        + s.friendlyId()
                        + "] is already one full document, or there is none");
          });
    }
  }
}
