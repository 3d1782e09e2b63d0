// A host built on the official TypeScript SDK client (@modelcontextprotocol/sdk 1.32.2): it connects
// to one MCP server (a stdio command or a Streamable HTTP URL), runs a named scenario, and prints
// ONE JSON object with what it observed. The Python suite runs it directly against a server and
// through Ostiary and compares the two observations.
//
//   node ts_client.mjs '{"scenario": "everything", "target": {"command": "...", "args": [...]}}'
//   node ts_client.mjs '{"scenario": "everything", "target": {"url": "http://127.0.0.1:PORT/mcp"}}'
//
// The SDK is resolved from $OSTIARY_PEERS/node_modules (default: <repo>/.peers/node_modules).
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const peers = process.env.OSTIARY_PEERS ?? path.join(here, "..", "..", ".peers");
const require = createRequire(path.join(peers, "node_modules", "index.js"));
const { Client } = require("@modelcontextprotocol/sdk/client/index.js");
const { StdioClientTransport, getDefaultEnvironment } = require("@modelcontextprotocol/sdk/client/stdio.js");
const { StreamableHTTPClientTransport } = require("@modelcontextprotocol/sdk/client/streamableHttp.js");
const types = require("@modelcontextprotocol/sdk/types.js");

const UNICODE = "grüße, 世界, مرحبا, 🦀🛡️, e\u0301, zero\u200bwidth, tab\tand\nnewline";
const MAX_PAGES = 50;

function textOf(result) {
  return (result.content ?? []).filter((b) => b.type === "text").map((b) => b.text).join("\n");
}

function errorOf(error) {
  return { error: { code: error?.code ?? null, name: error?.name ?? "Error", message: String(error?.message ?? error) } };
}

async function observe(observations, key, step) {
  try {
    observations[key] = await step();
  } catch (error) {
    observations[key] = errorOf(error);
  }
}

async function walk(fetch, items) {
  const all = [];
  let cursor;
  for (let pages = 1; pages <= MAX_PAGES; pages++) {
    const page = await fetch(cursor === undefined ? {} : { cursor });
    all.push(...page[items]);
    cursor = page.nextCursor;
    if (cursor === undefined) return { items: all, pages };
  }
  throw new Error(`${items}: still paginating after ${MAX_PAGES} pages`);
}

function connectHost(asked) {
  const client = new Client(
    { name: "ostiary-matrix-ts-host", version: "1.0.0" },
    { capabilities: { sampling: {}, elicitation: { form: {}, url: {} }, roots: { listChanged: true } } },
  );
  client.setRequestHandler(types.CreateMessageRequestSchema, async (request) => {
    asked.sampling.push(request.params);
    return { model: "matrix-model", role: "assistant", content: { type: "text", text: "sampled by the TS host ✓" } };
  });
  client.setRequestHandler(types.ElicitRequestSchema, async (request) => {
    asked.elicitation.push(request.params);
    if (request.params.mode === "url") return { action: "accept" };
    return { action: "accept", content: { name: "Grace Hopper", check: true } };
  });
  client.setRequestHandler(types.ListRootsRequestSchema, async () => {
    asked.roots += 1;
    return { roots: [{ uri: "file:///srv/ts-root", name: "ts root" }] };
  });
  return client;
}

function transportFor(target) {
  if (target.url) return new StreamableHTTPClientTransport(new URL(target.url));
  return new StdioClientTransport({
    command: target.command,
    args: target.args ?? [],
    env: { ...getDefaultEnvironment(), ...(target.env ?? {}) },
    stderr: "inherit",
  });
}

async function everything(client, asked) {
  const o = {};
  await observe(o, "tools", async () => {
    const { items } = await walk((p) => client.listTools(p), "tools");
    const structured = items.find((t) => t.name === "get-structured-content");
    return { names: items.map((t) => t.name).sort(), outputSchema: structured?.outputSchema ?? null };
  });
  await observe(o, "echoUnicode", async () => textOf(await client.callTool({ name: "echo", arguments: { message: UNICODE } })));
  await observe(o, "echo256KiB", async () => {
    const payload = "ü🦀".repeat(43690) + "xxxx";
    const text = textOf(await client.callTool({ name: "echo", arguments: { message: payload } }));
    return { bytes: Buffer.byteLength(payload), intact: text === `Echo: ${payload}` };
  });
  await observe(o, "concurrent16", async () => {
    const answers = await Promise.all(
      Array.from({ length: 16 }, (_, i) => client.callTool({ name: "get-sum", arguments: { a: i, b: 1000 * i } })),
    );
    return answers.map((r, i) => textOf(r) === `The sum of ${i} and ${1000 * i} is ${1001 * i}.`);
  });
  await observe(o, "structured", async () =>
    (await client.callTool({ name: "get-structured-content", arguments: { location: "New York" } })).structuredContent ?? null);
  await observe(o, "resources", async () => {
    const { items } = await walk((p) => client.listResources(p), "resources");
    const templates = await walk((p) => client.listResourceTemplates(p), "resourceTemplates");
    const read = await client.readResource({ uri: "demo://resource/dynamic/text/7" });
    return {
      uris: items.map((r) => r.uri).sort(),
      templates: templates.items.map((t) => t.uriTemplate).sort(),
      read: read.contents.map((c) => ({ uri: c.uri, hasText: typeof c.text === "string" && c.text.length > 0 })),
    };
  });
  await observe(o, "prompts", async () => {
    const { items } = await walk((p) => client.listPrompts(p), "prompts");
    const got = await client.getPrompt({ name: "args-prompt", arguments: { city: "Zürich", state: "ZH" } });
    return { names: items.map((p) => p.name).sort(), text: got.messages.map((m) => m.content.text ?? "").join("\n") };
  });
  await observe(o, "completion", async () => {
    const ref = { type: "ref/prompt", name: "completable-prompt" };
    const first = await client.complete({ ref, argument: { name: "department", value: "S" } });
    const second = await client.complete({ ref, argument: { name: "name", value: "" }, context: { arguments: { department: "Support" } } });
    return [first.completion.values, second.completion.values];
  });
  await observe(o, "progress", async () => {
    const seen = [];
    const result = await client.callTool(
      { name: "trigger-long-running-operation", arguments: { duration: 0.6, steps: 3 } },
      undefined,
      { onprogress: (p) => seen.push([p.progress, p.total]) },
    );
    return { seen, text: textOf(result) };
  });
  await observe(o, "cancellation", async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort("host gave up"), 300);
    let outcome = "completed";
    try {
      await client.callTool({ name: "trigger-long-running-operation", arguments: { duration: 1.5, steps: 3 } }, undefined, {
        signal: controller.signal,
      });
    } catch {
      outcome = "aborted";
    }
    const back = Date.now() - started < 2000;
    const after = textOf(await client.callTool({ name: "echo", arguments: { message: "after cancel" } }));
    return { outcome, back, after };
  });
  await observe(o, "sampling", async () => {
    const text = textOf(await client.callTool({ name: "trigger-sampling-request", arguments: { prompt: "ts höla", maxTokens: 21 } }));
    const last = asked.sampling.at(-1);
    return { maxTokens: last?.maxTokens ?? null, answered: text.includes("sampled by the TS host ✓") };
  });
  await observe(o, "elicitation", async () => {
    const form = textOf(await client.callTool({ name: "trigger-elicitation-request", arguments: {} }));
    const url = textOf(await client.callTool({
      name: "trigger-url-elicitation",
      arguments: { url: "https://auth.example.com/ts", message: "open", elicitationId: "ts-1" },
    }));
    return {
      modes: asked.elicitation.map((p) => p.mode ?? "form"),
      form: form.includes("Name: Grace Hopper"),
      url: url.includes("Elicitation ID: ts-1"),
    };
  });
  await observe(o, "roots", async () => textOf(await client.callTool({ name: "get-roots-list", arguments: {} })).includes("file:///srv/ts-root"));
  await observe(o, "unknownMethod", async () => {
    try {
      await client.request({ method: "matrix/no-such-method", params: {} }, types.EmptyResultSchema);
      return { code: null };
    } catch (error) {
      return { code: error.code ?? null };
    }
  });
  await observe(o, "unknownTool", async () => {
    const result = await client.callTool({ name: "no-such-tool", arguments: {} });
    return { isError: result.isError ?? false, text: textOf(result) };
  });
  return o;
}

const SCENARIOS = { everything };

async function main() {
  const request = JSON.parse(process.argv[2]);
  const scenario = SCENARIOS[request.scenario];
  if (!scenario) throw new Error(`unknown scenario ${request.scenario}`);
  const asked = { sampling: [], elicitation: [], roots: 0 };
  const client = connectHost(asked);
  const transport = transportFor(request.target);
  await client.connect(transport);
  const observations = await scenario(client, asked);
  // A well-behaved HTTP host ends its session (DELETE) rather than just dropping the connection.
  if (typeof transport.terminateSession === "function") await transport.terminateSession();
  await client.close();
  process.stdout.write(JSON.stringify(observations) + "\n");
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stdout.write(JSON.stringify({ fatal: errorOf(error).error }) + "\n");
    process.exit(1);
  },
);
