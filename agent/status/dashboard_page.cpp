#include "agent/status/dashboard_page.h"

namespace fep::status {
namespace {

// Placeholders: @NONCE@ (twice) and @INITIAL@ (once). Everything the page shows from the state
// database is set with textContent, never as HTML.
constexpr std::string_view kPage = R"HTML(<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fep-agent 同步状态</title>
<style nonce="@NONCE@">
:root { --ok:#1a7f37; --ok-bg:#dafbe1; --sync:#0969da; --sync-bg:#ddf4ff; --warn:#9a6700;
  --warn-bg:#fff8c5; --bad:#cf222e; --bad-bg:#ffebe9; --grey:#57606a; --grey-bg:#eaeef2;
  --line:#d0d7de; --text:#1f2328; --muted:#57606a; --bg:#f6f8fa; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--text); font-size:14px; line-height:1.5;
  font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", "Source Han Sans SC",
  "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Microsoft YaHei", "PingFang SC", sans-serif; }
header { background:#24292f; color:#fff; padding:12px 24px; display:flex; align-items:center;
  gap:16px; flex-wrap:wrap; }
header h1 { font-size:18px; margin:0; font-weight:600; }
header .node { color:#c9d1d9; }
header .spacer { flex:1; }
header a { color:#c9d1d9; text-decoration:none; padding:2px 6px; border-radius:4px; }
header a.current { background:#fff; color:#24292f; }
main { padding:16px 24px 32px; max-width:1400px; margin:0 auto; }
section { background:#fff; border:1px solid var(--line); border-radius:6px; margin:0 0 16px;
  padding:12px 16px; }
section h2 { font-size:15px; margin:0 0 10px; }
.tiles { display:flex; gap:12px; flex-wrap:wrap; }
.tile { border:1px solid var(--line); border-radius:6px; padding:8px 14px; min-width:110px; }
.tile .n { font-size:22px; font-weight:600; }
.tile .l { color:var(--muted); font-size:12px; }
.tile.ok { border-color:var(--ok); } .tile.syncing { border-color:var(--sync); }
.tile.attention { border-color:var(--warn); } .tile.blocked { border-color:var(--bad); }
.kvs { display:flex; flex-wrap:wrap; gap:4px 28px; }
.kv .k { color:var(--muted); margin-right:8px; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:600; font-size:12px; word-break:keep-all; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
td.nowrap, span.nowrap { white-space:nowrap; } td.name { min-width:8em; }
td.err { color:var(--bad); min-width:10em; max-width:420px; overflow-wrap:anywhere; }
tr.history > td { background:var(--bg); }
.badge { display:inline-flex; align-items:center; gap:6px; padding:1px 8px; border-radius:10px;
  font-size:12px; white-space:nowrap; font-weight:600; }
.badge::before { content:""; width:8px; height:8px; border-radius:50%; background:currentColor; }
.h-ok { color:var(--ok); background:var(--ok-bg); }
.h-syncing { color:var(--sync); background:var(--sync-bg); }
.h-attention { color:var(--warn); background:var(--warn-bg); }
.h-blocked { color:var(--bad); background:var(--bad-bg); }
.h-unknown { color:var(--grey); background:var(--grey-bg); }
.attn { list-style:none; margin:0; padding:0; }
.attn li { border-left:4px solid var(--warn); background:var(--warn-bg); padding:8px 12px;
  margin:0 0 8px; border-radius:0 4px 4px 0; }
.attn li.blocked { border-color:var(--bad); background:var(--bad-bg); }
.attn li .what { font-weight:600; }
.attn li .why { color:var(--text); word-break:break-word; }
code.cmd { display:inline-block; background:#24292f; color:#fff; padding:2px 8px; border-radius:4px;
  font-family: ui-monospace, "DejaVu Sans Mono", monospace; margin-top:4px; user-select:all;
  overflow-wrap:anywhere; }
.cmds { list-style:none; margin:4px 0 0; padding:0; }
.attn .cmds li { background:none; border:0; padding:2px 0; margin:0; }
.cmdline { display:flex; align-items:center; gap:8px; flex-wrap:wrap; }
.cmdline code.cmd { margin-top:0; }
button.copy { background:#fff; border:1px solid var(--line); border-radius:4px; padding:0 8px;
  cursor:pointer; color:var(--muted); font:inherit; font-size:12px; }
.progress { display:grid; grid-template-columns:minmax(12em, 22em) 1fr; gap:2px 16px;
  align-items:center; padding:6px 0; border-bottom:1px solid var(--line); }
.progress:last-child { border-bottom:0; }
.progress .who { overflow-wrap:anywhere; }
.pbar { height:12px; background:var(--grey-bg); border-radius:6px; overflow:hidden; }
.pbar .pfill { height:100%; width:0; background:var(--sync); border-radius:6px; }
.pbar.indeterminate .pfill { width:100%; opacity:.35; }
.progress .figures { grid-column:2; color:var(--muted); font-size:12px;
  font-variant-numeric:tabular-nums; }
.sub { display:block; color:var(--muted); font-size:12px; white-space:nowrap; }
.sub.bad { color:var(--bad); }
.allgood { color:var(--ok); font-weight:600; }
.muted { color:var(--muted); }
.banner { background:var(--bad-bg); color:var(--bad); border:1px solid var(--bad); padding:8px 12px;
  border-radius:6px; margin:0 0 16px; }
button.link { background:none; border:1px solid var(--line); border-radius:4px; padding:1px 8px;
  cursor:pointer; color:var(--sync); font:inherit; font-size:12px; white-space:nowrap; }
svg.chart { width:100%; height:220px; display:block; }
svg.chart .bar { fill:var(--sync); } svg.chart .bar:hover { fill:#0550ae; }
svg.chart text { font-size:11px; fill:var(--muted); }
svg.chart line { stroke:var(--line); }
footer { color:var(--muted); font-size:12px; padding:0 24px 24px; max-width:1400px; margin:0 auto; }
footer a { color:var(--muted); }
</style>
</head>
<body>
<header>
  <h1 data-t="title">前置机数据同步状态</h1>
  <span class="node" id="node"></span>
  <span class="spacer"></span>
  <span id="refreshed" class="node"></span>
  <nav><a id="lang-zh" href="?lang=zh">中文</a> <a id="lang-en" href="?lang=en">English</a></nav>
</header>
<main>
  <div id="banner" class="banner" hidden></div>
  <section class="agent">
    <h2 data-t="agent">代理运行状况</h2>
    <div class="kvs" id="agent"></div>
  </section>
  <section>
    <h2 data-t="overview">概览</h2>
    <div class="tiles" id="tiles"></div>
  </section>
  <section>
    <h2 data-t="attention">需要处理</h2>
    <ul class="attn" id="attention"></ul>
  </section>
  <section id="progress-section" hidden>
    <h2 data-t="in_progress">正在处理的批次</h2>
    <div id="progress"></div>
  </section>
  <section>
    <h2 data-t="resources">资源</h2>
    <table id="resources">
      <thead><tr>
        <th data-t="col_health">状态</th><th data-t="col_id">资源编号</th>
        <th data-t="col_name">名称（类型 · 订阅）</th>
        <th data-t="col_last_seq">最后批次</th><th data-t="col_last_applied">最后应用时间</th>
        <th data-t="col_lag">滞后</th><th data-t="col_rows">最近批次行数</th>
        <th data-t="col_rows_total">累计写入行数</th><th data-t="col_batches">批次（应用/拒收/替代）</th>
        <th data-t="col_receipts">回执</th><th data-t="col_next">下次同步</th>
        <th data-t="col_error">最近错误</th><th></th>
      </tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section>
    <h2 data-t="chart">每日写入行数（近 30 天）</h2>
    <div id="chart"></div>
  </section>
  <section>
    <h2 data-t="receipts">回执</h2>
    <div id="receipts"></div>
  </section>
  <section>
    <h2 data-t="events">最近事件</h2>
    <table id="events">
      <thead><tr><th data-t="col_time">时间</th><th data-t="col_level">级别</th>
        <th data-t="col_id">资源编号</th><th data-t="col_message">内容</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
</main>
<footer>
  <span data-t="api">接口</span>:
  <a href="/api/v1/status">/api/v1/status</a> · <a href="/api/v1/resources">/api/v1/resources</a> ·
  <a href="/api/v1/events?limit=100">/api/v1/events</a> · <a href="/metrics">/metrics</a>
</footer>
<script id="initial-status" type="application/json">@INITIAL@</script>
<script nonce="@NONCE@">
"use strict";
const T = {
  zh: {
    title: "前置机数据同步状态", agent: "代理运行状况", overview: "概览", attention: "需要处理",
    resources: "资源", chart: "每日写入行数（近 30 天）", receipts: "回执", events: "最近事件",
    api: "接口", col_health: "状态", col_id: "资源编号", col_name: "名称（类型 · 订阅）",
    col_last_seq: "最后批次", col_last_applied: "最后应用时间",
    col_rows: "最近批次行数", col_rows_total: "累计写入行数", col_batches: "批次（应用/拒收/替代）",
    col_next: "下次同步", col_error: "最近错误", col_time: "时间", col_level: "级别",
    col_message: "内容", col_seq: "序号", col_batch: "批次编号", col_mode: "方式",
    col_state: "结果", col_deleted: "删除行数", col_outcome_at: "完成时间", col_receipt: "回执编号",
    col_attempts: "尝试次数", col_http: "HTTP 状态",
    version: "版本", node: "节点", started: "启动时间", uptime: "已运行", heartbeat: "最近心跳",
    running_now: "正在同步", state_db: "状态数据库", db_ok: "正常（只读访问）", now: "服务器时间",
    refreshed: "更新于 {t}", refresh_failed: "刷新失败：{e}",
    tile_resources: "资源总数", tile_pending: "待送达回执", tile_refused: "被拒回执",
    h_ok: "正常", h_syncing: "同步中", h_attention: "需关注", h_blocked: "已阻塞", h_unknown: "未同步",
    history: "批次记录", hide: "收起", loading: "加载中…", no_batches: "还没有批次",
    no_events: "还没有事件", no_receipts: "没有待送达或被拒的回执", no_rows: "近 30 天没有写入数据",
    all_good: "一切正常，无需处理。",
    a_approve: "{id}（{name}）的订阅状态为「{sub}」：请在交换平台上申请或批准订阅，批准前不会同步。",
    a_check_target: "{id}（{name}）已暂停：目标数据库或文件夹暂时无法写入（见错误）。恢复后代理会自动继续。",
    a_see_error: "{id}（{name}）上次同步出错，代理会按计划自动重试；如持续出错，请检查网络、平台地址、令牌和目标数据库。",
    a_first_sync: "{id} 已在配置中，但还没有任何记录：确认已在平台订阅并获批，或立即同步：",
    a_refused: "交换平台拒收了批次 {batch}（{id}）的回执（HTTP {status}）：{error}。请联系平台核实该批次。",
    a_pending: "{n} 份回执等待送达交换平台，代理会自动重试。",
    rows_tip: "{date}：{rows} 行，{batches} 个批次", rows_unit: "行",
    kind_table: "库表", kind_folder: "文件夹", kind_interface: "接口",
    sub_approved: "已批准", sub_pending: "待审批", sub_rejected: "已驳回", sub_revoked: "已撤销",
    "sub_not subscribed": "未订阅",
    st_listed: "已列出", st_downloading: "下载中", st_applying: "写入中", st_applied: "已应用",
    st_rejected: "已拒收", st_superseded: "已被替代", st_pending: "待送达", st_refused: "被拒收",
    mode_full: "全量", mode_incremental: "增量",
    lv_info: "信息", lv_warn: "警告", lv_error: "错误",
    st_failed: "待处理（写入失败）", rc_pending: "待送达", rc_delivered: "已送达", rc_refused: "被拒收",
    in_progress: "正在处理的批次", col_lag: "滞后", col_receipts: "回执", col_size: "大小", col_batch_rows: "行数（文件数）", col_receipt_state: "回执状态",
    col_created_at: "发布时间", col_duration: "耗时", tile_max_lag: "最大滞后",
    waiting_n: "{n} 个批次等待", receipts_pending_n: "{n} 待送达", receipts_refused_n: "{n} 被拒收",
    ph_downloading: "下载中", ph_applying: "写入中", items_table: "行", items_folder: "个文件",
    per_second: "/秒", eta: "预计剩余 {t}", elapsed: "已用 {t}", unknown_total: "总量未知",
    copy: "复制", copied: "已复制",
    a_held: "{id}（{name}）已阻塞：批次 {batch}（序号 {seq}）无法写入本地目标，已暂停等待处理（尚未发送回执），后续批次暂停同步。",
    a_held_do: "处理办法（任选其一）：",
    a_rejected: "{id}（{name}）已阻塞：批次 {batch}（序号 {seq}）被拒收（拒收回执已发送），后续批次暂停同步。",
    a_rejected_do: "先处理原因（平台重新发布或修正本地问题；被拒数据保存在 {dir}），然后任选其一：",
    a_blocked: "{id}（{name}）已阻塞，后续批次暂停同步。",
    a_resync_wait: "{id}（{name}）已请求重新同步：等待下一个全量批次，在此之前不应用增量批次。",
    cmd_retry: "修正本地原因（表结构、约束、权限等）后，重试该批次：",
    cmd_skip: "放弃该批次：向平台发送拒收回执，继续同步后续批次（请写明原因）：",
    cmd_skip_rejected: "跳过该批次，继续同步后续批次（请写明原因）：",
    cmd_resync: "等待并应用下一个全量批次：",
    cmd_unblock: "跳过被拒收的批次，继续同步：",
    cmd_sync_now: "立即同步：",
    d: "{n}天", h: "{n}小时", m: "{n}分", s: "{n}秒"
  },
  en: {
    title: "Front-end sync status", agent: "Agent health", overview: "Overview",
    attention: "Needs attention", resources: "Resources", chart: "Rows applied per day (last 30 days)",
    receipts: "Receipts", events: "Recent events", api: "API", col_health: "Status",
    col_id: "Resource", col_name: "Name (kind · subscription)",
    col_last_seq: "Last seq", col_last_applied: "Last applied", col_rows: "Rows (last batch)",
    col_rows_total: "Rows applied", col_batches: "Batches applied / rejected / superseded",
    col_next: "Next sync", col_error: "Last error", col_time: "Time", col_level: "Level",
    col_message: "Message", col_seq: "Seq", col_batch: "Batch", col_mode: "Mode",
    col_state: "Outcome", col_deleted: "Deleted", col_outcome_at: "Finished", col_receipt: "Receipt",
    col_attempts: "Attempts", col_http: "HTTP status",
    version: "Version", node: "Node", started: "Started", uptime: "Uptime",
    heartbeat: "Last heartbeat", running_now: "Syncing now", state_db: "State database",
    db_ok: "OK (read-only access)", now: "Server time", refreshed: "Updated {t}",
    refresh_failed: "Refresh failed: {e}", tile_resources: "Resources",
    tile_pending: "Receipts pending", tile_refused: "Receipts refused",
    h_ok: "OK", h_syncing: "Syncing", h_attention: "Needs attention", h_blocked: "Blocked",
    h_unknown: "Not synced yet", history: "Batches", hide: "Hide", loading: "Loading…",
    no_batches: "No batches yet", no_events: "No events yet",
    no_receipts: "No receipts waiting or refused", no_rows: "No rows applied in the last 30 days",
    all_good: "All good: nothing to do.",
    a_approve: "The subscription of {id} ({name}) is {sub}: have it approved on the exchange platform; nothing syncs until then.",
    a_check_target: "{id} ({name}) is paused: the target database or folder cannot take writes now (see the error). The agent resumes by itself.",
    a_see_error: "The last sync of {id} ({name}) failed; the agent retries on schedule. If it keeps failing, check the network, the exchange URL, the token and the target database.",
    a_first_sync: "{id} is configured but has no record yet: check that it is subscribed and approved on the platform, or sync it now:",
    a_refused: "The exchange refused the receipt of batch {batch} ({id}) (HTTP {status}): {error}. Ask the platform to check that batch.",
    a_pending: "{n} receipt(s) waiting to be delivered; the agent retries by itself.",
    rows_tip: "{date}: {rows} rows, {batches} batch(es)", rows_unit: "rows",
    kind_table: "table", kind_folder: "folder", kind_interface: "interface",
    sub_approved: "approved", sub_pending: "pending", sub_rejected: "rejected", sub_revoked: "revoked",
    "sub_not subscribed": "not subscribed",
    st_listed: "listed", st_downloading: "downloading", st_applying: "applying", st_applied: "applied",
    st_rejected: "rejected", st_superseded: "superseded", st_pending: "pending", st_refused: "refused",
    mode_full: "full", mode_incremental: "incremental",
    lv_info: "info", lv_warn: "warning", lv_error: "error",
    st_failed: "held (failed)", rc_pending: "pending", rc_delivered: "delivered", rc_refused: "refused",
    in_progress: "Batches in progress", col_lag: "Lag", col_receipts: "Receipts", col_size: "Size", col_batch_rows: "Rows (files)", col_receipt_state: "Receipt",
    col_created_at: "Published", col_duration: "Duration", tile_max_lag: "Largest lag",
    waiting_n: "{n} waiting", receipts_pending_n: "{n} pending", receipts_refused_n: "{n} refused",
    ph_downloading: "downloading", ph_applying: "applying", items_table: "rows", items_folder: "files",
    per_second: "/s", eta: "about {t} left", elapsed: "{t} so far", unknown_total: "total unknown",
    copy: "Copy", copied: "Copied",
    a_held: "{id} ({name}) is blocked: batch {batch} (seq {seq}) could not be written to the local target and is held (no receipt sent yet); the batches after it wait.",
    a_held_do: "What to do (one of):",
    a_rejected: "{id} ({name}) is blocked: batch {batch} (seq {seq}) was rejected (its rejected receipt is sent); the batches after it wait.",
    a_rejected_do: "Deal with the cause first (the platform republishes, or fix the local problem; the rejected payload is kept in {dir}), then one of:",
    a_blocked: "{id} ({name}) is blocked; the batches after it wait.",
    a_resync_wait: "{id} ({name}): a resync was requested; waiting for the next full batch, and no incremental batch is applied until then.",
    cmd_retry: "fix the local cause (table structure, constraint, permissions), then try the batch again:",
    cmd_skip: "give the batch up: send the platform a rejected receipt and go on (say why):",
    cmd_skip_rejected: "go on after the batch (say why):",
    cmd_resync: "wait for the next full batch and apply it:",
    cmd_unblock: "go on after the rejected batch:",
    cmd_sync_now: "sync it now:",
    d: "{n}d", h: "{n}h", m: "{n}m", s: "{n}s"
  }
};

const params = new URLSearchParams(location.search);
let lang = params.get("lang");
try {
  if (lang === "zh" || lang === "en") localStorage.setItem("fep.lang", lang);
  else lang = localStorage.getItem("fep.lang");
} catch (e) { /* storage may be off */ }
if (lang !== "en") lang = "zh";
document.documentElement.lang = lang === "en" ? "en" : "zh-CN";

function t(key, vars) {
  let text = T[lang][key];
  if (text === undefined) text = T.zh[key];
  if (text === undefined) return key;
  return text.replace(/\{(\w+)\}/g, (m, k) => (vars && vars[k] !== undefined && vars[k] !== null ? String(vars[k]) : "-"));
}
function label(prefix, value) {
  if (value === null || value === undefined || value === "") return "-";
  const text = T[lang][prefix + value];
  return text === undefined ? value : text;
}
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}
function when(ts) { return ts ? ts.replace("T", " ").slice(0, 19) : "-"; }
// A time stamp cell that wraps only between the date and the time.
function whenCell(ts) {
  const [date, time] = when(ts).split(" ");
  return el("td", {title: ts || ""}, el("span", {class: "nowrap", text: date}), time ? " " : null,
            time ? el("span", {class: "nowrap", text: time}) : null);
}
function num(n) { return n === null || n === undefined ? "-" : Number(n).toLocaleString(lang === "en" ? "en-US" : "zh-CN"); }
function duration(secs) {
  if (secs === null || secs === undefined) return "-";
  const d = Math.floor(secs / 86400), h = Math.floor(secs % 86400 / 3600), m = Math.floor(secs % 3600 / 60);
  const parts = [];
  if (d) parts.push(t("d", {n: d}));
  if (d || h) parts.push(t("h", {n: h}));
  parts.push(secs < 60 ? t("s", {n: secs}) : t("m", {n: m}));
  return parts.join(lang === "en" ? " " : "");
}
function bytes(n) {
  if (n === null || n === undefined) return "-";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = Number(n), i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; ++i; }
  return (i ? v.toFixed(v < 10 ? 2 : 1) : String(v)) + " " + units[i];
}
// A command to copy: the text (selected whole on a click) and a button that copies it. Copying
// happens in the browser only; nothing is sent anywhere.
function cmdLine(command) {
  const code = el("code", {class: "cmd", text: command});
  const button = el("button", {class: "copy", type: "button", text: t("copy")});
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(command);
    } catch (e) {
      const range = document.createRange();
      range.selectNodeContents(code);
      const sel = getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      try { document.execCommand("copy"); } catch (e2) { /* selected: Ctrl+C copies it */ }
    }
    button.textContent = t("copied");
    setTimeout(() => { button.textContent = t("copy"); }, 1500);
  });
  return el("div", {class: "cmdline"}, code, button);
}
function badge(health) { return el("span", {class: "badge h-" + health, "data-health": health, text: t("h_" + health)}); }

function translateStatic() {
  document.title = "fep-agent · " + t("title");
  for (const e of document.querySelectorAll("[data-t]")) e.textContent = t(e.dataset.t);
  document.getElementById("lang-" + lang).classList.add("current");
}

function renderAgent(s) {
  const a = s.agent, box = document.getElementById("agent");
  box.replaceChildren();
  const row = (k, v) => box.append(el("div", {class: "kv", "data-k": k}, el("span", {class: "k", text: t(k)}), el("span", {class: "v", text: v})));
  row("version", "fep-agent " + a.version);
  row("node", a.node || "-");
  if (a.started_at) row("started", when(a.started_at));
  if (a.uptime_seconds !== null) row("uptime", duration(a.uptime_seconds));
  if (a.last_heartbeat_at) row("heartbeat", when(a.last_heartbeat_at));
  if (a.running && a.running.length) row("running_now", a.running.join(", "));
  row("state_db", s.state_database.ok ? t("db_ok") : s.state_database.error);
  row("now", when(a.now));
  document.getElementById("node").textContent = (a.node ? a.node + " · " : "") + "fep-agent " + a.version;
  const banner = document.getElementById("banner");
  banner.hidden = s.state_database.ok;
  banner.textContent = s.state_database.ok ? "" : t("state_db") + ": " + s.state_database.error;
}

function renderTiles(s) {
  const box = document.getElementById("tiles"), sum = s.summary;
  box.replaceChildren();
  const tile = (cls, n, l) => box.append(el("div", {class: "tile " + cls}, el("div", {class: "n", text: num(n)}), el("div", {class: "l", text: l})));
  tile("", sum.resources, t("tile_resources"));
  for (const h of ["ok", "syncing", "attention", "blocked", "unknown"])
    if (sum[h] || h === "ok" || h === "blocked") tile(h, sum[h], t("h_" + h));
  const lags = s.resources.map(r => r.lag_seconds).filter(v => v !== null && v !== undefined);
  if (lags.length) {
    const lag = Math.max(...lags);
    box.append(el("div", {class: "tile", "data-tile": "max_lag"}, el("div", {class: "n", text: duration(lag)}), el("div", {class: "l", text: t("tile_max_lag")})));
  }
  tile(sum.receipts_pending ? "attention" : "", sum.receipts_pending, t("tile_pending"));
  tile(sum.receipts_refused ? "blocked" : "", sum.receipts_refused, t("tile_refused"));
}

function renderAttention(s) {
  const list = document.getElementById("attention");
  list.replaceChildren();
  for (const r of s.resources) {
    if (!r.action) continue;
    const a = r.action, vars = {id: r.resource_id, name: r.name || "-", sub: label("sub_", r.subscription)};
    const li = el("li", {class: r.health === "blocked" ? "blocked" : "", "data-resource": r.resource_id, "data-action": a.code});
    const why = (b) => (b && (b.error_code || b.error_message)) ? (b.error_code || "") + ": " + (b.error_message || "") : r.last_error;
    let intro = null, reason = r.last_error, howKeys = {};
    if (a.code === "retry") {
      const b = r.held_batch || {};
      li.append(el("div", {class: "what", text: t("a_held", Object.assign(vars, {batch: b.batch_id, seq: b.seq}))}));
      reason = why(r.held_batch);
      intro = t("a_held_do");
    } else if (a.code === "skip") {
      const b = r.last_rejected || {};
      li.append(el("div", {class: "what", text: t("a_rejected", Object.assign(vars, {batch: b.batch_id, seq: b.seq}))}));
      reason = why(r.last_rejected);
      intro = t("a_rejected_do", {dir: a.rejected_dir || "rejected/"});
      howKeys = {skip: "cmd_skip_rejected"};
    } else if (a.code === "unblock") {
      li.append(el("div", {class: "what", text: t("a_blocked", vars)}));
    } else {
      const key = {approve_subscription: "a_approve", check_target: "a_check_target", see_error: "a_see_error", first_sync: "a_first_sync", resync_wait: "a_resync_wait"}[a.code] || "a_see_error";
      li.append(el("div", {class: "what", text: t(key, vars)}));
    }
    if (reason) li.append(el("div", {class: "why", text: reason}));
    if (intro) li.append(el("div", {text: intro}));
    const commands = a.commands || (a.command ? [{code: "", command: a.command}] : []);
    if (commands.length === 1 && !intro) {
      li.append(cmdLine(commands[0].command));
    } else if (commands.length) {
      const cmds = el("ol", {class: "cmds"});
      for (const c of commands)
        cmds.append(el("li", {"data-command": c.code}, el("div", {class: "how", text: t(howKeys[c.code] || "cmd_" + c.code)}), cmdLine(c.command)));
      li.append(cmds);
    }
    list.append(li);
  }
  for (const rc of s.receipts) {
    if (rc.state !== "refused") continue;
    list.append(el("li", {class: "blocked", "data-receipt": rc.receipt_id},
      el("div", {class: "what", text: t("a_refused", {batch: rc.batch_id, id: rc.resource_id, status: rc.last_http_status, error: rc.last_error})})));
  }
  if (s.summary.receipts_pending) list.append(el("li", {}, el("div", {text: t("a_pending", {n: s.summary.receipts_pending})})));
  if (!s.state_database.ok) list.append(el("li", {class: "blocked"}, el("div", {class: "what", text: t("state_db") + ": " + s.state_database.error})));
  if (!list.children.length) list.append(el("li", {class: "allgood-item"}, el("span", {class: "allgood", text: t("all_good")})));
}

// Resources whose batch history is open; ?batches=ID opens one from a link.
const open = new Set(params.get("batches") ? [params.get("batches")] : []);
function itemsUnit(kind) { return t(kind === "folder" ? "items_folder" : "items_table"); }

function renderProgress(s) {
  const box = document.getElementById("progress"), running = s.resources.filter(r => r.progress);
  document.getElementById("progress-section").hidden = !running.length;
  box.replaceChildren();
  for (const r of running) {
    const p = r.progress, downloading = p.phase === "downloading";
    const done = downloading ? p.bytes_done : p.items_done, total = downloading ? p.bytes_total : p.items_total;
    const show = downloading ? bytes : (n) => num(n) + " " + itemsUnit(r.kind);
    const bar = el("div", {class: "pbar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100"}, el("div", {class: "pfill"}));
    const parts = [label("ph_", p.phase)];
    if (total > 0) {
      const pct = Math.min(100, Math.floor(100 * done / total));
      bar.firstChild.style.width = pct + "%";
      bar.setAttribute("aria-valuenow", String(pct));
      parts.push(show(done) + " / " + show(total) + " (" + pct + "%)");
    } else {
      bar.classList.add("indeterminate");
      parts.push(show(done) + " (" + t("unknown_total") + ")");
    }
    if (p.rate_per_second !== null && p.rate_per_second !== undefined)
      parts.push((downloading ? bytes(p.rate_per_second) : num(Math.round(p.rate_per_second)) + " " + itemsUnit(r.kind)) + t("per_second"));
    if (p.eta_seconds !== null && p.eta_seconds !== undefined) parts.push(t("eta", {t: duration(p.eta_seconds)}));
    else if (p.elapsed_seconds !== null && p.elapsed_seconds !== undefined) parts.push(t("elapsed", {t: duration(p.elapsed_seconds)}));
    box.append(el("div", {class: "progress", "data-progress": r.resource_id, "data-phase": p.phase},
      el("div", {class: "who"}, el("strong", {text: r.resource_id}), " " + (r.name || ""),
        el("span", {class: "sub", text: p.batch_id + " · #" + p.seq})),
      bar, el("div", {class: "figures", text: parts.join(" · ")})));
  }
}

function renderResources(s) {
  const body = document.querySelector("#resources tbody");
  body.replaceChildren();
  for (const r of s.resources) {
    const b = r.batches;
    const toggle = el("button", {class: "link", type: "button", text: open.has(r.resource_id) ? t("hide") : t("history")});
    const tr = el("tr", {"data-resource": r.resource_id, "data-health": r.health},
      el("td", {}, badge(r.health)), el("td", {class: "nowrap", text: r.resource_id}),
      el("td", {class: "name"}, r.name || "-",
        el("span", {class: "sub" + (r.subscription && r.subscription !== "approved" ? " bad" : ""), "data-kind": r.kind || "", "data-subscription": r.subscription || "",
          text: label("kind_", r.kind) + " · " + label("sub_", r.subscription)})),
      el("td", {class: "num", text: r.last_seq === null ? "-" : String(r.last_seq)}),
      whenCell(r.last_applied_at),
      el("td", {class: "num", "data-lag": r.lag_seconds === null || r.lag_seconds === undefined ? "" : String(r.lag_seconds)},
        r.lag_seconds === null || r.lag_seconds === undefined ? "-" : duration(r.lag_seconds),
        r.waiting_batches ? el("span", {class: "sub", text: t("waiting_n", {n: r.waiting_batches})}) : null),
      el("td", {class: "num", text: num(r.rows_last_batch)}),
      el("td", {class: "num", text: num(r.rows_applied_total)}),
      el("td", {class: "num", text: b.applied + " / " + b.rejected + " / " + b.superseded}),
      el("td", {class: "num", "data-pending": String(r.pending_receipts || 0)},
        !r.pending_receipts && !r.refused_receipts ? "-" : null,
        r.pending_receipts ? el("span", {class: "sub", text: t("receipts_pending_n", {n: r.pending_receipts})}) : null,
        r.refused_receipts ? el("span", {class: "sub bad", text: t("receipts_refused_n", {n: r.refused_receipts})}) : null),
      whenCell(r.next_run_at), el("td", {class: "err", text: r.last_error || ""}), el("td", {}, toggle));
    body.append(tr);
    const hist = el("tr", {class: "history", "data-history": r.resource_id});
    hist.hidden = !open.has(r.resource_id);
    hist.append(el("td", {colspan: "13"}));
    body.append(hist);
    toggle.addEventListener("click", () => {
      if (open.has(r.resource_id)) { open.delete(r.resource_id); hist.hidden = true; toggle.textContent = t("history"); }
      else { open.add(r.resource_id); hist.hidden = false; toggle.textContent = t("hide"); loadHistory(r.resource_id, hist.firstChild); }
    });
    if (open.has(r.resource_id)) loadHistory(r.resource_id, hist.firstChild);
  }
}

async function loadHistory(id, cell) {
  if (!cell.firstChild) cell.append(el("span", {class: "muted", text: t("loading")}));
  try {
    const resp = await fetch("/api/v1/resources/" + encodeURIComponent(id) + "/batches?limit=20", {cache: "no-store"});
    if (!resp.ok) throw new Error("HTTP " + resp.status);
    const data = await resp.json();
    if (!data.batches.length) { cell.replaceChildren(el("span", {class: "muted", text: t("no_batches")})); return; }
    const head = el("tr", {});
    for (const k of ["col_seq", "col_batch", "col_mode", "col_state", "col_batch_rows", "col_deleted", "col_size", "col_created_at", "col_duration", "col_outcome_at", "col_receipt_state", "col_error"])
      head.append(el("th", {text: t(k)}));
    const rows = el("tbody", {});
    for (const b of data.batches) {
      const health = b.state === "applied" ? "ok" : b.state === "rejected" || b.state === "failed" ? "blocked" : b.state === "superseded" ? "unknown" : "syncing";
      const receipt = b.receipt_state ? label("rc_", b.receipt_state) + (b.receipt_http_status ? " (HTTP " + b.receipt_http_status + ")" : "") : "-";
      rows.append(el("tr", {"data-batch": b.batch_id, "data-state": b.state},
        el("td", {class: "num", text: String(b.seq)}), el("td", {class: "nowrap", text: b.batch_id}),
        el("td", {class: "nowrap", text: label("mode_", b.mode)}),
        el("td", {}, el("span", {class: "badge h-" + health, text: label("st_", b.state)})),
        el("td", {class: "num", text: num(b.rows)}), el("td", {class: "num", text: num(b.deleted)}),
        el("td", {class: "num", "data-bytes": b.payload_bytes === null ? "" : String(b.payload_bytes), text: bytes(b.payload_bytes)}),
        whenCell(b.created_at),
        el("td", {class: "num", text: duration(b.duration_seconds)}),
        whenCell(b.outcome_at),
        el("td", {class: "nowrap", "data-receipt-state": b.receipt_state || "", text: receipt}),
        el("td", {class: "err", text: b.error_code ? b.error_code + ": " + (b.error_message || "") : ""})));
    }
    cell.replaceChildren(el("table", {}, el("thead", {}, head), rows));
  } catch (e) {
    cell.replaceChildren(el("span", {class: "err", text: t("refresh_failed", {e: e.message})}));
  }
}

function renderChart(s) {
  const box = document.getElementById("chart"), days = s.rows_per_day;
  box.replaceChildren();
  const max = Math.max(0, ...days.map(d => d.rows));
  if (!max) { box.append(el("p", {class: "muted", text: t("no_rows")})); return; }
  const NS = "http://www.w3.org/2000/svg", W = Math.max(600, Math.round(box.clientWidth) || 900);
  const H = 220, left = 64, bottom = 24, top = 10;
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("class", "chart");
  svg.setAttribute("viewBox", "0 0 " + W + " " + H);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", t("chart"));
  const node = (tag, attrs, text) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    svg.append(e);
    return e;
  };
  const mag = Math.pow(10, Math.floor(Math.log10(max)));
  const step = [1, 2, 5, 10].map(f => f * mag).find(v => v * 4 >= max);
  const top_value = Math.ceil(max / step) * step;
  const plotH = H - bottom - top, plotW = W - left - 8, slot = plotW / days.length;
  for (let v = 0; v <= top_value; v += step) {
    const y = top + plotH - plotH * v / top_value;
    node("line", {x1: left, x2: W - 8, y1: y, y2: y});
    node("text", {x: left - 6, y: y + 4, "text-anchor": "end"}, num(v));
  }
  days.forEach((d, i) => {
    const h = plotH * d.rows / top_value, x = left + i * slot + slot * 0.15;
    const bar = node("rect", {class: "bar", x: x, y: top + plotH - h, width: slot * 0.7, height: Math.max(h, d.rows ? 1 : 0), "data-date": d.date, "data-rows": d.rows});
    const tip = document.createElementNS(NS, "title");
    tip.textContent = t("rows_tip", {date: d.date, rows: num(d.rows), batches: d.batches});
    bar.append(tip);
    if (i % 5 === 0 || i === days.length - 1) node("text", {x: left + i * slot + slot / 2, y: H - 6, "text-anchor": "middle"}, d.date.slice(5));
  });
  box.append(svg);
}

function renderReceipts(s) {
  const box = document.getElementById("receipts");
  box.replaceChildren();
  if (!s.receipts.length) { box.append(el("p", {class: "muted", text: t("no_receipts")})); return; }
  const head = el("tr", {});
  for (const k of ["col_state", "col_receipt", "col_batch", "col_id", "col_attempts", "col_http", "col_error"]) head.append(el("th", {text: t(k)}));
  const rows = el("tbody", {});
  for (const r of s.receipts)
    rows.append(el("tr", {"data-receipt": r.receipt_id},
      el("td", {}, el("span", {class: "badge " + (r.state === "refused" ? "h-blocked" : "h-attention"), text: label("st_", r.state)})),
      el("td", {text: r.receipt_id}), el("td", {text: r.batch_id}), el("td", {text: r.resource_id}),
      el("td", {class: "num", text: String(r.attempts)}), el("td", {text: r.last_http_status === null ? "-" : String(r.last_http_status)}),
      el("td", {class: "err", text: r.last_error || ""})));
  box.append(el("table", {}, el("thead", {}, head), rows));
}

function renderEvents(s) {
  const body = document.querySelector("#events tbody");
  body.replaceChildren();
  if (!s.events.length) body.append(el("tr", {}, el("td", {colspan: "4", class: "muted", text: t("no_events")})));
  for (const e of s.events)
    body.append(el("tr", {},
      el("td", {text: when(e.at)}),
      el("td", {}, el("span", {class: "badge " + (e.level === "error" ? "h-blocked" : e.level === "warn" ? "h-attention" : "h-unknown"), text: label("lv_", e.level)})),
      el("td", {text: e.resource_id || "-"}), el("td", {text: e.message})));
}

// Every 10 seconds; every 2 while a batch is in progress, so that its bar moves.
let busy = false;
function render(s) {
  renderAgent(s); renderTiles(s); renderAttention(s); renderProgress(s); renderResources(s);
  renderChart(s); renderReceipts(s); renderEvents(s);
  busy = s.resources.some(r => r.progress);
  document.getElementById("refreshed").textContent = t("refreshed", {t: when(s.agent.now)});
}

async function refresh() {
  try {
    const resp = await fetch("/api/v1/status", {cache: "no-store"});
    const data = await resp.json();
    render(data);
  } catch (e) {
    document.getElementById("refreshed").textContent = t("refresh_failed", {e: e.message});
  }
  setTimeout(refresh, busy ? 2000 : 10000);
}

translateStatic();
const initial = JSON.parse(document.getElementById("initial-status").textContent);
if (initial) {
  render(initial);
  setTimeout(refresh, busy ? 2000 : 10000);
} else {
  refresh();
}
</script>
</body>
</html>
)HTML";

void replace_all(std::string& text, std::string_view what, std::string_view with) {
  for (size_t pos = text.find(what); pos != std::string::npos;
       pos = text.find(what, pos + with.size()))
    text.replace(pos, what.size(), with);
}

}  // namespace

std::string dashboard_page(std::string_view nonce, std::string_view initial_status_json) {
  // JSON inside <script>: "<" only occurs in strings, where \u003c means the same.
  std::string initial;
  initial.reserve(initial_status_json.size());
  for (char c : initial_status_json) {
    if (c == '<')
      initial += "\\u003c";
    else
      initial += c;
  }
  if (initial.empty()) initial = "null";
  std::string page(kPage);
  replace_all(page, "@NONCE@", nonce);
  replace_all(page, "@INITIAL@", initial);
  return page;
}

}  // namespace fep::status
