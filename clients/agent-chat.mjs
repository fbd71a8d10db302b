// The SDK's server-side client (AgentChat from @trigger.dev/sdk/chat) against a durablechat HTTP
// adapter: it creates the session with the secret key (POST /api/v1/sessions, zod-validated),
// appends with the secret key and reads the reply from the out SSE.
// Usage: node agent-chat.mjs [scenario...]; env: see lib.mjs. One JSON line per scenario; exit 0 if all passed.

import { AgentChat } from "@trigger.dev/sdk/chat";
import { env, chatId, expectedReply, check, checkEqual, recordingFetch, runScenarios } from "./lib.mjs";

const scenarios = {
  /** preload (onTriggered gets the run id), two turns read with stream.text(), then close(). */
  async agentchat() {
    const id = chatId("agentchat");
    let triggered;
    const turnsCompleted = [];
    const agentChat = new AgentChat({
      agent: env.echoAgent,
      id,
      baseURL: env.baseURL,
      onTriggered: (e) => (triggered = e),
      onTurnComplete: (e) => turnsCompleted.push(e.lastEventId),
    });
    await agentChat.preload();
    check(triggered?.runId, `onTriggered after preload: ${JSON.stringify(triggered)}`);
    checkEqual(triggered.chatId, id, "onTriggered chatId");

    const first = await (await agentChat.sendMessage("hello agent")).result();
    checkEqual(first.text, expectedReply("hello agent"), "reply 1");
    checkEqual(first.toolCalls.map((c) => [c.toolName, c.input]), [["lookup", { q: "hello agent" }]], "tool calls of reply 1");
    checkEqual(first.toolResults.map((r) => r.output), [{ hits: 1 }], "tool results of reply 1");
    const cursor = agentChat.session.lastEventId;
    check(/^\d+$/.test(cursor ?? ""), `session.lastEventId after turn 1: ${cursor}`);

    const second = await (await agentChat.sendMessage("second question")).text();
    checkEqual(second, expectedReply("second question"), "reply 2 (no replay of reply 1)");
    check(Number(agentChat.session.lastEventId) > Number(cursor), "the cursor moved on in turn 2");
    checkEqual(turnsCompleted.length, 2, "onTurnComplete calls");

    check(await agentChat.close(), "close() returned false");
    return { runId: triggered.runId };
  },

  /** stop() mid-reply: the stream ends at the stopped turn's boundary with a partial text; the next turn is whole. */
  async "agentchat-stop"() {
    const id = chatId("agentchat-stop");
    const agentChat = new AgentChat({ agent: env.slowAgent, id, baseURL: env.baseURL });
    const text = Array.from({ length: 20 }, (_, i) => `w${i}`).join(" ");
    const stream = await agentChat.sendMessage(text);
    let partial = "";
    let deltas = 0;
    for await (const chunk of stream) {
      if (chunk.type === "text-delta") {
        partial += chunk.delta;
        if (++deltas === 2) await agentChat.stop();
      }
    }
    const full = expectedReply(text);
    check(full.startsWith(partial) && partial.length < full.length, `stopped reply [${partial}] is not a proper prefix of [${full}]`);
    checkEqual(await (await agentChat.sendMessage("after the stop")).text(), expectedReply("after the stop"), "the reply after the stop");
    return { partial };
  },

  /** Timeout-Seconds: 1 against a reply that pauses 2.5 s: AgentChat resubscribes after the window and gets it all. */
  async "agentchat-long-poll"() {
    const id = chatId("agentchat-long-poll");
    const agentChat = new AgentChat({ agent: env.pausingAgent, id, baseURL: env.baseURL, streamTimeoutSeconds: 1 });
    const text = Array.from({ length: 6 }, (_, i) => `w${i}`).join(" ");
    checkEqual(await (await agentChat.sendMessage(text)).text(), expectedReply(text), "reply over several windows");
  },

  /**
   * A stateless request handler: a second AgentChat built from the stored cursor reconnect()s
   * mid-reply (X-Peek-Settled, not settled) and reads the whole reply; once it is over, a
   * reconnect() at the end returns an empty stream at once.
   */
  async "agentchat-reconnect"() {
    const id = chatId("agentchat-reconnect");
    const a = new AgentChat({ agent: env.slowAgent, id, baseURL: env.baseURL });
    checkEqual(await (await a.sendMessage("first")).text(), expectedReply("first"), "reply 1");
    const stored = a.session;
    const text = Array.from({ length: 14 }, (_, i) => `w${i}`).join(" ");
    const live = await a.sendMessage(text);
    let seen = 0;
    for await (const chunk of live) if (chunk.type === "text-delta" && ++seen === 2) break;
    const b = new AgentChat({ agent: env.slowAgent, id, baseURL: env.baseURL, session: stored });
    const resumed = await b.reconnect();
    check(resumed, "reconnect() returned null");
    let text2 = "";
    for await (const chunk of resumed) if (chunk.type === "text-delta") text2 += chunk.delta;
    checkEqual(text2, expectedReply(text), "reply read by the reconnected AgentChat");
    const f = recordingFetch();
    const c = new AgentChat({ agent: env.slowAgent, id, baseURL: env.baseURL, session: b.session, fetch: f });
    const idle = await c.reconnect();
    let chunks = 0;
    for await (const _ of idle) chunks++;
    checkEqual(chunks, 0, "chunks from a reconnect() after the turn");
    // "At once": one out request, answered as settled, so the client opened no long-poll window.
    checkEqual(
      f.requests.filter((r) => r.url.includes("/out")).map((r) => [r.status, r.settled]),
      [[200, "true"]],
      "out requests of a settled reconnect() (status, X-Session-Settled)");
  },

  /**
   * A triggerConfig and clientData as an app passes them: the server stores them and echoes a
   * triggerConfig that the SDK's zod schema accepts.
   */
  async "agentchat-trigger-config"() {
    const id = chatId("agentchat-trigger-config");
    const agentChat = new AgentChat({
      agent: env.echoAgent,
      id,
      baseURL: env.baseURL,
      clientData: { userId: "u-1" },
      triggerConfig: { machine: "small-1x", maxAttempts: 2, idleTimeoutInSeconds: 30, tags: ["team:a"] },
    });
    await agentChat.preload();
    checkEqual(await (await agentChat.sendMessage("configured")).text(), expectedReply("configured"), "reply");
  },

  /** A second AgentChat on the same chat, hydrated with the first one's cursor, continues the conversation. */
  async "agentchat-hydrated"() {
    const id = chatId("agentchat-hydrated");
    const a = new AgentChat({ agent: env.echoAgent, id, baseURL: env.baseURL });
    checkEqual(await (await a.sendMessage("one")).text(), expectedReply("one"), "reply 1");
    const b = new AgentChat({ agent: env.echoAgent, id, baseURL: env.baseURL, session: a.session });
    checkEqual(await (await b.sendMessage("two")).text(), expectedReply("two"), "reply 2 from a rehydrated AgentChat");
  },
};

await runScenarios(scenarios, process.argv.slice(2));
