"use strict";
// The command center: plain DOM over the control API (same origin, login cookie + CSRF header), live news from
// /api/stream (server-sent events), the P&L chart by Plotly (served locally, no CDN).

const $ = (id) => document.getElementById(id);
const money = (v) => (v === null || v === undefined ? "—" : `${Number(v) < 0 ? "-" : ""}$${Math.abs(Number(v))
  .toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`);
const num = (v, digits = 2) => (v === null || v === undefined ? "—" : Number(v).toFixed(digits));
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

const FIELDS = [
  ["Quantities", [["sizing.min_contracts", "min contracts", "int"], ["sizing.max_contracts", "max contracts", "int"],
    ["sizing.current_contracts", "contracts now", "int"], ["symbols", "symbols", "strings"]]],
  ["Schedule", [["timing.cancel_after_seconds", "cancel after (s)", "float"],
    ["timing.min_delay_between_attempts", "min delay (s)", "float"],
    ["timing.max_delay_between_attempts", "max delay (s)", "float"],
    ["executor.optimal_expiry_range", "days to expiry (from,to)", "ints"],
    ["broker.market_hours", "market hours only", "bool"]]],
  ["Delta range", [["strategist.liquidity.target_deltas", "target deltas", "floats"],
    ["strategist.liquidity.delta_tolerance", "delta tolerance", "float"]]],
  ["Risk limits", [["risk.limits.max_contracts_per_order", "contracts / order", "int"],
    ["risk.limits.max_open_orders", "open orders", "int"], ["risk.limits.orders_per_s", "orders / s", "float"],
    ["risk.limits.max_daily_loss_usd", "daily loss ($)", "float"], ["risk.limits.max_delta_usd", "delta ($)", "float"],
    ["risk.kill_switch.drawdown_usd", "kill on drawdown ($)", "float"]]],
  ["Exits and trailing rules", [["strategist.desk.time_exit_dte", "time exit (DTE)", "float"],
    ["strategist.desk.exit_rules_by_style.SHORT_VOL.trailing_threshold", "short vol: trail from", "float"],
    ["strategist.desk.exit_rules_by_style.SHORT_VOL.bbw_lock_fraction", "short vol: lock", "float"],
    ["strategist.desk.exit_rules_by_style.DIRECTIONAL.trailing_threshold", "directional: trail from", "float"],
    ["strategist.desk.exit_rules_by_style.DIRECTIONAL.atr_multiple", "directional: ATR multiple", "float"],
    ["router.max_partial_exposure_ms", "max legged exposure (ms)", "int"]]],
];

const state = { csrf: sessionStorage.getItem("csrf") || "", configs: [], current: null, stream: null,
  refresh: null, series: [] };

class ApiError extends Error {
  constructor(status, body) { super(body.detail || `HTTP ${status}`); this.status = status; this.body = body; }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = state.csrf;
  const response = await fetch(path, { method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 204) return null;
  const answer = await response.json().catch(() => ({ detail: `HTTP ${response.status}` }));
  if (response.status === 401 && path !== "/api/auth/login") { showLogin(); }
  if (!response.ok) throw new ApiError(response.status, answer);
  return answer;
}

function say(text, isError = false) {
  const message = $("message");
  message.textContent = text;
  message.className = isError ? "message error" : "message";
}

async function guarded(action) {
  try { await action(); } catch (error) { say(error.message, true); }
}

// ---- login -------------------------------------------------------------------------------------------------

function showLogin() {
  $("app").hidden = true;
  $("login").hidden = false;
  if (state.stream) { state.stream.close(); state.stream = null; }
  if (state.refresh) { clearInterval(state.refresh); state.refresh = null; }
}

async function login(event) {
  event.preventDefault();
  try {
    const answer = await api("POST", "/api/auth/login", { token: $("login-token").value });
    state.csrf = answer.csrf_token;
    sessionStorage.setItem("csrf", state.csrf);
    $("login-token").value = "";
    $("login-error").textContent = "";
    await enter();
  } catch (error) { $("login-error").textContent = error.message; }
}

async function logout() {
  await api("POST", "/api/auth/logout").catch(() => null);
  sessionStorage.removeItem("csrf");
  showLogin();
}

async function enter() {
  $("login").hidden = true;
  $("app").hidden = false;
  await Promise.all([loadConfigs(), refreshAll()]);
  openStream();
  setAutoRefresh();
}

// ---- status, risk, tables ----------------------------------------------------------------------------------

async function refreshStatus() {
  const beat = await api("GET", "/api/trading/heartbeat");
  const session = beat.session;
  const status = session ? session.status : "no session";
  $("session-badge").textContent = status;
  $("session-badge").className = `badge ${status}`;
  $("status-session").textContent = session ? session.id : "—";
  $("status-status").textContent = status;
  $("status-profile").textContent = session ? `${session.detail.profile || "?"} v${session.detail.version || "?"}` : "—";
  $("status-heartbeat").textContent = beat.heartbeat_age_s === null ? "—"
    : `${num(beat.heartbeat_age_s, 1)} s ago ${beat.answering ? "(answering)" : beat.running ? "(NOT answering)" : ""}`;
  $("status-started").textContent = session ? when(session.started_at) : "—";
  $("status-reason").textContent = session && session.stop_reason ? session.stop_reason : "—";
  $("status-differs").hidden = !beat.active_differs;
  const sessionState = beat.trading_states.session || (beat.running ? "ACTIVE" : "—");
  $("state-badge").textContent = sessionState;
  $("state-badge").className = `badge ${sessionState}`;
  $("start").disabled = beat.running;
  $("stop").disabled = !beat.running || status === "stopping";
  $("restart").disabled = !beat.running;
}

async function refreshRisk() {
  const risk = await api("GET", "/api/risk");
  const states = Object.entries(risk.trading_states).map(([scope, s]) => `${scope}: ${s}`).join(", ");
  $("risk-states").textContent = states || (risk.session_id ? "ACTIVE" : "no session");
  $("risk-working").textContent = risk.working_orders ?? "—";
  $("risk-open").textContent = risk.open_contracts ?? "—";
  const denials = Object.entries(risk.denials_by_code).map(([code, n]) => `${code} ${n}`).join(", ");
  $("risk-denials").textContent = denials || "none";
}

async function refreshDashboard() {
  const board = await api("GET", "/api/analytics/dashboard?limit=2000");
  $("kpi-pnl").textContent = money(board.pnl_usd);
  $("kpi-realized").textContent = money(board.realized_usd);
  $("kpi-unrealized").textContent = money(board.unrealized_usd);
  $("kpi-orders").textContent = board.orders;
  $("kpi-fills").textContent = board.fills;
  $("kpi-fill-rate").textContent = board.fill_rate === null ? "—" : `${(board.fill_rate * 100).toFixed(1)}%`;
  $("kpi-open").textContent = board.open_contracts;
  $("kpi-drawdown").textContent = money(board.max_drawdown_usd);
  drawChart(board.series);
}

function drawChart(series) {
  if (!window.Plotly) return;
  const traces = [["pnl_usd", "P&L"], ["realized_usd", "realized"], ["unrealized_usd", "unrealized"]]
    .map(([key, name]) => ({ x: series.at, y: series[key], name, mode: "lines", type: "scatter" }));
  Plotly.react("pnl-chart", traces, { margin: { t: 10, r: 10, b: 40, l: 60 }, yaxis: { title: "USD" },
    legend: { orientation: "h" } }, { displayModeBar: false, responsive: true });
  $("pnl-chart").dataset.points = String(series.at.length);
}

function fillRows(tableId, rows) {
  const body = document.querySelector(`#${tableId} tbody`);
  body.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    for (const cell of cells) {
      const td = document.createElement("td");
      td.textContent = cell;
      tr.appendChild(td);
    }
    return tr;
  }));
}

async function refreshTables() {
  const [positions, orders, sessions, audit] = await Promise.all([
    api("GET", "/api/trading/positions"), api("GET", "/api/trading/orders?limit=200"),
    api("GET", "/api/trading/sessions?limit=50"), api("GET", "/api/audit?limit=50")]);
  fillRows("positions", positions.map((p) => [p.symbol, p.expiry, num(p.strike), p.right, p.quantity,
    num(p.mark_per_share), money(p.unrealized_usd), num(p.delta_shares, 1), num(p.gamma_shares, 2),
    money(p.vega_usd), money(p.theta_usd)]));
  fillRows("orders", orders.map((o) => [o.client_order_id, o.owner, o.side, o.quantity,
    num(o.limit_price_per_share), o.status, o.filled_quantity, num(o.average_fill_price_per_share), when(o.updated_at)]));
  fillRows("sessions", sessions.map((s) => [s.id, s.detail.profile || s.configuration_id, s.mode, s.status,
    when(s.started_at), when(s.stopped_at), s.stop_reason]));
  fillRows("audit", audit.map((a) => [when(a.at), a.actor, a.action, a.subject, JSON.stringify(a.detail).slice(0, 160)]));
}

async function refreshAll() {
  await Promise.all([refreshStatus(), refreshRisk(), refreshDashboard(), refreshTables()]);
}

function setAutoRefresh() {
  if (state.refresh) clearInterval(state.refresh);
  state.refresh = $("auto-refresh").checked ? setInterval(() => guarded(refreshAll), 2000) : null;
}

// ---- live stream ---------------------------------------------------------------------------------------------

function openStream() {
  if (state.stream) state.stream.close();
  const stream = new EventSource("/api/stream");
  stream.onopen = () => { $("stream-state").textContent = "stream: live"; };
  stream.onerror = () => { $("stream-state").textContent = "stream: reconnecting"; };
  stream.addEventListener("fill", (event) => {
    const fill = JSON.parse(event.data);
    const item = document.createElement("li");
    item.className = "fill";
    item.textContent = `${new Date(fill.time_ns / 1e6).toLocaleTimeString()} ${fill.client_order_id} `
      + `${fill.quantity} @ ${num(fill.price_per_share)}`;
    $("fills").prepend(item);
  });
  stream.addEventListener("heartbeat", () => guarded(() => Promise.all([refreshStatus(), refreshDashboard()])));
  stream.addEventListener("session", () => guarded(refreshAll));
  state.stream = stream;
}

// ---- control and risk ----------------------------------------------------------------------------------------

async function control(action) {
  await guarded(async () => {
    const session = await api("POST", "/api/trading/control", { action, reason: `${action} from the command center` });
    say(`${action}: session ${session.id} ${session.status}`);
    await refreshAll();
  });
}

async function tradingState(path, reducing) {
  await guarded(async () => {
    const answer = await api("POST", path, { reason: $("risk-reason").value || "from the command center", reducing });
    const result = answer.answer ? (answer.answer.ok ? `now ${answer.answer.state}` : answer.answer.error)
      : "sent; the session has not answered yet";
    say(`${answer.state}: ${result}`);
    await refreshAll();
  });
}

// ---- profiles ---------------------------------------------------------------------------------------------

const getPath = (tree, path) => path.split(".").reduce((node, key) => (node == null ? undefined : node[key]), tree);

function setPath(tree, path, value) {
  const keys = path.split(".");
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    if (node[key] === undefined || node[key] === null) node[key] = {};
    node = node[key];
  }
  if (value === undefined) delete node[keys[keys.length - 1]];
  else node[keys[keys.length - 1]] = value;
}

const CRYPTO_FIELDS = [
  ["Strangle", [["strangle.symbol", "coin (BTC, ETH)", "string"], ["strangle.delta_band", "|delta| band (from,to)", "floats"],
    ["strangle.quantity", "contracts per leg", "int"], ["strangle.max_expiry_days", "days to expiry at most", "float"],
    ["strangle.expiry_buffer_minutes", "expiry buffer (min)", "float"]]],
  ["Windows (IST)", [["strangle.entry_start_ist", "entry from", "string"], ["strangle.entry_end_ist", "entry to", "string"],
    ["strangle.exit_start_ist", "exit from", "string"], ["strangle.exit_end_ist", "exit to", "string"]]],
  ["Exits", [["strangle.max_loss_usd", "max loss ($)", "float"], ["strangle.max_profit_usd", "max profit ($)", "float"]]],
  ["Risk limits", [["risk.limits.max_contracts_per_order", "contracts / order", "int"],
    ["risk.limits.max_open_orders", "open orders", "int"], ["risk.limits.max_daily_loss_usd", "daily loss ($)", "float"],
    ["risk.kill_switch.drawdown_usd", "kill on drawdown ($)", "float"]]],
];

/** The form's fields for a profile's kind: a crypto strangle profile has a `strangle` section. */
const fieldsOf = (settings) => (settings && settings.strangle ? CRYPTO_FIELDS : FIELDS);

function fieldId(path) { return `field-${path.replaceAll(".", "-")}`; }

function renderFields(settings) {
  const box = $("config-fields");
  box.replaceChildren();
  for (const [title, fields] of fieldsOf(settings)) {
    const set = document.createElement("fieldset");
    const legend = document.createElement("legend");
    legend.textContent = title;
    set.appendChild(legend);
    for (const [path, label, kind] of fields) {
      const row = document.createElement("label");
      row.textContent = label;
      const input = document.createElement("input");
      input.id = fieldId(path);
      input.dataset.path = path;
      input.dataset.kind = kind;
      const value = getPath(settings, path);
      if (kind === "bool") { input.type = "checkbox"; input.checked = Boolean(value); }
      else input.value = value === undefined || value === null ? "" : (Array.isArray(value) ? value.join(",") : value);
      input.placeholder = "default";
      row.appendChild(input);
      set.appendChild(row);
    }
    box.appendChild(set);
  }
}

function readField(input) {
  const kind = input.dataset.kind;
  if (kind === "bool") return input.checked;
  const text = input.value.trim();
  if (text === "") return undefined;
  const parts = text.split(",").map((part) => part.trim()).filter(Boolean);
  if (kind === "string") return text;
  if (kind === "strings") return parts.map((part) => part.toUpperCase());
  if (kind === "ints") return parts.map((part) => Number.parseInt(part, 10));
  if (kind === "floats") return parts.map(Number);
  return kind === "int" ? Number.parseInt(text, 10) : Number(text);
}

function formSettings() {
  let settings;
  try { settings = JSON.parse($("config-json").value || "{}"); } catch (error) {
    throw new Error(`All settings (JSON): ${error.message}`);
  }
  for (const input of document.querySelectorAll("#config-fields input")) {
    setPath(settings, input.dataset.path, readField(input));
  }
  return settings;
}

function showProfile(profile) {
  state.current = profile;
  $("config-name").value = profile.name;
  $("config-description").value = profile.description || "";
  $("config-json").value = JSON.stringify(profile.settings, null, 2);
  renderFields(profile.settings);
  $("config-activate").disabled = !profile.id || profile.is_active;
  $("config-errors").replaceChildren();
}

async function loadConfigs(selectId) {
  state.configs = await api("GET", "/api/configs");
  const select = $("config-select");
  select.replaceChildren(...state.configs.map((c) => {
    const option = document.createElement("option");
    option.value = c.id;
    option.textContent = `${c.name} v${c.version}${c.is_active ? " (active)" : ""}`;
    return option;
  }));
  const chosen = state.configs.find((c) => c.id === selectId) || state.configs.find((c) => c.is_active)
    || state.configs[0];
  if (chosen) { select.value = chosen.id; showProfile(chosen); } else { await newProfile(); }
}

async function newProfile(kind = "spreads") {
  const template = await api("GET", `/api/configs/template?kind=${kind}`);
  showProfile({ id: null, name: `profile-${state.configs.length + 1}`, description: template.description,
    settings: template.settings, is_active: false });
}

function showErrors(error) {
  const list = $("config-errors");
  document.querySelectorAll("#config-fields input.invalid").forEach((input) => input.classList.remove("invalid"));
  const problems = (error.body && error.body.problems) || [];
  list.replaceChildren(...(problems.length ? problems : [{ field: "", reason: error.message }]).map((p) => {
    const item = document.createElement("li");
    item.textContent = p.field ? `${p.field}: ${p.reason}` : p.reason;
    const input = p.field && $(fieldId(p.field.replace(/^settings\./, "")));
    if (input) input.classList.add("invalid");
    return item;
  }));
}

async function saveProfile(event) {
  event.preventDefault();
  try {
    const body = { name: $("config-name").value.trim(), description: $("config-description").value,
      settings: formSettings() };
    const saved = state.current && state.current.id
      ? (await api("PUT", `/api/configs/${state.current.id}`, body)).configuration
      : await api("POST", "/api/configs", body);
    say(`profile ${saved.name} saved (version ${saved.version})`);
    await loadConfigs(saved.id);
  } catch (error) { showErrors(error); say("the profile was not saved", true); }
}

async function activateProfile() {
  await guarded(async () => {
    const active = await api("POST", `/api/configs/${state.current.id}/activate`);
    say(`profile ${active.name} is active`);
    await loadConfigs(active.id);
    await refreshStatus();
  });
}

// ---- wiring --------------------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("auto-refresh").addEventListener("change", setAutoRefresh);
  $("start").addEventListener("click", () => control("start"));
  $("stop").addEventListener("click", () => control("stop"));
  $("restart").addEventListener("click", () => control("restart"));
  $("halt").addEventListener("click", () => tradingState("/api/risk/halt", false));
  $("reduce").addEventListener("click", () => tradingState("/api/risk/halt", true));
  $("resume").addEventListener("click", () => tradingState("/api/risk/resume", false));
  $("config-select").addEventListener("change", () => {
    const chosen = state.configs.find((c) => String(c.id) === $("config-select").value);
    if (chosen) showProfile(chosen);
  });
  $("config-new").addEventListener("click", () => guarded(() => newProfile("spreads")));
  $("config-new-crypto").addEventListener("click", () => guarded(() => newProfile("crypto")));
  $("config-activate").addEventListener("click", activateProfile);
  $("config-form").addEventListener("submit", saveProfile);
  api("GET", "/api/trading/heartbeat").then(enter).catch(showLogin);
});
