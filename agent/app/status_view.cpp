#include "agent/app/status_view.h"

#include <nlohmann/json.hpp>

#include <sstream>

#include "adapters/base/clock.h"
#include "agent/app/progress_view.h"
#include "agent/status/render.h"

namespace fep::app {
namespace {

template <typename T>
nlohmann::ordered_json opt(const std::optional<T>& v) {
  return v ? nlohmann::ordered_json(*v) : nullptr;
}

}  // namespace

Expected<StatusView> collect_status(const Config& config, store::StateStore& store, int64_t now) {
  StatusView view;
  for (const auto& r : config.resources) {
    ResourceStatus entry;
    auto row = store.resource(r.id);
    if (!row) return Unexpected{row.error()};
    if (!*row) {
      entry.row.subscription.resource_id = r.id;
      entry.row.state = "never synced";
      view.resources.push_back(std::move(entry));
      continue;
    }
    entry.row = **row;
    auto backlog = store.backlog(r.id);
    if (!backlog) return Unexpected{backlog.error()};
    entry.backlog = *backlog;
    entry.lag_seconds = backlog->lag_seconds(now).value_or(0);
    auto blocking = store.blocking_batch(r.id);
    if (!blocking) return Unexpected{blocking.error()};
    entry.blocking = *blocking;
    view.resources.push_back(std::move(entry));
  }
  auto pending = store.outbox("pending");
  auto refused = store.outbox("refused");
  if (!pending) return Unexpected{pending.error()};
  if (!refused) return Unexpected{refused.error()};
  view.pending_receipts = std::move(*pending);
  view.refused_receipts = std::move(*refused);
  return view;
}

std::string blocked_advice(const std::string& id, const store::HeldBatch& b) {
  const std::string batch = "batch " + b.batch_id + " (seq " + std::to_string(b.seq) + ")";
  const std::string skip =
      "  fep-agent skip " + id + " --batch " + b.batch_id + " --reason \"...\"";
  const std::string resync = "  fep-agent resync " + id;
  if (b.state == "failed")
    return id + ": " + batch + " was refused by the target: " + b.error_code.value_or("") + ": " +
           b.error_message.value_or("") + "\n  fix the target, then:   fep-agent retry " + id +
           "\n  or send a rejected receipt and go on:\n" + skip +
           "\n  or wait for the next full batch:\n" + resync + "\n";
  return id + ": " + batch + " was rejected (its receipt is sent): " + b.error_code.value_or("") +
         ": " + b.error_message.value_or("") + "\n  go on after it:\n" + skip +
         "\n  or wait for the next full batch:\n" + resync + "\n";
}

std::string status_table(const StatusView& view, bool colour) {
  const std::vector<std::string> header = {"RESOURCE", "NAME",         "KIND",      "SUBSCRIPTION",
                                           "LAST SEQ", "LAST APPLIED", "ROWS",      "STATE",
                                           "LAG",      "RECEIPTS",     "LAST ERROR"};
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : view.resources) {
    const auto& s = r.row.subscription;
    const auto& b = r.backlog;
    std::string receipts =
        b.pending_receipts ? std::to_string(b.pending_receipts) + " pending" : "-";
    if (b.refused_receipts) receipts += ", " + std::to_string(b.refused_receipts) + " refused";
    rows.push_back({s.resource_id, or_dash(s.name), or_dash(s.kind), or_dash(s.status),
                    r.row.last_seq ? std::to_string(*r.row.last_seq) : "-",
                    or_dash(r.row.last_applied_at), std::to_string(r.row.rows), r.row.state,
                    b.waiting_batches ? short_duration(r.lag_seconds) : "-", receipts,
                    or_dash(r.row.last_error)});
  }
  std::ostringstream out;
  out << text_table(header, rows, 7, colour);
  const auto now = std::chrono::steady_clock::now();
  for (const auto& p : view.progress) {
    bool folder = false;
    for (const auto& r : view.resources)
      if (r.row.subscription.resource_id == p.resource_id)
        folder = r.row.subscription.kind == "folder";
    out << "now: " << progress_line(p, now, folder) << "\n";
  }
  bool first = true;
  for (const auto& r : view.resources) {
    if (!r.blocking) continue;
    out << (first ? "\n" : "") << blocked_advice(r.row.subscription.resource_id, *r.blocking);
    first = false;
  }
  if (!view.pending_receipts.empty())
    out << "\n" << view.pending_receipts.size() << " receipt(s) waiting to be delivered\n";
  for (const auto& e : view.refused_receipts)
    out << "receipt for batch " << e.batch_id << " (" << e.resource_id
        << ") refused by the exchange: " << e.last_error.value_or("") << "\n";
  return out.str();
}

std::string status_json(const StatusView& view) {
  nlohmann::ordered_json out;
  out["resources"] = nlohmann::ordered_json::array();
  for (const auto& r : view.resources) {
    const auto& s = r.row.subscription;
    nlohmann::ordered_json blocking = nullptr;
    if (r.blocking)
      blocking = {{"batch_id", r.blocking->batch_id},
                  {"seq", r.blocking->seq},
                  {"state", r.blocking->state},
                  {"error_code", opt(r.blocking->error_code)},
                  {"error_message", opt(r.blocking->error_message)}};
    out["resources"].push_back({{"resource_id", s.resource_id},
                                {"name", s.name},
                                {"kind", s.kind},
                                {"subscription", s.status},
                                {"last_seq", opt(r.row.last_seq)},
                                {"last_applied_at", opt(r.row.last_applied_at)},
                                {"rows", r.row.rows},
                                {"state", r.row.state},
                                {"last_error", opt(r.row.last_error)},
                                {"newest_listed_seq", opt(r.backlog.newest_listed_seq)},
                                {"waiting_batches", r.backlog.waiting_batches},
                                {"lag_seconds", r.lag_seconds},
                                {"pending_receipts", r.backlog.pending_receipts},
                                {"refused_receipts", r.backlog.refused_receipts},
                                {"resync_requested", r.backlog.resync_requested},
                                {"blocking_batch", blocking}});
  }
  auto receipts = [](const std::vector<store::OutboxEntry>& entries) {
    auto list = nlohmann::ordered_json::array();
    for (const auto& e : entries)
      list.push_back({{"receipt_id", e.receipt_id},
                      {"batch_id", e.batch_id},
                      {"resource_id", e.resource_id},
                      {"attempts", e.attempts},
                      {"last_http_status", opt(e.last_http_status)},
                      {"last_error", opt(e.last_error)}});
    return list;
  };
  out["progress"] = nlohmann::ordered_json::array();
  const auto now = std::chrono::system_clock::now();
  const auto steady_now = std::chrono::steady_clock::now();
  for (const auto& p : view.progress) {
    nlohmann::ordered_json entry{{"resource_id", p.resource_id}};
    entry.update(status::progress_json(p, now, steady_now));
    out["progress"].push_back(std::move(entry));
  }
  out["pending_receipts"] = receipts(view.pending_receipts);
  out["refused_receipts"] = receipts(view.refused_receipts);
  return out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace fep::app
