// The demo chat page of `./durablechat serve` in a real browser (Debian's Chromium driven by
// playwright-core): send a message, reload the page in the middle of the streamed reply, and check
// that the reply then completes exactly once: the text equals the agent's reply, no word twice, one
// user message, one tool call, and the page resumed with Last-Event-ID instead of starting over.
// A second reload after the reply checks that the page rebuilds the same conversation.
//
//   node browser-chat.mjs http://127.0.0.1:8787/demo/      (the page's URL, as serve prints it)
//   env MESSAGE         the message to send (default below)
//   env EXPECTED_REPLY  the exact reply text the demo agent streams for MESSAGE (required)
//   env CHROMIUM        the browser (default /usr/bin/chromium)
//
// Exits 0 when every check holds, 1 with the reason otherwise. Called by the cli module's
// ServeBrowserTest, which starts the server and computes EXPECTED_REPLY.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const pageUrl = process.argv[2];
const message = process.env.MESSAGE || "How does this chat survive a reload?";
const expected = process.env.EXPECTED_REPLY;
if (!pageUrl || !expected) {
  console.error("usage: EXPECTED_REPLY=... node browser-chat.mjs <page url>");
  process.exit(2);
}

const problems = [];
const check = (ok, what) => {
  console.log((ok ? "ok   " : "FAIL ") + what);
  if (!ok) problems.push(what);
};

const userDataDir = mkdtempSync(join(tmpdir(), "durablechat-chromium-"));
let context;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(30_000);
  const warnings = [];
  page.on("console", (m) => { if (m.type() === "warning" || m.type() === "error") warnings.push(m.text()); });
  page.on("pageerror", (e) => warnings.push("page error: " + e.message));
  const outRequests = [];
  page.on("request", (r) => {
    if (r.url().includes("/realtime/v1/sessions/") && r.url().endsWith("/out")) {
      outRequests.push({ at: Date.now(), lastEventId: r.headers()["last-event-id"] ?? null });
    }
  });

  const state = () => page.evaluate(() => ({
    users: [...document.querySelectorAll(".msg.user")].map((e) => e.querySelector("p")?.textContent),
    replies: [...document.querySelectorAll(".msg.assistant")].map((e) => ({
      text: [...e.querySelectorAll("p.text")].map((p) => p.textContent).join(""),
      tools: [...e.querySelectorAll(".tool")].map((t) => ({
        name: t.querySelector(".tool-name").textContent,
        input: t.querySelector(".tool-input").textContent,
        output: t.querySelector(".tool-output").textContent,
      })),
      done: e.dataset.done === "true",
    })),
    busy: document.body.dataset.busy,
    stored: JSON.parse(localStorage.getItem("durablechat.demo") || "null"),
  }));
  const ready = () => page.waitForFunction(() => document.body.dataset.ready === "true");
  const settled = () => page.waitForFunction(
    () => document.body.dataset.busy === "false" && document.querySelector(".msg.assistant[data-done=true]"));

  await page.goto(pageUrl);
  await ready();
  await page.fill("#input", message);
  await page.click("#send");

  // Mid-reply: some text is on the page and the turn is not complete yet.
  await page.waitForFunction(() => {
    const p = document.querySelector(".msg.assistant p.text");
    return p && p.textContent.length >= 20;
  });
  const before = await state();
  const partial = before.replies[0]?.text ?? "";
  check(!before.replies[0]?.done && before.busy === "true",
    `the reload happens mid-reply (shown ${partial.length} of ${expected.length} characters)`);
  check(expected.startsWith(partial), "the text before the reload is a prefix of the reply");
  check(before.stored?.lastEventId > 0, `the page stored its last event id (${before.stored?.lastEventId})`);

  const reloadAt = Date.now();
  await page.reload();
  await ready();
  await settled();
  const firstOut = outRequests.find((r) => r.at >= reloadAt);
  check(firstOut && Number(firstOut.lastEventId) >= before.stored.lastEventId,
    `after the reload the page read out with Last-Event-ID (${firstOut?.lastEventId}, stored ${before.stored?.lastEventId} before)`);

  const after = await state();
  check(after.stored?.lastEventId > Number(firstOut?.lastEventId),
    `the rest of the reply came over the resumed stream (records ${firstOut?.lastEventId}+1..${after.stored?.lastEventId})`);
  check(after.users.length === 1 && after.users[0] === message, `one user message (${JSON.stringify(after.users)})`);
  check(after.replies.length === 1, `one reply (${after.replies.length})`);
  const reply = after.replies[0] ?? { text: "", tools: [] };
  check(reply.text === expected, `the reply completed exactly once:\n       got      ${JSON.stringify(reply.text)}\n       expected ${JSON.stringify(expected)}`);
  check(reply.tools.length === 1 && reply.tools[0].name === "word_count"
    && JSON.parse(reply.tools[0].input || "null")?.text === message
    && typeof JSON.parse(reply.tools[0].output || "null")?.words === "number",
    `one word_count tool call with its input and output (${JSON.stringify(reply.tools)})`);

  // A reload after the reply rebuilds the same conversation.
  await page.reload();
  await ready();
  await settled();
  const again = await state();
  check(JSON.stringify(again.users) === JSON.stringify(after.users)
    && JSON.stringify(again.replies) === JSON.stringify(after.replies),
    "a reload after the reply shows the same conversation");
  check(warnings.length === 0, `no warnings or errors in the page (${JSON.stringify(warnings)})`);
} catch (e) {
  problems.push(String(e && e.stack || e));
  console.log("FAIL " + (e && e.stack || e));
} finally {
  await context?.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}
if (problems.length) {
  console.log(`${problems.length} check(s) failed`);
  process.exit(1);
}
console.log("all checks passed");
