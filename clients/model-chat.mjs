// The published browser transport (TriggerChatTransport) against `durablechat serve
// --model-base-url`, whose demo agent answers through the LangChain4j adapter from a loopback
// chat-completions server that the Java test (cli's ServeModelNodeTest) scripts in this order:
//   tool-answer: a word_count call, then "That is 3 words."
//   reload:      a paced answer of words(12)
//   stop:        a paced answer of words(20), then "after" for the next turn
//   approval:    (another server, its agent's delete_file needs approval) a delete_file call, then
//                "Deleted." once the approval came back
// Usage: node model-chat.mjs [scenario...]; env: see lib.mjs (ECHO_AGENT = the agent's id).

import { TriggerChatTransport } from "@trigger.dev/sdk/chat";
import { chat } from "@trigger.dev/sdk/ai";
import { auth } from "@trigger.dev/sdk";
import { readUIMessageStream } from "ai";
import { env, chatId, userMessage, words, check, checkEqual, readChunks, fold, textOf, types, runScenarios } from "./lib.mjs";

function transport(extra = {}) {
  const action = chat.createStartSessionAction(env.echoAgent);
  return new TriggerChatTransport({
    task: env.echoAgent,
    baseURL: env.baseURL,
    accessToken: ({ chatId }) =>
      auth.createPublicToken({ scopes: { read: { sessions: chatId }, write: { sessions: chatId } } }),
    startSession: ({ chatId, clientData }) => action({ chatId, clientData }),
    ...extra,
  });
}

function send(t, id, messages) {
  return t.sendMessages({
    trigger: "submit-message",
    chatId: id,
    messageId: undefined,
    messages,
    abortSignal: undefined,
    body: undefined,
    metadata: undefined,
  });
}

/** Folds chunks onto the message the client holds, as useChat does for a continued reply. */
async function foldOnto(message, chunks) {
  const stream = new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      controller.close();
    },
  });
  let last;
  for await (const m of readUIMessageStream({ message: structuredClone(message), stream })) last = m;
  return last;
}

const textDeltas = (n) => (chunk, all) => all.filter((c) => c.type === "text-delta").length >= n;

const scenarios = {
  /** The question, the server tool call with its output, the streamed answer, folded by the AI SDK. */
  async "tool-answer"() {
    const id = chatId("tool-answer");
    const t = transport();
    const chunks = await readChunks(await send(t, id, [userMessage("how long is: three little words")]));
    const message = await fold(chunks);
    checkEqual(textOf(message), "That is 3 words.", `answer (chunks ${types(chunks)})`);
    const tools = message.parts.filter((p) => p.type === "tool-word_count");
    checkEqual(
      tools.map((p) => ({ state: p.state, input: p.input, output: p.output })),
      [{ state: "output-available", input: { text: "three little words" }, output: { words: 3, characters: 18 } }],
      "tool parts",
    );
    checkEqual(message.parts.filter((p) => p.type === "step-start").length, 2, "steps");
    return { types: types(chunks) };
  },

  /** A page reload mid-answer: a fresh transport from the saved session resumes the whole answer, once. */
  async reload() {
    const id = chatId("reload");
    const t1 = transport();
    const live = await send(t1, id, [userMessage("tell me something long")]);
    const partial = await readChunks(live, { stop: textDeltas(3) });
    const snapshot = t1.getSession(id);
    check(snapshot?.isStreaming === true, `session state mid-answer: ${JSON.stringify(snapshot)}`);
    await live.cancel();
    t1.dispose();
    const t2 = transport({
      sessions: { [id]: { publicAccessToken: snapshot.publicAccessToken, lastEventId: snapshot.lastEventId } },
    });
    const resumed = await t2.reconnectToStream({ chatId: id });
    check(resumed, "reconnectToStream after a reload returned null");
    // As in transport.mjs: the resumed stream gives the answer in progress whole, once.
    const rest = await readChunks(resumed);
    checkEqual(textOf(await fold(rest)), words(12), `answer resumed after the reload (chunks ${types(rest)})`);
    check(partial.length > 0, "read nothing before the reload");
    return { before: partial.length, after: rest.length };
  },

  /** A stop mid-answer keeps a proper prefix; the next message gets its whole answer. */
  async stop() {
    const id = chatId("stop");
    const t = transport();
    const stream = await send(t, id, [userMessage("count to twenty")]);
    const reader = stream.getReader();
    const chunks = [];
    while (chunks.filter((c) => c.type === "text-delta").length < 2) {
      const { done, value } = await reader.read();
      check(!done, `stream ended before the stop (chunks ${types(chunks)})`);
      chunks.push(value);
    }
    check(await t.stopGeneration(id), "stopGeneration returned false");
    reader.releaseLock();
    chunks.push(...(await readChunks(stream, { timeoutMs: 15_000 })));
    const partial = textOf(await fold(chunks));
    const full = words(20);
    check(full.startsWith(partial) && partial.length < full.length, `stopped answer [${partial}] is not a proper prefix of [${full}]`);
    const next = await readChunks(await send(t, id, [userMessage("and now?")]));
    checkEqual(textOf(await fold(next)), "after", `answer after the stop (chunks ${types(next)})`);
    return { partial };
  },
};

/** Not run by default: it needs the server whose agent's delete_file needs approval. */
const approvalScenarios = {
  /**
   * tool-approval-request ends the turn; the approval (what useChat's addToolApprovalResponse
   * makes of the message, slimmed by the transport) continues the same message: the tool runs and
   * the model answers.
   */
  async approval() {
    const id = chatId("approval");
    const t = transport();
    const user = userMessage("delete a.txt");
    const first = await readChunks(await send(t, id, [user]));
    check(first.some((c) => c.type === "tool-approval-request"), `no approval request (chunks ${types(first)})`);
    const asked = await fold(first);
    const part = asked.parts.find((p) => p.type === "tool-delete_file");
    checkEqual(part?.state, "approval-requested", "tool part state after the request");
    const approved = {
      ...asked,
      parts: asked.parts.map((p) =>
        p === part ? { ...p, state: "approval-responded", approval: { ...p.approval, approved: true } } : p,
      ),
    };
    const second = await readChunks(await send(t, id, [user, approved]));
    checkEqual(second[0]?.messageId, asked.id, "the continuation's start names the same message");
    const done = await foldOnto(approved, second);
    const tool = done.parts.find((p) => p.type === "tool-delete_file");
    checkEqual({ state: tool.state, output: tool.output }, { state: "output-available", output: "deleted a.txt" }, "tool part");
    checkEqual(textOf(done), "Deleted.", `answer after the approval (chunks ${types(second)})`);
    return { types: types(second) };
  },
};

await runScenarios(scenarios, process.argv.slice(2), 90_000, approvalScenarios);
