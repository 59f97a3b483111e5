#include "tools/exchange-sim/receipts.h"

#include <algorithm>
#include <tuple>

#include "adapters/base/clock.h"
#include "adapters/base/files.h"
#include "tools/exchange-sim/messages.h"

namespace fep::sim {

using nlohmann::json;

Expected<std::vector<json>> read_receipts(const Store& store) {
  std::vector<json> out;
  const auto dir = store.receipts_dir();
  auto present = dir_exists(dir);
  if (!present) return Unexpected{present.error()};
  if (!*present) return out;
  auto entries = list_dir(dir);
  if (!entries) return Unexpected{entries.error()};
  for (const auto& entry : *entries) {
    if (entry.path().extension() != ".json") continue;
    auto text = read_file(entry.path(), kMaxOwnFileBytes);
    if (!text) return Unexpected{text.error()};
    json r = json::parse(*text, nullptr, false);
    if (r.is_discarded() || !r.is_object())
      return fail(entry.path().string() + ": not a receipt (not a JSON object)");
    if (auto it = r.find("batch_id"); it == r.end() || !it->is_string())
      return fail(entry.path().string() + ": not a receipt (\"batch_id\" must be a string)");
    out.push_back(std::move(r));
  }
  auto key = [](const json& r) {
    return std::make_tuple(r.value("resource_id", json()), r.value("seq", json()), r["batch_id"]);
  };
  std::sort(out.begin(), out.end(), [&](const json& a, const json& b) { return key(a) < key(b); });
  return out;
}

Status ReceiptBook::load() {
  auto all = read_receipts(store_);
  if (!all) return Unexpected{all.error()};
  std::lock_guard lock(mu_);
  for (auto& r : *all) {
    const std::string batch = r["batch_id"].get<std::string>();
    if (r.contains("receipt_id") && r["receipt_id"].is_string())
      batch_of_receipt_[r["receipt_id"].get<std::string>()] = batch;
    by_batch_[batch] = std::move(r);
  }
  return {};
}

Answer ReceiptBook::submit(std::string_view body, std::string_view node) {
  json receipt = json::parse(body, nullptr, false);
  Answer answer = receipt.is_discarded() ? error_answer(400, "BAD_REQUEST", "body is not JSON")
                                         : decide(receipt, node);
  auto field = [&](const char* key) {
    return receipt.is_object() && receipt.contains(key) ? receipt[key] : json();
  };
  json line = {{"at", rfc3339_now()},
               {"status", answer.status},
               {"receipt_id", field("receipt_id")},
               {"batch_id", field("batch_id")},
               {"answer", answer.body},
               {"receipt", receipt.is_discarded() ? json(std::string(body)) : receipt}};
  if (auto st = store_.append_line(store_.receipts_log(), to_text(line)); !st)
    return error_answer(500, "INTERNAL", st.error().message);
  return answer;
}

Answer ReceiptBook::decide(const json& receipt, std::string_view node) {
  if (auto st = check_receipt_shape(receipt, node); !st)
    return error_answer(400, "BAD_REQUEST", st.error().message);
  const std::string batch_id = receipt["batch_id"].get<std::string>();
  const std::string receipt_id = receipt["receipt_id"].get<std::string>();
  auto batch = store_.find_batch(batch_id);
  if (!batch) return error_answer(500, "INTERNAL", batch.error().message);
  if (!*batch) return error_answer(404, "NOT_FOUND", "unknown batch " + batch_id);
  // Protocol section 1: for a resource not approved for this node, the endpoints answer 404.
  auto sub = store_.subscription((*batch)->resource_id);
  if (!sub) return error_answer(500, "INTERNAL", sub.error().message);
  if (!*sub || (*sub)->status != "approved")
    return error_answer(404, "NOT_SUBSCRIBED",
                        (*batch)->resource_id + " is not approved for this node");
  auto text = read_file((*batch)->dir / "manifest.json", kMaxOwnFileBytes);
  json manifest = text ? json::parse(*text, nullptr, false) : json();
  if (auto st = check_receipt_against(receipt, **batch, manifest); !st)
    return error_answer(400, "BAD_REQUEST", st.error().message);

  const json accepted = {{"receipt_id", receipt_id}, {"accepted", true}};
  std::lock_guard lock(mu_);
  if (auto held = by_batch_.find(batch_id); held != by_batch_.end()) {
    const json held_id = held->second.value("receipt_id", json());
    if (held_id != receipt_id)
      return error_answer(409, "CONFLICT",
                          "batch " + batch_id + " already has receipt " + to_text(held_id));
    if (held->second != receipt)
      return error_answer(409, "CONFLICT",
                          "receipt " + receipt_id + " is already held with different content");
    return {200, accepted};
  }
  if (auto other = batch_of_receipt_.find(receipt_id); other != batch_of_receipt_.end())
    return error_answer(409, "CONFLICT",
                        "receipt_id " + receipt_id + " is already used for batch " + other->second);
  if (auto st = ensure_directory(store_.receipts_dir()); !st)
    return error_answer(500, "INTERNAL", st.error().message);
  if (auto st =
          write_file_atomic(store_.receipts_dir() / (batch_id + ".json"), receipt.dump(2) + "\n");
      !st)
    return error_answer(500, "INTERNAL", st.error().message);
  by_batch_[batch_id] = receipt;
  batch_of_receipt_[receipt_id] = batch_id;
  return {201, accepted};
}

}  // namespace fep::sim
