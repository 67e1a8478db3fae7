// openclaw-failover bridge: forwards OpenClaw's typed hooks to the Python sidecar
// (`openclaw-failover sidecar`, JSON lines over stdio) and applies its answers. Dependency-free.
// Fail safe: if the sidecar does not answer in time, high-risk tools stay blocked on the local tier.
import { spawn, spawnSync } from "node:child_process";
// The tool policy and its fail-safe live in toolguard.js; the names tests read stay exported here.
import { ID, LAST_RESORT, failSafe, isLocal, isObject, loadPolicy, names, own, readPolicy, seedPolicy }
  from "./toolguard.js";
export { ALIASES, CODE_MODE, GROUPS, LAST_RESORT, expandTools, failSafe, nameForms, readPolicy, stateDir }
  from "./toolguard.js";

const KEY = Symbol.for("openclaw-failover.bridge"); // one sidecar per process: register() runs often
export const CLI = [
  [["validate"], "Validate the failover config"], [["status"], "Show chain health, cooldowns and tiers"],
  [["cooldowns", "clear"], "Clear cooldowns"], [["probe"], "Probe providers with a minimal request"],
  [["doctor"], "Check config, keys, state and wiring"], [["report"], "Summarise the audit log"],
];
const DROP = new Set(["abortSignal", "hookInvocation", "toolAuthority", "getSessionExtension", "prompt",
  "messages", "systemPrompt", "historyMessages", "currentUserMessage", "cleanedBody"]); // no prompt text
const plain = (k, v) => (DROP.has(k) || typeof v === "function" ? undefined : v);
// A hook's ctx may carry OpenClaw's whole config (provider keys included): the sidecar reads its
// own config file, so that copy is never sent down the pipe.
const lean = (ctx) => { if (!ctx || typeof ctx !== "object") return ctx; const { config, ...rest } = ctx; return rest; };
// agent_end goes over as the run's verdict only: its event holds the conversation (messages,
// error text) and its ctx the whole host config (provider keys included).
export const endEvent = (e) => ({ runId: e?.runId, success: e?.success === true, durationMs: e?.durationMs });
export const endCtx = (c) => Object.fromEntries(["runId", "agentId", "sessionKey", "sessionId", "modelProviderId",
  "modelId", "trigger", "trace"].filter((k) => c?.[k] !== undefined).map((k) => [k, c[k]]));
const S = (globalThis[KEY] ??= { child: null, seq: 0, waiting: new Map(), policy: null, runs: new Map(), buf: "" });

// One reply line; anything but a reply object is ignored (a throw here would end OpenClaw).
function onLine(line) {
  let msg; try { msg = JSON.parse(line); } catch { return; }
  if (!isObject(msg)) return;
  S.quiet = false;
  if (S.restart) S.restart.missed = 0;
  if (msg.id === 0 && msg.ok === true) {
    const policy = readPolicy(msg.result?.policy);
    if (policy) S.policy = policy;
    else S.restart?.logger?.warn?.(`${ID}: the sidecar's tool policy is not lists of tool and provider names; ` +
      "the bridge keeps its own for the fail-safe (is the bridge from the same openclaw-failover version?)");
    if (S.restart) Object.assign(S.restart, { hello: true, helloAt: Date.now() });
  }
  S.waiting.get(msg.id)?.(msg);
}
// A reply line is at most 4 MiB (in characters): past that, the partial line and the rest of it
// up to its newline are dropped, with one warning per sidecar, and a call it may have answered
// times out safe. A sidecar writing without end must not grow OpenClaw's memory.
const LINE_MAX = 4 * 1024 * 1024;
function receive(chunk) {
  let text = chunk;
  if (S.skip) { const end = text.indexOf("\n"); if (end < 0) return; S.skip = false; text = text.slice(end + 1); }
  const parts = text.split("\n"); parts[0] = S.buf + parts[0]; S.buf = parts.pop();
  for (const line of parts) if (line.length > LINE_MAX) tooLong(); else onLine(line);
  if (S.buf.length > LINE_MAX) { S.buf = ""; S.skip = true; tooLong(); }
}
function tooLong() {
  const r = S.restart; if (!r || r.tooLong) return; r.tooLong = true;
  r.logger?.warn?.(`${ID}: the sidecar wrote a line longer than 4 MiB; it was dropped (is sidecar.command the ` +
    "openclaw-failover sidecar?). A call it may have answered fails safe at its timeout; said once per sidecar.");
}
// A sidecar that died is started again on a later call: 5 s after its start, doubling while it
// keeps dying (a missing binary, a crash on every first request), up to 5 min; one that stayed
// up a minute after its hello starts the wait over. Each end is one warning naming the cause,
// the fix and what holds meanwhile.
const RESTART_MS = 5000, RESTART_MAX_MS = 300000, STABLE_MS = 60000;
// A sidecar alive but hung (it reads requests, never answers) is stopped after this many calls
// in a row without an answer (SIGTERM, SIGKILL after the grace) and started again as above; each
// awaited hook would otherwise wait out sidecar.timeoutMs for as long as the hang lasts. A named
// constant: the plugin block's schema is the Python config's, which has no key for it.
const HUNG_AFTER_CALLS = 3, KILL_GRACE_MS = 2000;
const HOLDS = "Until it answers, OpenClaw picks models by its own fallbacks and high-risk tools stay blocked " +
  "on the local tier (fail safe);";
function start(cfg, logger, wait = RESTART_MS) {
  if (S.child) return;
  const r = (S.restart = { cfg, logger, at: Date.now(), wait, hello: false, missed: 0 });
  S.buf = ""; S.skip = false; S.quiet = false;
  const [cmd, ...args] = cfg.sidecar?.command ?? ["openclaw-failover", "sidecar"];
  const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "inherit"], env: process.env });
  S.child = child;
  child.unref(); child.stdin.unref?.(); child.stdout.unref?.(); // never keep OpenClaw alive
  child.stdin.on("error", () => {});
  child.stdout.setEncoding("utf8").on("data", receive);
  let over = false;
  const gone = (why, level = "warn") => {
    if (over) return; over = true;
    if (S.child === child) S.child = null;
    const stable = r.hello && Date.now() - r.helloAt >= STABLE_MS;
    if (stable) r.wait = 0; // started again at once, and the next wait is the first again
    r.next = stable ? RESTART_MS : Math.min(r.wait * 2, RESTART_MAX_MS);
    const secs = Math.ceil((r.at + r.wait - Date.now()) / 1000);
    logger?.[level]?.(`${ID}: ${why} ${HOLDS} it is started again on ${secs > 0 ? `a hook call ${secs} s from now` : "the next hook call"}.`);
    for (const done of S.waiting.values()) done({ ok: false, error: "the sidecar stopped" });
  };
  r.stop = (why, level) => {
    gone(why, level); child.kill("SIGTERM");
    setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"), KILL_GRACE_MS).unref();
  };
  child.on("error", (e) => gone(e.code === "ENOENT" ? `cannot start the sidecar: ${cmd} not found (spawn ENOENT). ` +
    "Install the openclaw-failover Python package for the user OpenClaw runs as, or set sidecar.command in " +
    `plugins.entries["${ID}"].config to its full path.` : `cannot start the sidecar ${cmd}: ${e.message}.`));
  child.on("exit", (code, signal) => {
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    gone(r.hello ? `the sidecar ${how}.` : `the sidecar (${cmd}) ${how} before it started; its own error is in ` +
      "the lines above (`openclaw-failover doctor` checks the config and keys).");
  });
  // Output closed while the process lives: it can never answer, so it is stopped and replaced.
  child.stdout.on("end", () => setTimeout(() => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    r.stop("the sidecar closed its output but kept running, so it was stopped.");
  }, 200).unref());
}
// A sidecar that stops answering is one warning until it answers again, not one per call.
function quiet(msg, timeoutMs) {
  if (S.quiet) return; S.quiet = true;
  S.restart?.logger?.warn?.(`${ID}: the sidecar did not answer ${msg.hook ?? msg.op} within ${timeoutMs} ms ` +
    "(sidecar.timeoutMs) and is still running. Its own warnings are in the lines above (a slow state store?). " +
    `${HOLDS} the next answer ends this, and after ${HUNG_AFTER_CALLS} calls in a row without one it is stopped and started again.`);
}
// The warning above announced it: the stop itself is an info line.
function missed(msg, timeoutMs, r) {
  quiet(msg, timeoutMs);
  if (r !== S.restart || ++r.missed < HUNG_AFTER_CALLS) return;
  r.stop(`the sidecar did not answer ${HUNG_AFTER_CALLS} calls in a row within ${timeoutMs} ms each ` +
    "(sidecar.timeoutMs) though it kept running, so it was stopped (hung?).", "info");
}
function call(msg, timeoutMs) {
  const r = S.restart;
  if (!S.child && r && Date.now() - r.at >= r.wait) start(r.cfg, r.logger, r.next);
  if (!S.child) return Promise.resolve({ ok: false, error: "sidecar not running" });
  const id = ++S.seq, sent = S.restart;
  return new Promise((resolve) => {
    const timer = setTimeout(() => { done({ ok: false, error: `no answer in ${timeoutMs} ms` }); missed(msg, timeoutMs, sent); }, timeoutMs);
    const done = (reply) => { clearTimeout(timer); S.waiting.delete(id); resolve(reply); };
    S.waiting.set(id, done);
    try { S.child.stdin.write(JSON.stringify({ id, ...msg }, plain) + "\n"); } catch (e) { done({ ok: false, error: String(e) }); }
  });
}
// What each hook may decide (DESIGN, plugin path); a reply's other keys (tool params, prompt
// text, __proto__) never reach OpenClaw, and an observe hook's reply is dropped.
const text = (v) => (typeof v === "string" ? v : undefined);
const DECIDES = {
  before_model_resolve: (r) => ({ providerOverride: text(r.providerOverride), modelOverride: text(r.modelOverride) }),
  before_prompt_build: (r) => ({ toolsAllow: names(r.toolsAllow) ? [...r.toolsAllow] : undefined }),
  before_tool_call: (r) => (r.block === true ? { block: true, blockReason: text(r.blockReason) } : {}),
  failover_status: (r) => ({ content: (Array.isArray(r.content) ? r.content : [])
    .filter((c) => c?.type === "text" && typeof c.text === "string").map((c) => ({ type: "text", text: c.text })),
    details: isObject(r.details) ? r.details : {} }),
};
export function decision(hook, reply) {
  const pick = own(DECIDES, hook);
  if (!pick || reply?.ok !== true || !isObject(reply.result)) return undefined;
  const out = Object.fromEntries(Object.entries(pick(reply.result)).filter(([, v]) => v !== undefined));
  return Object.keys(out).length ? out : undefined;
}
function noteRun(event) {
  S.runs.delete(event.runId); // re-inserted: the map's order is recency, the oldest goes first
  S.runs.set(event.runId, { provider: event.provider, model: event.model });
  if (S.runs.size > 4096) S.runs.delete(S.runs.keys().next().value);
}
// A call's end names the run only when none is known or it is local: a late end of an earlier
// cloud call must not move a run that failed over to the local tier back to cloud.
export function noteEnded(p, event) {
  if (!S.runs.has(event.runId) || isLocal(p, { provider: event.provider })) noteRun(event);
}
async function strictPick(api, ctx) {
  const argv = process.argv.slice(2);
  if (argv.includes("--model") || argv.includes("--provider")) return true;
  try {
    const e = api.runtime?.agent?.session?.getSessionEntry?.({ agentId: ctx.agentId, sessionKey: ctx.sessionKey });
    return Boolean(e && (e.modelSelectionLocked === true || e.modelOverrideSource === "user"));
  } catch { return false; }
}
function runCli(cfg, path, rest) {
  const cmd = [...(cfg.sidecar?.command ?? ["openclaw-failover", "sidecar"])];
  if (cmd.at(-1) === "sidecar") cmd.pop();
  const r = spawnSync(cmd[0], [...cmd.slice(1), ...path, ...rest], { stdio: "inherit", env: process.env });
  process.exitCode = r.status ?? 1;
  if (r.error) console.error(`${ID}: cannot run ${cmd[0]}: ${r.error.message}`);
}

export default {
  id: ID, name: "OpenClaw Failover", description: "Model failover, cooldowns and a local-tier tool guard",
  register(api) {
    const cfg = api.pluginConfig ?? {};
    const timeoutMs = cfg.sidecar?.timeoutMs ?? 2000;
    S.policy ??= loadPolicy(cfg) ?? seedPolicy(api, cfg);
    if (api.registrationMode === "full") start(cfg, api.logger);
    const forward = (hook, shape) => async (event, ctx) => {
      const r = await call({ op: "hook", hook, event: shape ? shape(event) : event, ctx: lean(ctx) }, timeoutMs);
      return decision(hook, r);
    };
    if ((cfg.mode ?? "provider") === "plugin") {
      api.on("before_model_resolve", async (event, ctx) => forward("before_model_resolve", () => ({}))(
        event, { ...ctx, openclawFailover: { strictPick: await strictPick(api, ctx) } }));
      api.on("model_call_started", (e, c) => { noteRun(e); return forward("model_call_started")(e, c); });
      api.on("model_call_ended", (e, c) => { noteEnded(S.policy ?? LAST_RESORT, e); return forward("model_call_ended")(e, c); });
      api.on("before_prompt_build", forward("before_prompt_build", () => ({})));
      api.on("agent_end", (e, c) => forward("agent_end", endEvent)(e, endCtx(c))); // the run's one outcome line
      api.on("before_tool_call", async (event, ctx) => {
        const r = await call({ op: "hook", hook: "before_tool_call", event, ctx: lean(ctx) }, timeoutMs);
        return r.ok === true ? decision("before_tool_call", r) : failSafe(S.policy ?? LAST_RESORT, S.runs, event, ctx);
      }, { priority: 100 });
    }
    api.registerTool({ name: "failover_status", label: "Failover status", catalogMode: "direct-only",
      description: "Read-only: which model tier is answering, which providers are cooling down and why, " +
        "and which tools are off on the local tier.",
      parameters: { type: "object", additionalProperties: false, properties: { route: { type: "string" } } },
      async execute(toolCallId, params) {
        const r = await call({ op: "tool", name: "failover_status", toolCallId, params }, timeoutMs * 2);
        if (r.ok === true) return decision("failover_status", r) ?? { content: [], details: {} };
        const text = `failover status unavailable (${r.error}); a human can run \`openclaw failover status\`.`;
        return { content: [{ type: "text", text }], details: { error: r.error } };
      } });
    api.registerCli(({ program }) => {
      const root = program.command("failover").description("Model failover: status, cooldowns, probes, reports");
      const groups = new Map();
      for (const [path, description] of CLI) {
        let parent = root;
        if (path.length > 1) parent = groups.get(path[0]) ?? groups.set(path[0], root.command(path[0])).get(path[0]);
        parent.command(path.at(-1)).description(description).helpOption(false).allowUnknownOption(true).allowExcessArguments(true)
          .action((...a) => runCli(cfg, path, a.at(-1)?.args ?? []));
      }
    }, { descriptors: [{ name: "failover", description: "Model failover: status, cooldowns, probes, reports",
      hasSubcommands: true }] });
  },
};
