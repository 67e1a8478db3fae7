// The bridge's own tool policy, for when the sidecar does not answer: the last-resort high-risk
// list, OpenClaw's tool groups and aliases, the policy file the sidecar leaves, and the fail-safe
// that blocks a high-risk tool on the local tier. Pure but for reading that file; no sidecar state.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const ID = "openclaw-failover";
// The design's whole list (DEFAULT_HIGH_RISK_TOOLS in the Python core; a test keeps them equal).
export const LAST_RESORT = { highRisk: ["exec", "bash", "process", "code_execution", "write", "edit",
  "apply_patch", "browser", "computer", "nodes", "gateway", "plugins", "openclaw", "sessions_spawn",
  "automations", "cron", "message", "secrets"],
  highRiskDeferred: ["terminal", "file_write"], localCandidates: [], localProviders: [], chainHasLocal: true };
// As config/_paths.py resolves it: state.directory (~ expanded), else $OPENCLAW_STATE_DIR, else
// <$OPENCLAW_HOME or home>/.openclaw (-<profile> under OPENCLAW_PROFILE), then /failover.
export function stateDir(cfg, env = process.env) {
  const user = env.HOME || homedir(), home = env.OPENCLAW_HOME ? tilde(env.OPENCLAW_HOME) : user;
  function tilde(p) { return p === "~" || p.startsWith("~/") ? join(user, p.slice(1)) : p; }
  if (typeof cfg.state?.directory === "string" && cfg.state.directory) return tilde(cfg.state.directory);
  const profile = (env.OPENCLAW_PROFILE ?? "").trim();
  const root = env.OPENCLAW_STATE_DIR ? tilde(env.OPENCLAW_STATE_DIR)
    : join(home, profile && profile !== "default" ? `.openclaw-${profile}` : ".openclaw");
  return join(root, "failover");
}
// OpenClaw's tool groups and aliases, as _toolpolicy.TOOL_GROUPS / ALIASES (a test keeps them equal):
// CORE_TOOL_GROUPS of OpenClaw 2026.9.6 with aliases, group:fs meaning its writes only.
const words = (text) => text.split(/\s+/).filter(Boolean);
export const GROUPS = { "group:runtime": words("exec bash process code_execution secrets"),
  "group:fs": words("write edit apply_patch"),
  "group:automation": words("heartbeat_respond automations cron gateway plugins openclaw"),
  "group:messaging": words("message"), "group:nodes": words("nodes computer mobile_ui"),
  "group:web": words("web_search x_search web_fetch"),
  "group:ui": words("browser screen theme dashboard terminal portal canvas show_widget"),
  "group:memory": words("memory_search memory_get"),
  "group:sessions": words(`sessions sessions_list sessions_history sessions_search conversations_list
    conversations_send conversations_turn sessions_send sessions_spawn github_identity_status github_publish
    agents_wait sessions_yield subagents session_status suggest_task dismiss_task`),
  "group:agents": words("agents_list get_goal create_goal update_goal progress_card ask_user skill_workshop"),
  "group:media": words("view_image image_generate music_generate video_generate tts pdf") };
// group:openclaw: every core tool but the files, exec, process and canvas (as _toolpolicy derives it).
const OUTSIDE_OPENCLAW_GROUP = new Set(["exec", "bash", "process", "canvas"]);
GROUPS["group:openclaw"] = [...new Set(Object.entries(GROUPS).filter(([k]) => k !== "group:fs")
  .flatMap(([, v]) => v).filter((t) => !OUTSIDE_OPENCLAW_GROUP.has(t)))];
export const ALIASES = { bash: "exec", exec: "bash", cron: "automations", automations: "cron" };
// Own keys only: "constructor" or "toString" is a tool name, not a group or an alias.
export const own = (table, key) => (Object.hasOwn(table, key) ? table[key] : undefined);
// An operator-written name as _toolpolicy.policy_word reads it: trimmed, case-folded, "-" as "_".
const policyWord = (t) => String(t).normalize("NFKC").trim().toLowerCase().replaceAll("-", "_");
export function expandTools(list) {
  return [...new Set(list.map(policyWord).flatMap((t) => own(GROUPS, t) ?? [t])
    .flatMap((t) => (own(ALIASES, t) ? [t, ALIASES[t]] : [t])))];
}
export const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
export const names = (v) => Array.isArray(v) && v.every((t) => typeof t === "string");
// A policy the fail-safe can read (as _plugin_guard.policy writes it), else null: a string's
// letters must never become the high-risk list, nor a missing list a throw in the guard.
export function readPolicy(p) {
  const ok = isObject(p) && names(p.highRisk) && names(p.highRiskDeferred) && names(p.localProviders)
    && (p.allowOnLocal === undefined || names(p.allowOnLocal)) && Array.isArray(p.localCandidates)
    && p.localCandidates.every((c) => isObject(c) && typeof c.provider === "string");
  return ok ? p : null;
}
export function loadPolicy(cfg) {
  try { return readPolicy(JSON.parse(readFileSync(join(stateDir(cfg), "bridge-policy.json"), "utf8"))); } catch { return null; }
}
export function seedPolicy(api, cfg) { // no sidecar ever answered: local tiers from the config itself
  const tiers = (cfg.tiers?.local ?? []).map(String);
  const ollama = Object.entries(api.config?.models?.providers ?? {}).filter(([, p]) => p?.api === "ollama");
  const split = (ref) => ({ provider: ref.slice(0, ref.indexOf("/")), model: ref.slice(ref.indexOf("/") + 1) });
  const strings = (list) => (Array.isArray(list) ? list.map(String) : []); // expandTools folds them
  const allowed = new Set(expandTools(strings(cfg.tools?.allowOnLocal)));
  const off = (list) => expandTools(list).filter((t) => !allowed.has(t));
  const highRisk = off([...(cfg.tools?.highRisk ? strings(cfg.tools.highRisk) : LAST_RESORT.highRisk),
    ...strings(cfg.tools?.alsoHighRisk)]);
  const highRiskDeferred = off(cfg.tools?.highRiskDeferred ? strings(cfg.tools.highRiskDeferred) : LAST_RESORT.highRiskDeferred);
  return { ...LAST_RESORT, highRisk, highRiskDeferred, allowOnLocal: [...allowed],
    localCandidates: tiers.filter((t) => t.includes("/")).map(split),
    localProviders: [...tiers.filter((t) => !t.includes("/")), ...ollama.map(([id]) => id)] };
}
// Provider ids as OpenClaw spells them (it lower-cases them), as _plugin_guard.tier_of compares.
const pid = (v) => String(v ?? "").trim().toLowerCase();
export function isLocal(p, run) {
  if (!run) return Boolean(p.chainHasLocal);
  const provider = pid(run.provider);
  return p.localProviders.some((l) => pid(l) === provider) || p.localCandidates.some((c) => pid(c.provider) === provider);
}
// Every tool a tool_call may name, as OpenClaw 2026.9.6 resolves it: any of id / toolId / name
// (a catalog id's "openclaw:core:" prefix dropped), else args.id; as _toolpolicy.py reads them.
function callTargets(params) {
  const named = (o, keys) => keys.map((k) => o?.[k]).filter((v) => typeof v === "string" && v)
    .map((v) => v.trim().toLowerCase().split(":").at(-1));
  let found = named(params, ["id", "toolId", "name"]);
  if (!found.length) found = [params?.args, params?.arguments].flatMap((o) => named(o, ["id"]));
  return [...found, ...named(params, ["tool_id", "tool"])];
}
// Every tool OpenClaw's forgiving dispatch may run for a called name, as _toolpolicy.name_forms
// reads it (functions.exec, tools/exec, Apply-Patch, fullwidth letters...): a test keeps them equal.
export function nameForms(raw) {
  const name = String(raw ?? "").normalize("NFKC").trim().toLowerCase();
  const forms = new Set([name, ...name.split(/[^a-z0-9_-]+/).filter(Boolean)]);
  for (const f of [...forms]) forms.add(f.replaceAll("-", "_"));
  // OpenClaw drops a namespace (functions_exec, toolexec) and a call counter (exec1, exec_2).
  for (let round = 0; round < 2; round += 1) {
    for (const f of [...forms]) {
      for (const re of [/^(?:functions?|tools?)[_-]?/, /[_-]?[0-9]+$/]) {
        const shorter = f.replace(re, "");
        if (shorter && shorter !== f) forms.add(shorter);
      }
    }
  }
  return [...forms].sort();
}
// OpenClaw's code-mode tool search runs the model's JavaScript, which may call any tool: it is
// high-risk whenever any tool is, unless allowOnLocal names it (as _toolpolicy.high_risk_set).
export const CODE_MODE = "tool_search_code";
export function failSafe(p, runs, event, ctx) {
  const run = runs.get(event.runId ?? ctx?.runId);
  const risky = new Set([...p.highRisk, ...p.highRiskDeferred].map((t) => String(t).toLowerCase()));
  if (risky.size && !(p.allowOnLocal ?? []).some((t) => String(t).toLowerCase() === CODE_MODE)) risky.add(CODE_MODE);
  const hit = (called) => nameForms(called).filter((f) => risky.has(f)).sort()[0]; // the policy's word
  const forms = nameForms(event.toolName);
  let target = hit(event.toolName);
  if (!target && forms.includes("tool_call")) {
    const targets = callTargets(event.params);
    if (!targets.length || targets.some(hit)) target = "tool_call"; // no readable target: fail safe
  }
  if (!target || !isLocal(p, run)) return undefined;
  return { block: true, blockReason: `${ID} blocked ${target}: local-tier or unknown model and the failover ` +
    "sidecar did not answer, so high-risk tools stay off (fail safe)." };
}
