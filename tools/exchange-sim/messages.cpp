#include "tools/exchange-sim/messages.h"

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/base/clock.h"

namespace fep::sim {
namespace {

using nlohmann::json;

constexpr std::array kErrorCodes = {
    "CHECKSUM_MISMATCH", "SIGNATURE_INVALID", "MANIFEST_INVALID",
    "SCHEMA_MISMATCH",   "PAYLOAD_INVALID",   "CONSTRAINT_VIOLATION",
    "UNSAFE_PATH",       "TOO_LARGE",         "TARGET_ERROR"};

bool is_digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return false;
  for (size_t i = pos; i < pos + n; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

// YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM). Matched by hand: libstdc++'s std::regex
// recurses once per character of (\.\d+) and overflows the stack on a long fraction.
bool is_time(const json& v) {
  if (!v.is_string()) return false;
  const std::string_view s = v.get_ref<const std::string&>();
  auto at = [&](size_t i, std::string_view chars) {
    return i < s.size() && chars.find(s[i]) != std::string_view::npos;
  };
  if (!is_digits(s, 0, 4) || !at(4, "-") || !is_digits(s, 5, 2) || !at(7, "-") ||
      !is_digits(s, 8, 2) || !at(10, "Tt") || !is_digits(s, 11, 2) || !at(13, ":") ||
      !is_digits(s, 14, 2) || !at(16, ":") || !is_digits(s, 17, 2))
    return false;
  size_t i = 19;
  if (at(i, ".")) {
    const size_t start = ++i;
    while (is_digits(s, i, 1)) ++i;
    if (i == start) return false;
  }
  if (at(i, "Zz")) return i + 1 == s.size();
  return at(i, "+-") && is_digits(s, i + 1, 2) && at(i + 3, ":") && is_digits(s, i + 4, 2) &&
         i + 6 == s.size();
}

bool is_sha256(const json& v) {
  if (!v.is_string()) return false;
  const std::string& s = v.get_ref<const std::string&>();
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool is_count(const json& v) {
  return v.is_number_unsigned();
}
bool is_id(const json& v) {
  return v.is_string() && is_valid_id(v.get_ref<const std::string&>());
}
bool is_text(const json& v) {
  return v.is_string() && !v.get_ref<const std::string&>().empty();
}

bool one_of(const json& v, std::initializer_list<const char*> values) {
  if (!v.is_string()) return false;
  for (const char* s : values)
    if (v.get_ref<const std::string&>() == s) return true;
  return false;
}

Status need(bool ok, const std::string& what) {
  if (!ok) return fail(what);
  return {};
}

}  // namespace

Status check_receipt_shape(const json& r, std::string_view node) {
  if (!r.is_object()) return fail("the receipt is not a JSON object");
  for (const char* key : {"receipt_id", "batch_id", "resource_id", "seq", "node", "status",
                          "counts", "payload_sha256", "applied_at", "error", "agent"})
    if (!r.contains(key)) return fail(std::string("missing field \"") + key + "\"");
  const std::initializer_list<std::pair<bool, const char*>> checks = {
      {is_text(r["receipt_id"]), "receipt_id must be a non-empty string"},
      {is_id(r["batch_id"]), "batch_id must be an id"},
      {is_id(r["resource_id"]), "resource_id must be an id"},
      {r["seq"].is_number_unsigned() && r["seq"].get<std::uint64_t>() > 0,
       "seq must be a positive integer"},
      {r["node"].is_string() && r["node"].get_ref<const std::string&>() == node,
       "node must equal the X-FEP-Node header"},
      {one_of(r["status"], {"applied", "rejected", "superseded"}),
       "status must be applied, rejected or superseded"},
      {r["counts"].is_object(), "counts must be an object"},
      {r["payload_sha256"].is_null() || is_sha256(r["payload_sha256"]),
       "payload_sha256 must be null or 64 lowercase hex digits"},
      {is_time(r["applied_at"]), "applied_at must be an RFC 3339 time with an offset"},
      {is_text(r["agent"]), "agent must be a non-empty string"},
  };
  for (const auto& [ok, what] : checks)
    if (auto st = need(ok, what); !st) return st;
  for (const auto& [key, value] : r["counts"].items())
    if (!is_count(value)) return fail("counts." + key + " must be a non-negative integer");

  const json& error = r["error"];
  if (r["status"] != "rejected") return need(error.is_null(), "error must be null unless rejected");
  if (!error.is_object() || !error.contains("code") || !error.contains("message") ||
      !error["message"].is_string())
    return fail("a rejected receipt's error is {\"code\", \"message\"}");
  for (const char* code : kErrorCodes)
    if (error["code"] == code) return {};
  return fail("error.code " + error["code"].dump() + " is not a v1 error code");
}

Status check_receipt_against(const json& r, const BatchInfo& batch, const json& manifest) {
  if (r["resource_id"] != batch.resource_id)
    return fail("batch " + batch.batch_id + " belongs to resource " + batch.resource_id);
  if (r["seq"].get<std::uint64_t>() != static_cast<std::uint64_t>(batch.seq))
    return fail("batch " + batch.batch_id + " has seq " + std::to_string(batch.seq));

  const json& counts = r["counts"];
  const bool table = batch.kind == "table";
  const std::vector<const char*> keys = table
                                            ? std::vector<const char*>{"rows", "deleted"}
                                            : std::vector<const char*>{"files", "deleted", "bytes"};
  const std::string shape = table ? R"({"rows", "deleted"})" : R"({"files", "deleted", "bytes"})";
  if (counts.size() != keys.size()) return fail("counts of a " + batch.kind + " is " + shape);
  for (const char* key : keys)
    if (!counts.contains(key)) return fail("counts of a " + batch.kind + " is " + shape);

  if (r["status"] != "applied") {
    for (const auto& [key, value] : counts.items())
      if (value != 0) return fail("counts are zeros when nothing was applied");
    return {};
  }
  if (r["payload_sha256"] != batch.sha256)
    return fail("an applied receipt's payload_sha256 must be the payload's sha256 " + batch.sha256);
  if (table && batch.mode == "full" && counts["deleted"] != 0)
    return fail("counts.deleted is 0 for a full batch");
  if (!manifest.is_object()) return {};
  if (table && manifest.contains("row_count") && manifest["row_count"].is_number_unsigned()) {
    auto records = counts["rows"].get<std::uint64_t>() + counts["deleted"].get<std::uint64_t>();
    if (records != manifest["row_count"].get<std::uint64_t>())
      return fail("counts.rows + counts.deleted must equal the manifest's row_count " +
                  manifest["row_count"].dump());
  }
  if (!table && manifest.contains("folder") && manifest["folder"].is_object()) {
    const json& folder = manifest["folder"];
    if (folder.contains("files") && counts["files"] != folder["files"])
      return fail("counts.files must equal the manifest's folder.files " + folder["files"].dump());
    if (folder.contains("bytes") && counts["bytes"] != folder["bytes"])
      return fail("counts.bytes must equal the manifest's folder.bytes " + folder["bytes"].dump());
  }
  return {};
}

Status check_heartbeat(const json& h, std::string_view node) {
  if (!h.is_object()) return fail("the heartbeat is not a JSON object");
  for (const char* key : {"node", "agent", "started_at", "resources"})
    if (!h.contains(key)) return fail(std::string("missing field \"") + key + "\"");
  if (!h["node"].is_string() || h["node"].get_ref<const std::string&>() != node)
    return fail("node must equal the X-FEP-Node header");
  if (!is_text(h["agent"])) return fail("agent must be a non-empty string");
  if (!is_time(h["started_at"])) return fail("started_at must be an RFC 3339 time with an offset");
  if (!h["resources"].is_array()) return fail("resources must be an array");
  for (const json& res : h["resources"]) {
    if (!res.is_object()) return fail("each resource is an object");
    for (const char* key : {"resource_id", "last_seq", "last_applied_at", "state", "error"})
      if (!res.contains(key)) return fail(std::string("missing field resources[].") + key);
    if (!is_id(res["resource_id"])) return fail("resources[].resource_id must be an id");
    if (!res["last_seq"].is_null() && !res["last_seq"].is_number_unsigned())
      return fail("resources[].last_seq must be null or a non-negative integer");
    if (!res["last_applied_at"].is_null() && !is_time(res["last_applied_at"]))
      return fail("resources[].last_applied_at must be null or an RFC 3339 time");
    if (!one_of(res["state"], {"idle", "syncing", "blocked", "paused", "error"}))
      return fail("resources[].state must be idle, syncing, blocked, paused or error");
  }
  return {};
}

}  // namespace fep::sim
