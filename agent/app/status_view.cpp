#include "agent/app/status_view.h"

#include <nlohmann/json.hpp>

#include <sstream>

namespace fep::app {
namespace {

bool is_wide(char32_t c) {
  return (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF) ||
         (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
         (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x20000 && c <= 0x3FFFD);
}

std::string pad(const std::string& s, size_t width) {
  size_t w = display_width(s);
  return w >= width ? s : s + std::string(width - w, ' ');
}

std::string or_dash(const std::optional<std::string>& s) {
  return s && !s->empty() ? *s : "-";
}

}  // namespace

size_t display_width(std::string_view s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size();) {
    unsigned char b = static_cast<unsigned char>(s[i]);
    size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 1;
    char32_t c = len == 1 ? b : (b & (0x7F >> len));
    for (size_t k = 1; k < len && i + k < s.size(); ++k)
      c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    width += is_wide(c) ? 2 : 1;
    i += len;
  }
  return width;
}

Expected<StatusView> collect_status(const Config& config, store::StateStore& store) {
  StatusView view;
  for (const auto& r : config.resources) {
    auto row = store.resource(r.id);
    if (!row) return Unexpected{row.error()};
    if (*row) {
      view.resources.push_back(**row);
    } else {
      store::ResourceRow empty;
      empty.subscription.resource_id = r.id;
      empty.state = "never synced";
      view.resources.push_back(empty);
    }
  }
  auto pending = store.outbox("pending");
  auto refused = store.outbox("refused");
  if (!pending) return Unexpected{pending.error()};
  if (!refused) return Unexpected{refused.error()};
  view.pending_receipts = std::move(*pending);
  view.refused_receipts = std::move(*refused);
  return view;
}

std::string status_table(const StatusView& view) {
  const std::vector<std::string> header = {"RESOURCE",     "NAME",     "KIND",
                                           "SUBSCRIPTION", "LAST SEQ", "LAST APPLIED",
                                           "ROWS",         "STATE",    "LAST ERROR"};
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : view.resources) {
    const auto& s = r.subscription;
    rows.push_back({s.resource_id, or_dash(s.name), or_dash(s.kind), or_dash(s.status),
                    r.last_seq ? std::to_string(*r.last_seq) : "-", or_dash(r.last_applied_at),
                    std::to_string(r.rows), r.state, or_dash(r.last_error)});
  }
  std::vector<size_t> widths(header.size());
  for (size_t c = 0; c < header.size(); ++c) {
    widths[c] = display_width(header[c]);
    for (const auto& row : rows) widths[c] = std::max(widths[c], display_width(row[c]));
  }
  std::ostringstream out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t c = 0; c < cells.size(); ++c)
      text += c + 1 == cells.size() ? cells[c] : pad(cells[c], widths[c]) + "  ";
    out << text << "\n";
  };
  line(header);
  for (const auto& row : rows) line(row);
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
    const auto& s = r.subscription;
    auto opt = [](const auto& v) { return v ? nlohmann::ordered_json(*v) : nullptr; };
    out["resources"].push_back({{"resource_id", s.resource_id},
                                {"name", s.name},
                                {"kind", s.kind},
                                {"subscription", s.status},
                                {"last_seq", opt(r.last_seq)},
                                {"last_applied_at", opt(r.last_applied_at)},
                                {"rows", r.rows},
                                {"state", r.state},
                                {"last_error", opt(r.last_error)}});
  }
  auto receipts = [](const std::vector<store::OutboxEntry>& entries) {
    auto list = nlohmann::ordered_json::array();
    for (const auto& e : entries)
      list.push_back(
          {{"receipt_id", e.receipt_id},
           {"batch_id", e.batch_id},
           {"resource_id", e.resource_id},
           {"attempts", e.attempts},
           {"last_http_status",
            e.last_http_status ? nlohmann::ordered_json(*e.last_http_status) : nullptr},
           {"last_error", e.last_error ? nlohmann::ordered_json(*e.last_error) : nullptr}});
    return list;
  };
  out["pending_receipts"] = receipts(view.pending_receipts);
  out["refused_receipts"] = receipts(view.refused_receipts);
  return out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace fep::app
