// What the store's tests share: a temporary folder for the state database, and a batch outcome
// with its receipt.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "adapters/base/clock.h"
#include "agent/store/state_store.h"

namespace fep::store_test {

struct TempDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() / ("fep-store-" + new_uuid());
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::filesystem::path db() const { return path / "state.db"; }
};

// An outcome of resource R-1 whose receipt id is "rcpt-<batch>".
inline store::BatchOutcome outcome(const std::string& batch, int64_t seq,
                                   const std::string& status) {
  store::BatchOutcome o;
  o.batch_id = batch;
  o.resource_id = "R-1";
  o.seq = seq;
  o.status = status;
  o.rows = status == "applied" ? 10 : 0;
  if (status == "rejected") {
    o.error_code = "PAYLOAD_INVALID";
    o.error_message = "line 3: bad";
  }
  o.outcome_at = rfc3339_now();
  o.receipt_id = "rcpt-" + batch;
  o.receipt_body =
      nlohmann::json{
          {"batch_id", batch},
          {"counts", {{"rows", o.rows}, {"deleted", 0}}},
          {"payload_sha256", status == "superseded" ? nlohmann::json() : nlohmann::json("ab12")}}
          .dump();
  return o;
}

}  // namespace fep::store_test
