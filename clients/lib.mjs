// Shared helpers of the client scripts: configuration from the environment, assertions, and a
// scenario runner that prints one JSON line per scenario and exits 1 when any failed.
//
// Environment:
//   TRIGGER_API_URL     the durablechat HTTP adapter's base URL (http://127.0.0.1:<port>)
//   TRIGGER_SECRET_KEY  the adapter's secret key (the SDK's global client reads both)
//   CHAT_PREFIX         prefix of the chat ids the scenarios create (default "node-<pid>")
//   ECHO_AGENT          agent id that replies quickly, after reasoning and a tool call
//                       lookup({q:<text>}) -> {hits:1} (default "echo")
//   SLOW_AGENT          agent id that replies one word per ~100 ms (default "slow")
//   PAUSING_AGENT       agent id that stops for ~2.5 s halfway through its reply (default "pausing")
//   SLEEPY_AGENT        agent id like echo whose runs end after ~300 ms idle (default "sleepy")
//   FAILING_AGENT       agent id that writes "partial " and then throws (default "failing")
//   REPLY_TEMPLATE      the reply the agents give, "{text}" = the user's text (default "you said {text}")

import { readUIMessageStream } from "ai";

export const env = {
  baseURL: required("TRIGGER_API_URL"),
  secretKey: required("TRIGGER_SECRET_KEY"),
  chatPrefix: process.env.CHAT_PREFIX ?? `node-${process.pid}`,
  echoAgent: process.env.ECHO_AGENT ?? "echo",
  slowAgent: process.env.SLOW_AGENT ?? "slow",
  pausingAgent: process.env.PAUSING_AGENT ?? "pausing",
  sleepyAgent: process.env.SLEEPY_AGENT ?? "sleepy",
  failingAgent: process.env.FAILING_AGENT ?? "failing",
  replyTemplate: process.env.REPLY_TEMPLATE ?? "you said {text}",
};

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`environment variable ${name} is required`);
    process.exit(2);
  }
  return value;
}

/** The reply the agents give to a text. */
export function expectedReply(text) {
  return env.replyTemplate.replace("{text}", text);
}

/** A chat id unique to this process and scenario. */
export function chatId(scenario) {
  return `${env.chatPrefix}-${scenario}`;
}

/** A user UIMessage. */
export function userMessage(text) {
  return { id: `u-${Math.random().toString(36).slice(2, 10)}`, role: "user", parts: [{ type: "text", text }] };
}

/** `count` words, so a slow agent's reply takes a while. */
export function words(count) {
  return Array.from({ length: count }, (_, i) => `w${i}`).join(" ");
}

export class AssertionFailed extends Error {}

export function check(condition, message) {
  if (!condition) throw new AssertionFailed(message);
}

export function checkEqual(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new AssertionFailed(`${what}: expected ${e}, actual ${a}`);
}

/** Awaits the promise and returns the error it rejects with; fails if it resolves. */
export async function rejection(promise, what) {
  try {
    const value = await promise;
    throw new AssertionFailed(`${what}: expected a rejection, got ${describe(value)}`);
  } catch (e) {
    if (e instanceof AssertionFailed) throw e;
    return e;
  }
}

function describe(value) {
  if (value instanceof ReadableStream) return "a stream";
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/**
 * Reads chunks until the stream ends or `stop(chunk, all)` says so (then cancels the reader when
 * `cancel`); fails after `timeoutMs`. Returns the chunks.
 */
export async function readChunks(stream, { stop, timeoutMs = 30_000, cancel = false } = {}) {
  check(stream instanceof ReadableStream, `expected a ReadableStream, got ${describe(stream)}`);
  const reader = stream.getReader();
  const chunks = [];
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    reader.cancel().catch(() => {});
  }, timeoutMs);
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      if (stop && stop(value, chunks)) {
        if (cancel) await reader.cancel();
        break;
      }
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  check(!timedOut, `stream still open after ${timeoutMs} ms; chunks so far: [${types(chunks)}]`);
  return chunks;
}

/** Folds chunks with the AI SDK's own readUIMessageStream; returns the last message (or undefined). */
export async function fold(chunks) {
  const stream = new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      controller.close();
    },
  });
  let last;
  for await (const message of readUIMessageStream({ stream })) last = message;
  return last;
}

/** The concatenated text parts of a UIMessage. */
export function textOf(message) {
  return (message?.parts ?? [])
    .filter((p) => p.type === "text")
    .map((p) => p.text)
    .join("");
}

/** Chunk types in order, for failure messages. */
export function types(chunks) {
  return chunks.map((c) => c.type).join(",");
}

/**
 * A fetch that records every request (url, method, headers, then status) and can cut a response
 * body short: `cut(url, init)` returning `{frames, mode}` passes that many `event: batch` frames,
 * then ends the body with a network error (`mode: "error"`) or a clean end of stream (`"eof"`).
 */
export function recordingFetch({ cut } = {}) {
  const requests = [];
  const f = async (url, init = {}) => {
    const headers = Object.fromEntries(new Headers(init.headers ?? {}).entries());
    const record = { url: String(url), method: init.method ?? "GET", headers };
    requests.push(record);
    const response = await fetch(url, init);
    record.status = response.status;
    record.settled = response.headers.get("x-session-settled");
    const plan = cut ? cut(String(url), init) : undefined;
    if (!plan || !response.body) return response;
    record.cut = plan;
    return new Response(cutAfterFrames(response.body, plan), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
  f.requests = requests;
  return f;
}

function cutAfterFrames(body, { frames, mode }) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let buffer = "";
  let passed = 0;
  return new ReadableStream({
    async pull(controller) {
      while (true) {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          return;
        }
        buffer += decoder.decode(value, { stream: true });
        let out = "";
        let idx;
        while ((idx = buffer.indexOf("\n\n")) !== -1) {
          const frame = buffer.slice(0, idx + 2);
          buffer = buffer.slice(idx + 2);
          out += frame;
          if (frame.includes("event: batch")) passed++;
          if (passed >= frames) {
            if (out) controller.enqueue(encoder.encode(out));
            reader.cancel().catch(() => {});
            if (mode === "eof") controller.close();
            else controller.error(new TypeError("simulated network drop"));
            return;
          }
        }
        if (out) {
          controller.enqueue(encoder.encode(out));
          return;
        }
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/**
 * Polls `probe` (sync or async) until it returns a truthy value, and returns that value; fails
 * after `timeoutMs`. The one way scenarios wait: for something they can observe, never for a
 * fixed time.
 */
export async function waitUntil(probe, what, { timeoutMs = 30_000, everyMs = 20 } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new AssertionFailed(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Runs the named scenarios (when `only` is empty: all of `scenarios`, none of `onRequest`, which
 * need a test that acts on the server meanwhile) one after the other, each with a timeout; prints
 * `{"scenario","ok","ms","error"?,"info"?}` per scenario on stdout and exits 1 if any failed.
 */
export async function runScenarios(scenarios, only, timeoutMs = 60_000, onRequest = {}) {
  const names = only.length ? only : Object.keys(scenarios);
  scenarios = { ...scenarios, ...onRequest };
  let failed = 0;
  for (const name of names) {
    const scenario = scenarios[name];
    const started = Date.now();
    const result = { scenario: name, ok: true };
    if (!scenario) {
      result.ok = false;
      result.error = `no scenario [${name}]; known: ${Object.keys(scenarios).join(", ")}`;
    } else {
      let timer;
      try {
        const info = await Promise.race([
          scenario(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new AssertionFailed(`timed out after ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        if (info !== undefined) result.info = info;
      } catch (e) {
        result.ok = false;
        result.error = e instanceof AssertionFailed ? e.message : `${e?.name}: ${e?.message}\n${e?.stack ?? ""}`;
      } finally {
        clearTimeout(timer);
      }
    }
    result.ms = Date.now() - started;
    if (!result.ok) failed++;
    console.log(JSON.stringify(result));
  }
  process.exit(failed ? 1 : 0);
}
