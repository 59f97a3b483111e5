// The receipts the exchange holds: one per batch, the first accepted one kept.
#pragma once

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/base/expected.h"
#include "tools/exchange-sim/answer.h"
#include "tools/exchange-sim/store.h"

namespace fep::sim {

// The accepted receipts in ROOT/receipts, ordered by resource and seq.
Expected<std::vector<nlohmann::json>> read_receipts(const Store& store);

class ReceiptBook {
 public:
  explicit ReceiptBook(Store& store) : store_(store) {}

  Status load();
  // Handles one POST /v1/receipts body sent by `node`; every attempt is logged to receipts.log.
  Answer submit(std::string_view body, std::string_view node);

 private:
  Answer decide(const nlohmann::json& receipt, std::string_view node);

  Store& store_;
  std::mutex mu_;
  std::map<std::string, nlohmann::json, std::less<>> by_batch_;
  std::map<std::string, std::string, std::less<>> batch_of_receipt_;
};

}  // namespace fep::sim
