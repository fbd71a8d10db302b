// Folds every case of a chunk corpus with the real AI SDK's readUIMessageStream, once per
// installed major version, and prints the outcome as JSON on standard output:
//
//   node fold.mjs CORPUS.json
//   -> [{"name": ..., "ai": OUTCOME, "ai7": OUTCOME}, ...]
//   OUTCOME = {"version", "message": <last message readUIMessageStream yielded, or null>,
//              "errors": [<texts of the error chunks, as reported to onError>],
//              "failure": null | {"chunkIndex", "name", "message"}}
//
// A failure is an error the fold itself raised (readUIMessageStream reports it to onError and
// ends the stream); chunkIndex is found by folding ever longer prefixes of the case.
import { readFileSync } from "node:fs";
const PACKAGES = ["ai", "ai7"];

async function foldOnce(ai, initial, chunks) {
  const stream = new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(structuredClone(chunk));
      controller.close();
    },
  });
  let message = null;
  const errors = [];
  let failure = null;
  const iterable = ai.readUIMessageStream({
    message: initial === undefined ? undefined : structuredClone(initial),
    stream,
    onError(error) {
      // An error chunk arrives as a plain Error carrying its errorText; anything else is the
      // fold failing on a chunk.
      if (!failure && error instanceof Error && error.constructor === Error) {
        errors.push(error.message);
      } else if (!failure) {
        failure = { name: error?.name ?? String(error), message: error?.message ?? String(error) };
      }
    },
  });
  for await (const snapshot of iterable) message = snapshot;
  return { message, errors, failure };
}

async function fold(ai, version, testCase) {
  const outcome = await foldOnce(ai, testCase.initial, testCase.chunks);
  if (outcome.failure) {
    for (let k = 1; k <= testCase.chunks.length; k++) {
      const prefix = await foldOnce(ai, testCase.initial, testCase.chunks.slice(0, k));
      if (prefix.failure) {
        outcome.failure.chunkIndex = k - 1;
        break;
      }
    }
  }
  return { version, ...outcome };
}

const corpus = JSON.parse(readFileSync(process.argv[2], "utf8"));
const modules = {};
for (const name of PACKAGES) {
  modules[name] = {
    ai: await import(name),
    version: JSON.parse(
      readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url), "utf8"),
    ).version,
  };
}
const results = [];
for (const testCase of corpus.cases) {
  const result = { name: testCase.name };
  for (const name of PACKAGES) {
    result[name] = await fold(modules[name].ai, modules[name].version, testCase);
  }
  results.push(result);
}
process.stdout.write(JSON.stringify(results));
