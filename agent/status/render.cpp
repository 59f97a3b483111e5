#include "agent/status/render.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <sstream>

#include "adapters/base/clock.h"

namespace fep::status {
namespace {

using nlohmann::ordered_json;
using std::chrono::system_clock;

template <class T>
ordered_json opt(const std::optional<T>& v) {
  return v ? ordered_json(*v) : ordered_json(nullptr);
}

std::string dump(const ordered_json& j) {
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

bool contains(const std::vector<std::string>& list, const std::string& id) {
  return std::find(list.begin(), list.end(), id) != list.end();
}

}  // namespace

ordered_json batch_json(const BatchEntry& b) {
  return {{"resource_id", b.resource_id},
          {"batch_id", b.batch_id},
          {"seq", b.seq},
          {"mode", b.mode},
          {"state", b.state},
          {"rows", b.rows},
          {"deleted", b.deleted},
          {"payload_bytes", opt(b.payload_bytes)},
          {"created_at", opt(b.created_at)},
          {"started_at", opt(b.started_at)},
          {"outcome_at", opt(b.outcome_at)},
          {"duration_seconds", opt(b.duration_seconds())},
          {"error_code", opt(b.error_code)},
          {"error_message", opt(b.error_message)},
          {"receipt_state", opt(b.receipt_state)},
          {"receipt_http_status", opt(b.receipt_http_status)},
          {"updated_at", b.updated_at}};
}

namespace {

ordered_json action_json(const Action& a, const View& v) {
  ordered_json commands = ordered_json::array();
  for (const auto& c : a.commands) commands.push_back({{"code", c.code}, {"command", c.command}});
  ordered_json out{{"code", a.code},
                   {"command", a.command.empty() ? ordered_json(nullptr) : ordered_json(a.command)},
                   {"commands", commands},
                   {"batch_id", opt(a.batch_id)}};
  if ((a.code == "skip" || a.code == "unblock") && !v.state_dir.empty())
    out["rejected_dir"] = v.state_dir + "/rejected/";
  return out;
}

const BatchProgress* progress_of(const View& v, const std::string& resource_id) {
  for (const auto& p : v.live.progress)
    if (p.resource_id == resource_id) return &p;
  return nullptr;
}

}  // namespace

ordered_json progress_json(const BatchProgress& p, system_clock::time_point now,
                           std::chrono::steady_clock::time_point steady_now) {
  const ProgressFigures f = progress_figures(p, steady_now);
  const bool started = p.phase_started != std::chrono::steady_clock::time_point{};
  ordered_json started_at = nullptr;
  if (started)
    started_at = rfc3339(now - std::chrono::duration_cast<system_clock::duration>(
                                   std::chrono::duration<double>(f.elapsed_seconds)));
  ordered_json rate = nullptr;
  if (f.rate_per_second) rate = std::round(*f.rate_per_second * 10) / 10;
  return {{"batch_id", p.batch_id},
          {"seq", p.seq},
          {"phase", p.phase},
          {"bytes_done", p.bytes_done},
          {"bytes_total", p.bytes_total},
          {"items_done", p.items_done},
          {"items_total", p.items_total},
          {"phase_started_at", started_at},
          {"elapsed_seconds",
           started ? ordered_json(static_cast<int64_t>(f.elapsed_seconds)) : ordered_json(nullptr)},
          {"rate_unit", p.phase == "downloading" ? "bytes" : "items"},
          {"rate_per_second", rate},
          {"eta_seconds", opt(f.eta_seconds)}};
}

namespace {

ordered_json event_json(const store::Event& e) {
  return {{"id", e.id},
          {"at", e.at},
          {"level", e.level},
          {"resource_id", opt(e.resource_id)},
          {"batch_id", opt(e.batch_id)},
          {"message", e.message}};
}

ordered_json resource_json(const ResourceEntry& r, const View& v) {
  const auto& s = r.row.subscription;
  const auto& backlog = r.backlog;
  const bool running = contains(v.live.running, s.resource_id);
  ordered_json action = nullptr;
  if (auto a = action_for(r)) action = action_json(*a, v);
  ordered_json last_rejected = nullptr;
  if (r.last_rejected) last_rejected = batch_json(*r.last_rejected);
  ordered_json held = nullptr;
  if (r.held) held = batch_json(*r.held);
  ordered_json progress = nullptr;
  if (const BatchProgress* p = progress_of(v, s.resource_id))
    progress = progress_json(*p, v.now, v.steady_now);
  auto next = v.live.next_run_at.find(s.resource_id);
  return {{"resource_id", s.resource_id},
          {"name", s.name},
          {"kind", s.kind},
          {"provider", s.provider},
          {"subscription", s.status},
          {"state", r.known ? r.row.state : "unknown"},
          {"health", health_of(r, running)},
          {"running", running},
          {"last_seq", opt(r.row.last_seq)},
          {"last_applied_at", opt(r.row.last_applied_at)},
          {"rows_last_batch", r.row.rows},
          {"rows_applied_total", r.counts.rows_applied},
          {"rows_deleted_total", r.counts.rows_deleted},
          {"batches",
           {{"applied", r.counts.applied},
            {"rejected", r.counts.rejected},
            {"superseded", r.counts.superseded}}},
          {"bytes_downloaded_total", r.counts.bytes_downloaded},
          {"last_error", opt(r.row.last_error)},
          {"last_rejected", last_rejected},
          {"held_batch", held},
          {"lag_seconds", opt(lag_seconds(r, v.now))},
          {"waiting_batches", backlog.waiting_batches},
          {"oldest_waiting_created_at", opt(backlog.oldest_waiting_at)},
          {"newest_listed_seq", opt(backlog.newest_listed_seq)},
          {"pending_receipts", backlog.pending_receipts},
          {"refused_receipts", backlog.refused_receipts},
          {"resync_requested", backlog.resync_requested},
          {"progress", progress},
          {"next_run_at",
           next == v.live.next_run_at.end() ? ordered_json(nullptr) : ordered_json(next->second)},
          {"action", action}};
}

ordered_json agent_json(const View& v) {
  const int64_t now = system_clock::to_time_t(v.now);
  auto started = parse_rfc3339(v.agent.started_at);
  return {{"version", v.agent.version},
          {"node", v.agent.node_id},
          {"started_at",
           v.agent.started_at.empty() ? ordered_json(nullptr) : ordered_json(v.agent.started_at)},
          {"uptime_seconds",
           started ? ordered_json(std::max<int64_t>(0, now - *started)) : ordered_json(nullptr)},
          {"now", rfc3339(v.now)},
          {"last_heartbeat_at", opt(v.live.last_heartbeat_at)},
          {"running", v.live.running}};
}

// Prometheus label values: backslash, double quote and line feed escaped.
std::string label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

class Metrics {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  }
  void sample(std::string_view name, const std::vector<std::pair<std::string, std::string>>& labels,
              int64_t value) {
    out_ << name;
    if (!labels.empty()) {
      out_ << '{';
      for (size_t i = 0; i < labels.size(); ++i)
        out_ << (i ? "," : "") << labels[i].first << "=\"" << label(labels[i].second) << '"';
      out_ << '}';
    }
    out_ << ' ' << value << '\n';
  }
  std::string str() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

}  // namespace

std::string_view health_of(const ResourceEntry& r, bool running) {
  if (!r.known) return "unknown";
  const std::string& state = r.row.state;
  if (state == store::kBlocked) return "blocked";
  if (running || state == store::kSyncing) return "syncing";
  if (r.backlog.resync_requested) return "attention";
  if (state == store::kPaused || state == store::kError) return "attention";
  if (r.row.subscription.status != "approved") return "attention";
  return "ok";
}

std::optional<Action> action_for(const ResourceEntry& r) {
  const auto& id = r.row.subscription.resource_id;
  auto action = [](std::string code, std::vector<ActionCommand> commands,
                   std::optional<std::string> batch = std::nullopt) {
    Action a{std::move(code), "", std::move(commands), std::move(batch)};
    if (!a.commands.empty()) a.command = a.commands.front().command;
    return a;
  };
  const ActionCommand resync{"resync", "fep-agent resync " + id};
  auto skip = [&](const std::string& batch) {
    return ActionCommand{"skip",
                         "fep-agent skip " + id + " --batch " + batch + " --reason \"...\""};
  };
  if (!r.known) return action("first_sync", {{"sync_now", "fep-agent sync --now " + id}});
  if (r.row.state == store::kBlocked) {
    // A held batch blocks before an older rejected one (which an operator already let go).
    if (r.held)
      return action("retry", {{"retry", "fep-agent retry " + id}, skip(r.held->batch_id), resync},
                    r.held->batch_id);
    if (r.last_rejected)
      return action("skip", {skip(r.last_rejected->batch_id), resync}, r.last_rejected->batch_id);
    return action("unblock", {{"unblock", "fep-agent unblock " + id}});
  }
  if (r.backlog.resync_requested) return action("resync_wait", {});
  if (r.row.subscription.status != "approved") return action("approve_subscription", {});
  if (r.row.state == store::kPaused) return action("check_target", {});
  if (r.row.state == store::kError) return action("see_error", {});
  return std::nullopt;
}

std::optional<int64_t> lag_seconds(const ResourceEntry& r, system_clock::time_point now) {
  if (!r.known) return std::nullopt;
  return r.backlog.lag_seconds(system_clock::to_time_t(now));
}

ProgressFigures progress_figures(const BatchProgress& p,
                                 std::chrono::steady_clock::time_point now) {
  ProgressFigures f;
  if (p.phase_started == std::chrono::steady_clock::time_point{}) return f;
  f.elapsed_seconds = std::max(0.0, p.elapsed_seconds(now));
  const bool downloading = p.phase == "downloading";
  const int64_t done = downloading ? p.bytes_done : p.items_done;
  const int64_t total = downloading ? p.bytes_total : p.items_total;
  if (f.elapsed_seconds < 1.0 || done <= 0) return f;
  f.rate_per_second = static_cast<double>(done) / f.elapsed_seconds;
  if (total > 0)
    f.eta_seconds = static_cast<int64_t>(
        std::ceil(static_cast<double>(std::max<int64_t>(0, total - done)) / *f.rate_per_second));
  return f;
}

std::vector<ResourceEntry> shown_resources(const Snapshot& s, const LiveInfo& live) {
  if (!live.configured) return s.resources;
  std::vector<ResourceEntry> out;
  for (const auto& id : *live.configured) {
    auto it = std::find_if(s.resources.begin(), s.resources.end(), [&](const ResourceEntry& r) {
      return r.row.subscription.resource_id == id;
    });
    if (it != s.resources.end()) {
      out.push_back(*it);
    } else {
      ResourceEntry unknown;
      unknown.known = false;
      unknown.row.subscription.resource_id = id;
      unknown.row.state = "unknown";
      out.push_back(std::move(unknown));
    }
  }
  return out;
}

std::string local_date(system_clock::time_point now, int days_back) {
  using namespace std::chrono;
  std::time_t secs = system_clock::to_time_t(now);
  std::tm local{};
  localtime_r(&secs, &local);
  const year_month_day today{year{local.tm_year + 1900},
                             month{static_cast<unsigned>(local.tm_mon + 1)},
                             day{static_cast<unsigned>(local.tm_mday)}};
  const year_month_day then{sys_days(today) - days{days_back}};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(then.year()),
                static_cast<unsigned>(then.month()), static_cast<unsigned>(then.day()));
  return buf;
}

std::string status_json(const View& v, const std::optional<std::string>& db_error) {
  const auto resources = shown_resources(v.snapshot, v.live);
  ordered_json list = ordered_json::array();
  std::map<std::string, int64_t> by_health{
      {"ok", 0}, {"syncing", 0}, {"attention", 0}, {"blocked", 0}, {"unknown", 0}};
  for (const auto& r : resources) {
    list.push_back(resource_json(r, v));
    ++by_health[list.back()["health"].get<std::string>()];
  }
  ordered_json summary{{"resources", resources.size()}};
  for (const char* h : {"ok", "syncing", "attention", "blocked", "unknown"})
    summary[h] = by_health[h];
  summary["receipts_pending"] = v.snapshot.receipts_pending;
  summary["receipts_refused"] = v.snapshot.receipts_refused;

  ordered_json receipts = ordered_json::array();
  for (const auto& e : v.snapshot.receipts)
    receipts.push_back({{"receipt_id", e.receipt_id},
                        {"batch_id", e.batch_id},
                        {"resource_id", e.resource_id},
                        {"state", e.state},
                        {"attempts", e.attempts},
                        {"last_http_status", opt(e.last_http_status)},
                        {"last_error", opt(e.last_error)},
                        {"created_at", e.created_at}});

  // Every day of the chart, zeros included, oldest first.
  ordered_json days = ordered_json::array();
  for (int back = kChartDays - 1; back >= 0; --back) {
    const std::string date = local_date(v.now, back);
    auto it = std::find_if(v.snapshot.rows_per_day.begin(), v.snapshot.rows_per_day.end(),
                           [&](const DayRows& d) { return d.date == date; });
    const bool found = it != v.snapshot.rows_per_day.end();
    days.push_back(
        {{"date", date}, {"rows", found ? it->rows : 0}, {"batches", found ? it->batches : 0}});
  }
  ordered_json events = ordered_json::array();
  for (const auto& e : v.snapshot.recent_events) events.push_back(event_json(e));

  ordered_json out{{"agent", agent_json(v)},
                   {"state_database",
                    {{"ok", !db_error},
                     {"error", opt(db_error)},
                     {"schema_version",
                      db_error ? ordered_json(nullptr) : ordered_json(v.snapshot.schema_version)}}},
                   {"summary", summary},
                   {"resources", list},
                   {"receipts", receipts},
                   {"rows_per_day", days},
                   {"events", events}};
  return dump(out);
}

std::string resources_json(const View& v) {
  ordered_json list = ordered_json::array();
  for (const auto& r : shown_resources(v.snapshot, v.live)) list.push_back(resource_json(r, v));
  return dump({{"resources", list}});
}

std::string batches_json(const std::string& resource_id, const std::vector<BatchEntry>& batches) {
  ordered_json list = ordered_json::array();
  for (const auto& b : batches) list.push_back(batch_json(b));
  return dump({{"resource_id", resource_id}, {"batches", list}});
}

std::string events_json(const std::vector<store::Event>& events) {
  ordered_json list = ordered_json::array();
  for (const auto& e : events) list.push_back(event_json(e));
  return dump({{"events", list}});
}

std::string error_json(std::string_view code, std::string_view message) {
  return dump({{"error", {{"code", code}, {"message", message}}}});
}

std::string metrics_text(const View& v, bool db_ok) {
  Metrics m;
  m.family("fep_up", "gauge", "1 while the agent answers.");
  m.sample("fep_up", {}, 1);
  m.family("fep_info", "gauge", "The agent's version and node id (always 1).");
  m.sample("fep_info", {{"version", v.agent.version}, {"node", v.agent.node_id}}, 1);
  if (auto started = parse_rfc3339(v.agent.started_at)) {
    m.family("fep_start_time_seconds", "gauge", "When the agent started, seconds since the epoch.");
    m.sample("fep_start_time_seconds", {}, *started);
  }
  if (v.live.last_heartbeat_at)
    if (auto beat = parse_rfc3339(*v.live.last_heartbeat_at)) {
      m.family("fep_last_heartbeat_timestamp_seconds", "gauge",
               "When the exchange last accepted a heartbeat, seconds since the epoch.");
      m.sample("fep_last_heartbeat_timestamp_seconds", {}, *beat);
    }
  if (!v.live.exchange_errors.empty()) {
    m.family("fep_exchange_request_errors_total", "counter",
             "Failed requests to the exchange since the agent started, by class: transient "
             "(retried), permanent, credentials (401/403), local (the spool's disk).");
    for (const auto& [failure, count] : v.live.exchange_errors)
      m.sample("fep_exchange_request_errors_total", {{"class", failure}}, count);
  }
  m.family("fep_state_database_up", "gauge",
           "1 when the status endpoint could read the state database.");
  m.sample("fep_state_database_up", {}, db_ok ? 1 : 0);
  if (!db_ok) return m.str();

  const auto resources = shown_resources(v.snapshot, v.live);
  auto each = [&](std::string_view name, auto value) {
    for (const auto& r : resources) {
      auto x = value(r);
      if (x) m.sample(name, {{"resource", r.row.subscription.resource_id}}, *x);
    }
  };
  m.family("fep_resource_info", "gauge", "A resource's name, kind and subscription (always 1).");
  for (const auto& r : resources) {
    const auto& s = r.row.subscription;
    m.sample("fep_resource_info",
             {{"resource", s.resource_id},
              {"name", s.name},
              {"kind", s.kind},
              {"subscription", s.status}},
             1);
  }
  m.family("fep_resource_state", "gauge",
           "1 for the resource's current state (idle, syncing, paused, error, blocked).");
  for (const auto& r : resources)
    for (std::string_view state :
         {store::kIdle, store::kSyncing, store::kPaused, store::kError, store::kBlocked})
      m.sample("fep_resource_state",
               {{"resource", r.row.subscription.resource_id}, {"state", std::string(state)}},
               r.known && r.row.state == state ? 1 : 0);
  m.family("fep_batches_total", "counter", "Batches with an outcome, by status.");
  for (const auto& r : resources)
    for (auto [status, count] :
         {std::pair{"applied", r.counts.applied}, std::pair{"rejected", r.counts.rejected},
          std::pair{"superseded", r.counts.superseded}})
      m.sample("fep_batches_total",
               {{"resource", r.row.subscription.resource_id}, {"status", status}}, count);
  m.family("fep_rows_applied_total", "counter", "Rows written by applied batches.");
  each("fep_rows_applied_total",
       [](const ResourceEntry& r) { return std::optional<int64_t>(r.counts.rows_applied); });
  m.family("fep_rows_deleted_total", "counter", "Rows deleted by applied batches.");
  each("fep_rows_deleted_total",
       [](const ResourceEntry& r) { return std::optional<int64_t>(r.counts.rows_deleted); });
  m.family("fep_resource_last_seq", "gauge",
           "The seq of the resource's last batch with an outcome.");
  each("fep_resource_last_seq", [](const ResourceEntry& r) { return r.row.last_seq; });
  m.family("fep_resource_last_success_timestamp_seconds", "gauge",
           "When the resource's last batch was applied, seconds since the epoch.");
  each("fep_resource_last_success_timestamp_seconds", [](const ResourceEntry& r) {
    return r.row.last_applied_at ? parse_rfc3339(*r.row.last_applied_at) : std::nullopt;
  });
  if (!v.live.next_run_at.empty()) {
    m.family("fep_resource_next_run_timestamp_seconds", "gauge",
             "When the daemon next syncs the resource, seconds since the epoch.");
    each("fep_resource_next_run_timestamp_seconds", [&](const ResourceEntry& r) {
      auto it = v.live.next_run_at.find(r.row.subscription.resource_id);
      return it == v.live.next_run_at.end() ? std::nullopt : parse_rfc3339(it->second);
    });
  }
  m.family("fep_downloaded_bytes_total", "counter",
           "Payload bytes (manifest sizes) of downloaded batches, counted at their outcome.");
  each("fep_downloaded_bytes_total",
       [](const ResourceEntry& r) { return std::optional<int64_t>(r.counts.bytes_downloaded); });
  m.family("fep_resource_lag_seconds", "gauge",
           "Seconds since the platform published the oldest listed batch without an outcome "
           "(0: none waits).");
  each("fep_resource_lag_seconds", [&](const ResourceEntry& r) { return lag_seconds(r, v.now); });
  m.family("fep_resource_waiting_batches", "gauge",
           "Listed batches without an outcome (waiting, running or held).");
  each("fep_resource_waiting_batches", [](const ResourceEntry& r) {
    return r.known ? std::optional<int64_t>(r.backlog.waiting_batches) : std::nullopt;
  });

  // Per resource: every shown resource, and any other with receipts still in the outbox, so
  // that sum() is the agent's total.
  std::vector<std::string> receipt_ids;
  for (const auto& r : resources) receipt_ids.push_back(r.row.subscription.resource_id);
  for (const auto& [id, counts] : v.snapshot.receipts_by_resource)
    if (!contains(receipt_ids, id)) receipt_ids.push_back(id);
  auto receipts = [&](const std::string& id) {
    auto it = v.snapshot.receipts_by_resource.find(id);
    return it == v.snapshot.receipts_by_resource.end() ? ReceiptCounts{} : it->second;
  };
  m.family("fep_receipts_pending", "gauge", "Receipts waiting to be delivered to the exchange.");
  for (const auto& id : receipt_ids)
    m.sample("fep_receipts_pending", {{"resource", id}}, receipts(id).pending);
  m.family("fep_receipts_refused", "gauge", "Receipts the exchange refused.");
  for (const auto& id : receipt_ids)
    m.sample("fep_receipts_refused", {{"resource", id}}, receipts(id).refused);
  return m.str();
}

}  // namespace fep::status
