#include "agent/app/history_view.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "agent/app/text_table.h"
#include "agent/status/render.h"

namespace fep::app {
namespace {

template <typename T>
nlohmann::ordered_json opt(const std::optional<T>& v) {
  return v ? nlohmann::ordered_json(*v) : nullptr;
}

std::string receipt_of(const store::BatchHistoryRow& b) {
  if (!b.receipt_state) return "-";
  if (*b.receipt_state == "refused" && b.receipt_http_status)
    return "refused (HTTP " + std::to_string(*b.receipt_http_status) + ")";
  return *b.receipt_state;
}

}  // namespace

std::string history_table(const std::vector<store::BatchHistoryRow>& batches, bool all_resources,
                          bool colour) {
  std::vector<std::string> header = {"SEQ",        "BATCH",   "MODE", "STATE",
                                     "ROWS/FILES", "DELETED", "SIZE", "PUBLISHED",
                                     "TOOK",       "RECEIPT", "ERROR"};
  if (all_resources) header.insert(header.begin(), "RESOURCE");
  std::vector<std::vector<std::string>> rows;
  for (const auto& b : batches) {
    auto took = b.duration_seconds();
    std::string error = b.error_code ? *b.error_code + ": " + b.error_message.value_or("") : "-";
    std::vector<std::string> row = {std::to_string(b.seq),
                                    b.batch_id,
                                    b.mode.empty() ? "-" : b.mode,
                                    b.state,
                                    std::to_string(b.rows),
                                    std::to_string(b.deleted),
                                    b.payload_bytes ? short_bytes(*b.payload_bytes) : "-",
                                    or_dash(b.created_at),
                                    took ? short_duration(*took) : "-",
                                    receipt_of(b),
                                    error};
    if (all_resources) row.insert(row.begin(), b.resource_id);
    rows.push_back(std::move(row));
  }
  if (rows.empty()) return "no batches yet\n";
  return text_table(header, rows, all_resources ? 4 : 3, colour);
}

std::string history_json(const std::vector<store::BatchHistoryRow>& batches) {
  auto out = nlohmann::ordered_json::array();
  for (const auto& b : batches) out.push_back(status::batch_json(b));
  return out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::vector<SubscriptionLine> subscription_lines(const Config& config,
                                                 const std::vector<store::Subscription>& listed) {
  std::vector<SubscriptionLine> out;
  for (const auto& s : listed) {
    const ResourceConfig* r = config.find_resource(s.resource_id);
    out.push_back({s, r ? std::optional<std::string>(r->target) : std::nullopt});
  }
  for (const auto& r : config.resources) {
    bool found = std::any_of(listed.begin(), listed.end(),
                             [&](const auto& s) { return s.resource_id == r.id; });
    if (!found) out.push_back({{r.id, "", "", "", "", "not subscribed"}, r.target});
  }
  return out;
}

std::string resources_table(const std::vector<SubscriptionLine>& lines, bool colour) {
  const std::vector<std::string> header = {"RESOURCE", "NAME",   "KIND",        "PROVIDER",
                                           "SHARE",    "STATUS", "LOCAL TARGET"};
  std::vector<std::vector<std::string>> rows;
  for (const auto& l : lines) {
    const auto& s = l.subscription;
    rows.push_back({s.resource_id, or_dash(s.name), or_dash(s.kind), or_dash(s.provider),
                    or_dash(s.share_type), s.status, l.target ? *l.target : "not configured"});
  }
  return text_table(header, rows, 5, colour);
}

std::string resources_json(const std::vector<SubscriptionLine>& lines) {
  auto out = nlohmann::ordered_json::array();
  for (const auto& l : lines) {
    const auto& s = l.subscription;
    out.push_back({{"resource_id", s.resource_id},
                   {"name", s.name},
                   {"kind", s.kind},
                   {"provider", s.provider},
                   {"share_type", s.share_type},
                   {"status", s.status},
                   {"configured", l.target.has_value()},
                   {"target", opt(l.target)}});
  }
  return out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace fep::app
