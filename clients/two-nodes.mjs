// The published browser transport (TriggerChatTransport from @trigger.dev/sdk/chat) against two
// `durablechat serve` nodes on one store: session creation and in/append go to node A
// (TRIGGER_API_URL), every out subscription is sent to node B (NODE_B_URL) by the transport's
// fetch option. Run by cli's ServeNodesTest. Usage: node two-nodes.mjs <chatId> <text>;
// env: TRIGGER_API_URL, TRIGGER_SECRET_KEY, NODE_B_URL, EXPECTED_REPLY (the demo agent's reply).
// Prints one JSON line; exit code 0 when it passed.

import { TriggerChatTransport } from "@trigger.dev/sdk/chat";
import { chat } from "@trigger.dev/sdk/ai";
import { auth } from "@trigger.dev/sdk";
import { env, userMessage, check, checkEqual, readChunks, fold, textOf } from "./lib.mjs";

const [chatId, text] = process.argv.slice(2);
const nodeB = new URL(process.env.NODE_B_URL);
const expected = process.env.EXPECTED_REPLY;

const requests = [];
/** Sends out subscriptions to node B, everything else where the SDK meant it (node A). */
async function twoNodeFetch(url, init = {}) {
  const target = new URL(String(url));
  if (target.pathname.endsWith("/out")) {
    target.protocol = nodeB.protocol;
    target.host = nodeB.host;
  }
  const response = await fetch(target, init);
  requests.push({ host: target.host, path: target.pathname, status: response.status });
  return response;
}

try {
  const start = chat.createStartSessionAction("demo");
  const transport = new TriggerChatTransport({
    task: "demo",
    baseURL: env.baseURL,
    accessToken: ({ chatId }) =>
      auth.createPublicToken({ scopes: { read: { sessions: chatId }, write: { sessions: chatId } } }),
    startSession: ({ chatId, clientData }) => start({ chatId, clientData }),
    fetch: twoNodeFetch,
  });
  const stream = await transport.sendMessages({
    trigger: "submit-message",
    chatId,
    messageId: undefined,
    messages: [userMessage(text)],
    abortSignal: undefined,
    body: undefined,
    metadata: undefined,
  });
  const chunks = await readChunks(stream, { timeoutMs: 90_000 });
  const message = await fold(chunks);
  checkEqual(textOf(message), expected, "the reply read through node B");
  const a = new URL(env.baseURL).host;
  check(
    requests.some((r) => r.path.endsWith("/in/append") && r.host === a && r.status === 200),
    `an append through node A: ${JSON.stringify(requests)}`,
  );
  check(
    requests.some((r) => r.path.endsWith("/out") && r.host === nodeB.host && r.status === 200),
    `an out subscription through node B: ${JSON.stringify(requests)}`,
  );
  console.log(JSON.stringify({ passed: true, requests: requests.length }));
} catch (e) {
  console.log(JSON.stringify({ passed: false, error: String(e?.stack ?? e) }));
  process.exit(1);
}
