// The published browser transport (TriggerChatTransport from @trigger.dev/sdk/chat) and the AI SDK's
// readUIMessageStream against a durablechat HTTP adapter. Every scenario uses its own chat id
// (CHAT_PREFIX + "-" + scenario). Usage: node transport.mjs [scenario...]; env: see lib.mjs.
// Prints one JSON line per scenario; exit code 0 when all passed.

import { TriggerChatTransport } from "@trigger.dev/sdk/chat";
import { chat } from "@trigger.dev/sdk/ai";
import { auth, sessions } from "@trigger.dev/sdk";
import {
  env,
  chatId,
  userMessage,
  expectedReply,
  words,
  check,
  checkEqual,
  rejection,
  readChunks,
  fold,
  textOf,
  types,
  recordingFetch,
  runScenarios,
  waitUntil,
} from "./lib.mjs";

/** A session token minted the way apps do it: the SDK signs claims from /api/v1/auth/jwt/claims. */
function mintToken(id, expirationTime) {
  return auth.createPublicToken({
    scopes: { read: { sessions: id }, write: { sessions: id } },
    ...(expirationTime !== undefined ? { expirationTime } : {}),
  });
}

/** The server action apps hand to the transport's startSession: POST /api/v1/sessions. */
function startSessionFor(agent) {
  const action = chat.createStartSessionAction(agent);
  return ({ chatId, clientData }) => action({ chatId, clientData });
}

function transport({ agent = env.echoAgent, accessToken, fetch, sessions: hydrated, onSessionChange, ...rest } = {}) {
  return new TriggerChatTransport({
    ...rest,
    task: agent,
    baseURL: env.baseURL,
    accessToken: accessToken ?? (({ chatId }) => mintToken(chatId)),
    startSession: startSessionFor(agent),
    ...(fetch ? { fetch } : {}),
    ...(hydrated ? { sessions: hydrated } : {}),
    ...(onSessionChange ? { onSessionChange } : {}),
  });
}

function send(t, id, messages, abortSignal) {
  return t.sendMessages({
    trigger: "submit-message",
    chatId: id,
    messageId: undefined,
    messages,
    abortSignal,
    body: undefined,
    metadata: undefined,
  });
}

/** Sends one text and checks the streamed reply; returns the chunks. */
async function turn(t, id, text, history = []) {
  const chunks = await readChunks(await send(t, id, [...history, userMessage(text)]));
  const message = await fold(chunks);
  checkEqual(textOf(message), expectedReply(text), `reply to [${text}] (chunks ${types(chunks)})`);
  check(message.role === "assistant", `reply role: expected assistant, actual ${message.role}`);
  return chunks;
}

/** The echo agent's reasoning and tool parts, as the AI SDK folded them. */
async function checkRichParts(chunks, text) {
  const message = await fold(chunks);
  const reasoning = message.parts.filter((p) => p.type === "reasoning");
  checkEqual(reasoning.map((p) => p.text), ["the user wants an echo"], "reasoning parts");
  const tools = message.parts.filter((p) => p.type === "tool-lookup");
  checkEqual(
    tools.map((p) => ({ state: p.state, input: p.input, output: p.output })),
    [{ state: "output-available", input: { q: text }, output: { hits: 1 } }],
    "tool parts",
  );
}

const textDeltas = (n) => (chunk, all) => all.filter((c) => c.type === "text-delta").length >= n;
const outRequests = (f) => f.requests.filter((r) => r.url.endsWith("/out"));
const appendRequests = (f) => f.requests.filter((r) => r.url.endsWith("/in/append"));

const scenarios = {
  /** preload, two turns, each reply streamed and folded by the AI SDK; no replay of turn 1. */
  async reply() {
    const id = chatId("reply");
    const f = recordingFetch();
    const t = transport({ fetch: f });
    await t.preload(id);
    const started = t.getSession(id);
    check(started?.publicAccessToken, `no token after preload: ${JSON.stringify(started)}`);
    checkEqual(f.requests.length, 0, "requests the transport itself made on preload");
    await checkRichParts(await turn(t, id, "hello there"), "hello there");
    const after1 = t.getSession(id);
    check(after1.isStreaming === false, `isStreaming after turn 1: ${after1.isStreaming}`);
    check(/^\d+$/.test(after1.lastEventId ?? ""), `lastEventId after turn 1: ${after1.lastEventId}`);
    await turn(t, id, "and again");
    const append = appendRequests(f);
    checkEqual(append.map((r) => r.status), [200, 200], "in/append statuses");
    check(append.every((r) => r.headers["x-part-id"]), "every append carries X-Part-Id");
    const out = outRequests(f);
    check(out.length >= 2, `out subscriptions: ${out.length}`);
    checkEqual(out[1].headers["last-event-id"], after1.lastEventId, "turn 2 subscribes after turn 1's cursor");
    return { lastEventId: t.getSession(id).lastEventId };
  },

  /** The socket drops mid-reply: the SDK reconnects by itself with Last-Event-ID, no chunk lost or doubled. */
  async "resume-drop"() {
    const id = chatId("resume-drop");
    let cuts = 0;
    const f = recordingFetch({
      cut: (url) => (url.endsWith("/out") && cuts++ === 0 ? { frames: 3, mode: "error" } : undefined),
    });
    const t = transport({ agent: env.slowAgent, fetch: f });
    const text = words(12);
    const chunks = await readChunks(await send(t, id, [userMessage(text)]));
    checkEqual(textOf(await fold(chunks)), expectedReply(text), `reply after a drop (chunks ${types(chunks)})`);
    const out = outRequests(f);
    check(out.length >= 2, `expected a reconnect after the drop, got ${out.length} out request(s)`);
    check(/^\d+$/.test(out[1].headers["last-event-id"] ?? ""), `reconnect Last-Event-ID: ${out[1].headers["last-event-id"]}`);
    return { reconnectFrom: out[1].headers["last-event-id"] };
  },

  /** The server's long-poll ends mid-reply (clean EOF): the transport resubscribes from its cursor. */
  async "resume-eof"() {
    const id = chatId("resume-eof");
    let cuts = 0;
    const f = recordingFetch({
      cut: (url) => (url.endsWith("/out") && cuts++ === 0 ? { frames: 3, mode: "eof" } : undefined),
    });
    const t = transport({ agent: env.slowAgent, fetch: f });
    const text = words(12);
    const chunks = await readChunks(await send(t, id, [userMessage(text)]));
    checkEqual(textOf(await fold(chunks)), expectedReply(text), `reply after an EOF (chunks ${types(chunks)})`);
    const out = outRequests(f);
    check(out.length >= 2, `expected a resubscribe after the EOF, got ${out.length} out request(s)`);
    check(/^\d+$/.test(out[1].headers["last-event-id"] ?? ""), `resubscribe Last-Event-ID: ${out[1].headers["last-event-id"]}`);
  },

  /**
   * A page reload mid-reply of turn 2: a fresh transport hydrated from the persisted
   * {publicAccessToken, lastEventId} resumes the reply (X-Peek-Settled, not settled); a reload
   * after the turn ended resumes nothing and returns at once (X-Session-Settled).
   */
  async "resume-reload"() {
    const id = chatId("resume-reload");
    let persisted;
    const t1 = transport({ agent: env.slowAgent, onSessionChange: (_, s) => (persisted = s) });
    await turn(t1, id, "first");
    const text = words(14);
    const live = await send(t1, id, [userMessage(text)]);
    const partial = await readChunks(live, { stop: textDeltas(3) });
    // What an app keeps in localStorage from onSessionChange / getSession while the reply streams.
    const snapshot = t1.getSession(id);
    check(snapshot?.isStreaming === true, `session state mid-reply: ${JSON.stringify(snapshot)}`);
    checkEqual(persisted?.lastEventId, snapshot.lastEventId, "lastEventId given to onSessionChange");
    const saved = { publicAccessToken: snapshot.publicAccessToken, lastEventId: snapshot.lastEventId };
    await live.cancel();
    t1.dispose();

    const t2 = transport({ agent: env.slowAgent, sessions: { [id]: saved } });
    const resumed = await t2.reconnectToStream({ chatId: id });
    check(resumed, "reconnectToStream after a reload returned null");
    const chunks = await readChunks(resumed);
    checkEqual(textOf(await fold(chunks)), expectedReply(text), `reply resumed after a reload (chunks ${types(chunks)})`);
    check(partial.length > 0, "read nothing before the reload");

    const done = t2.getSession(id);
    const f3 = recordingFetch();
    const t3 = transport({ agent: env.slowAgent, fetch: f3, sessions: { [id]: { publicAccessToken: done.publicAccessToken, lastEventId: done.lastEventId } } });
    const idle = await t3.reconnectToStream({ chatId: id });
    const rest = idle ? await readChunks(idle, { timeoutMs: 15_000 }) : [];
    checkEqual(types(rest), "", "chunks resumed after a reload at the end of a finished turn");
    // Settled at once, not after a stream window: one out request, whose answer said so.
    checkEqual(outRequests(f3).map((r) => [r.status, r.settled]), [[200, "true"]], "out requests of a settled resume (status, X-Session-Settled)");
  },

  /** Stop mid-reply: the stream ends with a partial reply; the next message gets its whole reply. */
  async stop() {
    const id = chatId("stop");
    const t = transport({ agent: env.slowAgent });
    const text = words(20);
    const stream = await send(t, id, [userMessage(text)]);
    const reader = stream.getReader();
    const chunks = [];
    while (chunks.filter((c) => c.type === "text-delta").length < 2) {
      const { done, value } = await reader.read();
      check(!done, `stream ended before the stop (chunks ${types(chunks)})`);
      chunks.push(value);
    }
    check(await t.stopGeneration(id), "stopGeneration returned false");
    reader.releaseLock();
    chunks.push(...(await readChunks(stream, { timeoutMs: 10_000 })));
    const partial = textOf(await fold(chunks));
    const full = expectedReply(text);
    check(full.startsWith(partial) && partial.length < full.length, `stopped reply [${partial}] is not a proper prefix of [${full}]`);
    await turn(t, id, "after the stop");
    return { partial };
  },

  /** An expired token: the transport calls accessToken once, retries the append with the same X-Part-Id; same for the SSE. */
  async "refresh-401"() {
    const id = chatId("refresh-401");
    await startSessionFor(env.echoAgent)({ chatId: id });
    const expired = await mintToken(id, Math.floor(Date.now() / 1000) - 60);
    let refreshes = 0;
    const f = recordingFetch();
    const t = transport({
      fetch: f,
      sessions: { [id]: { publicAccessToken: expired } },
      accessToken: ({ chatId }) => {
        refreshes++;
        return mintToken(chatId);
      },
    });
    await turn(t, id, "with a stale token");
    checkEqual(refreshes, 1, "accessToken calls after the append's 401");
    const append = appendRequests(f);
    checkEqual(append.map((r) => r.status), [401, 200], "in/append statuses");
    checkEqual(append[1].headers["x-part-id"], append[0].headers["x-part-id"], "X-Part-Id of the retry");

    t.setSession(id, { publicAccessToken: expired, lastEventId: undefined, isStreaming: true });
    const resumed = await t.reconnectToStream({ chatId: id });
    check(resumed, "reconnectToStream returned null");
    const chunks = await readChunks(resumed);
    checkEqual(textOf(await fold(chunks)), expectedReply("with a stale token"), "reply replayed after the SSE's 401");
    checkEqual(refreshes, 2, "accessToken calls after the SSE's 401");
    const out = outRequests(f).slice(-2);
    checkEqual(out.map((r) => r.status), [401, 200], "statuses of the last two out requests");
  },

  /**
   * The token a turn-complete carries (public-access-token) replaces the transport's: a session
   * token that expires right after turn 1 still lets turn 2 through without an accessToken call.
   */
  async "token-from-turn-complete"() {
    const id = chatId("token-from-turn-complete");
    await startSessionFor(env.echoAgent)({ chatId: id });
    const expiresAt = Math.floor(Date.now() / 1000) + 3;
    const shortLived = await mintToken(id, expiresAt);
    let refreshes = 0;
    const f = recordingFetch();
    const t = transport({
      fetch: f,
      sessions: { [id]: { publicAccessToken: shortLived } },
      accessToken: ({ chatId }) => {
        refreshes++;
        return mintToken(chatId);
      },
    });
    await turn(t, id, "quick");
    check(t.getSession(id).publicAccessToken !== shortLived, "the turn-complete did not replace the token");
    // Until the server itself refuses the short-lived token (its clock and leeway decide).
    await waitUntil(async () => {
      const r = await fetch(`${env.baseURL}/realtime/v1/sessions/${encodeURIComponent(id)}/out`, {
        headers: { Authorization: `Bearer ${shortLived}`, "X-Peek-Settled": "true" },
      });
      await r.body?.cancel();
      return r.status === 401;
    }, "the server to refuse the expired short-lived token");
    await turn(t, id, "after the short token expired");
    checkEqual(refreshes, 0, "accessToken calls");
    checkEqual(appendRequests(f).map((r) => r.status), [200, 200], "in/append statuses");
  },

  /** Another chat's token: 403 on append (after one refresh) and on the SSE; nothing stored. */
  async "forbidden-403"() {
    const id = chatId("forbidden-403");
    const other = chatId("forbidden-403-other");
    await startSessionFor(env.echoAgent)({ chatId: id });
    await startSessionFor(env.echoAgent)({ chatId: other });
    const foreign = await mintToken(other);
    let refreshes = 0;
    const t = transport({
      sessions: { [id]: { publicAccessToken: foreign } },
      accessToken: () => {
        refreshes++;
        return foreign;
      },
    });
    const e = await rejection(send(t, id, [userMessage("not mine")]), "send with another chat's token");
    checkEqual(e.status, 403, `status of the refused send (${e.message})`);
    checkEqual(refreshes, 1, "accessToken calls (one refresh, then the 403 stands)");

    t.setSession(id, { publicAccessToken: foreign, isStreaming: true });
    const stream = await t.reconnectToStream({ chatId: id });
    check(stream, "reconnectToStream returned null");
    const streamError = await rejection(readChunks(stream), "out with another chat's token");
    checkEqual(streamError.status, 403, `status of the refused out (${streamError.message})`);
  },

  /** regenerate-message (no message on the wire): the agent answers the last user message again. */
  async regenerate() {
    const id = chatId("regenerate");
    const t = transport();
    const user = userMessage("say it twice");
    const first = await readChunks(await send(t, id, [user]));
    const answer = await fold(first);
    const again = await readChunks(
      await t.sendMessages({
        trigger: "regenerate-message",
        chatId: id,
        messageId: answer.id,
        messages: [user],
        abortSignal: undefined,
        body: undefined,
        metadata: undefined,
      }),
    );
    checkEqual(textOf(await fold(again)), expectedReply("say it twice"), `regenerated reply (chunks ${types(again)})`);
  },

  /**
   * A hydrated token for a chat the server does not know (e.g. a memory backend restarted): 404
   * on append, the transport recreates the session through startSession and retries.
   */
  async "unknown-404"() {
    const id = chatId("unknown-404");
    const f = recordingFetch();
    const t = transport({ fetch: f, sessions: { [id]: { publicAccessToken: await mintToken(id), lastEventId: "7" } } });
    await turn(t, id, "are you there");
    checkEqual(appendRequests(f).map((r) => r.status), [404, 200], "in/append statuses");
    check(outRequests(f).every((r) => r.headers["last-event-id"] === undefined), "the stale cursor was dropped with the recreate");
  },

  /** Timeout-Seconds: 1 against a reply that pauses 2.5 s: the server ends the window, the transport resubscribes. */
  async "long-poll-window"() {
    const id = chatId("long-poll-window");
    const f = recordingFetch();
    const t = transport({ agent: env.pausingAgent, fetch: f, streamTimeoutSeconds: 1 });
    const text = words(6);
    const chunks = await readChunks(await send(t, id, [userMessage(text)]));
    checkEqual(textOf(await fold(chunks)), expectedReply(text), `reply over several windows (chunks ${types(chunks)})`);
    const out = outRequests(f);
    check(out.every((r) => r.headers["timeout-seconds"] === "1"), "every subscription asked for Timeout-Seconds: 1");
    check(out.length >= 2, `expected the server to end the 1 s window mid-reply, got ${out.length} subscription(s)`);
    return { subscriptions: out.length };
  },

  /** A stop the moment after the send (before any output): the next message still gets its whole reply. */
  async "stop-immediately"() {
    const id = chatId("stop-immediately");
    const t = transport({ agent: env.slowAgent });
    const stream = await send(t, id, [userMessage(words(20))]);
    check(await t.stopGeneration(id), "stopGeneration returned false");
    await readChunks(stream, { timeoutMs: 10_000 });
    await turn(t, id, "next one");
  },

  /** A stop after the turn ended (nothing to stop) must not cut the next turn short. */
  async "stop-after-turn"() {
    const id = chatId("stop-after-turn");
    const t = transport({ agent: env.slowAgent });
    await turn(t, id, "first");
    check(await t.stopGeneration(id), "stopGeneration returned false");
    await turn(t, id, "second one after a late stop");
  },

  /**
   * A second tab in watch mode: one standing subscription shows both turns another transport
   * drives, across the idle gap between them, and ends when the session is closed.
   */
  async watch() {
    const id = chatId("watch");
    const driver = transport({ agent: env.slowAgent });
    await turn(driver, id, "one");
    const token = driver.getSession(id).publicAccessToken;
    const cursor = driver.getSession(id).lastEventId;
    const wf = recordingFetch();
    const watcher = transport({ agent: env.slowAgent, watch: true, fetch: wf, sessions: { [id]: { publicAccessToken: token, lastEventId: cursor } } });
    const stream = await watcher.reconnectToStream({ chatId: id });
    check(stream, "watch-mode reconnectToStream returned null");
    let watcherFinishes = 0;
    const reading = readChunks(stream, {
      timeoutMs: 30_000,
      stop: (c) => {
        if (c.type === "finish") watcherFinishes++;
        return false;
      },
    });
    // The standing subscription is open before turn two, and has shown turn two live before
    // turn three is sent: markers the watcher reports, not pauses.
    await waitUntil(() => outRequests(wf).some((r) => r.status === 200), "the watcher's subscription");
    await turn(driver, id, "two");
    await waitUntil(() => watcherFinishes >= 1, "the watcher to show turn two");
    await turn(driver, id, "three");
    await sessions.close(id, { reason: "watched" });
    const chunks = await reading;
    const finishes = chunks.filter((c) => c.type === "finish").length;
    checkEqual(finishes, 2, `finish chunks seen by the watcher (chunks ${types(chunks)})`);
    const deltas = chunks.filter((c) => c.type === "text-delta").map((c) => c.delta).join("");
    checkEqual(deltas, expectedReply("two") + expectedReply("three"), "text the watcher saw");
    checkEqual(watcher.sessionStatus(id), "closed", "watcher's sessionStatus after sessions.close");
    checkEqual(watcher.sessionClosedReason(id), "watched", "watcher's sessionClosedReason");
  },

  /**
   * The run ended on idle between two turns: the session gets a new run (S7) and the next turn is
   * answered. A session start names the run serving the session: the first run's id until it has
   * idled out, then the continuation's (the start ensures one), which is the marker waited for.
   */
  async "after-idle"() {
    const id = chatId("after-idle");
    const start = startSessionFor(env.sleepyAgent);
    const { runId: napping } = await start({ chatId: id });
    const t = transport({ agent: env.sleepyAgent });
    await turn(t, id, "before the nap");
    await waitUntil(async () => (await start({ chatId: id })).runId !== napping, `run [${napping}] to idle out`);
    await turn(t, id, "after the nap");
  },

  /** A turn that fails in the agent: an error chunk, then the stream ends (no hang). */
  async "agent-error"() {
    const id = chatId("agent-error");
    const t = transport({ agent: env.failingAgent });
    const chunks = await readChunks(await send(t, id, [userMessage("break")]), { timeoutMs: 15_000 });
    const errors = chunks.filter((c) => c.type === "error");
    checkEqual(errors.length, 1, `error chunks (chunks ${types(chunks)})`);
    check(typeof errors[0].errorText === "string" && errors[0].errorText.length > 0, `errorText: ${JSON.stringify(errors[0])}`);
    const texts = chunks.filter((c) => c.type === "text-delta").map((c) => c.delta).join("");
    checkEqual(texts, "partial ", "text before the failure");
    check(t.getSession(id).isStreaming === false, "the transport saw the turn end");
    return { errorText: errors[0].errorText };
  },

  /**
   * A chat id with a space, a slash, a plus, a percent sign, a colon and non-ASCII letters (the
   * transport sends it encodeURIComponent'ed; the token scope holds it raw), and a message with an
   * emoji: both come back unchanged.
   */
  async "odd-chat-id"() {
    const id = chatId("odd id/ü+%:x");
    const f = recordingFetch();
    const t = transport({ fetch: f });
    await turn(t, id, "héllo 👋 wörld");
    check(f.requests.every((r) => !r.url.includes("odd id")), "the transport encodes the chat id in the URL");
    const closed = await sessions.close(id, { reason: "bye" });
    checkEqual(closed.externalId, id, "externalId returned by sessions.close");
  },

  /** A body over the cap: 413, the session stays usable. */
  async "too-large-413"() {
    const id = chatId("too-large-413");
    const t = transport();
    await t.preload(id);
    const e = await rejection(send(t, id, [userMessage("x".repeat(600 * 1024))]), "an oversized send");
    checkEqual(e.status, 413, `status of the oversized send (${e.message.slice(0, 200)})`);
    await turn(t, id, "small enough");
  },

  /** After sessions.close: 409 session_closed with the reason, terminal on the client, and for sessions.start. */
  async "closed-409"() {
    const id = chatId("closed-409");
    const f = recordingFetch();
    const t = transport({ fetch: f });
    await turn(t, id, "before the close");
    const closed = await sessions.close(id, { reason: "done" });
    checkEqual(closed.closedReason, "done", "closedReason returned by sessions.close");
    check(closed.closedAt instanceof Date, `closedAt returned by sessions.close: ${closed.closedAt}`);
    const e = await rejection(send(t, id, [userMessage("too late")]), "a send after the close");
    checkEqual([e.status, e.code, e.closedReason], [409, "session_closed", "done"], "status, code, closedReason");
    checkEqual(t.sessionStatus(id), "closed", "transport.sessionStatus");
    const appends = appendRequests(f).length;
    await rejection(send(t, id, [userMessage("still too late")]), "a second send after the close");
    checkEqual(appendRequests(f).length, appends, "appends sent after the client knew the session closed");
    // A reload after the close: the transcript stays readable, the resume ends on session-closed.
    const saved = t.getSession(id);
    const reloaded = transport({ sessions: { [id]: { publicAccessToken: saved.publicAccessToken, lastEventId: saved.lastEventId } } });
    const resumed = await reloaded.reconnectToStream({ chatId: id });
    check(resumed, "reconnectToStream after the close returned null");
    const rest = await readChunks(resumed, { timeoutMs: 10_000 });
    checkEqual(types(rest), "", "chunks resumed after the close");
    checkEqual([reloaded.sessionStatus(id), reloaded.sessionClosedReason(id)], ["closed", "done"], "status and reason seen by a reloaded transport");
    // The SDK's server-side client calls the global fetch; count the session creations it sends.
    const starts = [];
    const plainFetch = globalThis.fetch;
    globalThis.fetch = (input, init) => {
      const url = typeof input === "string" ? input : input.url;
      if ((init?.method ?? input.method) === "POST" && new URL(url).pathname === "/api/v1/sessions") starts.push(url);
      return plainFetch(input, init);
    };
    let restart;
    try {
      restart = await rejection(startSessionFor(env.echoAgent)({ chatId: id }), "sessions.start of a closed session");
    } finally {
      globalThis.fetch = plainFetch;
    }
    checkEqual(restart.status, 409, `status of sessions.start on a closed session (${restart.message})`);
    checkEqual(starts.length, 1, "session creations the SDK sent for one sessions.start: a retried 409 (x-should-retry: false missing?) sends more");
  },
};

/** Scenarios that only make sense while the test does something to the server; run by name only. */
const onRequest = {
  /**
   * The test closes the adapter mid-reply and starts a new one on the same port (the runtime and
   * the store live on): the transport rides through the outage and gets the whole reply.
   */
  async "adapter-restart"() {
    const id = chatId("adapter-restart");
    const f = recordingFetch();
    const t = transport({ agent: env.slowAgent, fetch: f });
    const text = words(30);
    const chunks = await readChunks(await send(t, id, [userMessage(text)]), { timeoutMs: 45_000 });
    checkEqual(textOf(await fold(chunks)), expectedReply(text), `reply across the restart (chunks ${types(chunks)})`);
    const out = outRequests(f);
    check(out.length >= 2, `expected a reconnect after the restart, got ${out.length} out request(s)`);
    return { subscriptions: out.length, statuses: out.map((r) => r.status) };
  },
};

await runScenarios(scenarios, process.argv.slice(2), 60_000, onRequest);
