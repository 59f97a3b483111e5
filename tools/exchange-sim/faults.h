// Fault injection: `serve --faults FILE` loads a plan that every route consults.
//
// The plan is deterministic: request n (counted from 0 in the order the server takes requests,
// after the credentials are checked) draws one number per fault from a hash of (seed, n, fault),
// so the same seed and the same request order give the same faults. Several faults can hit one
// request; which ones apply depends on the route (FaultPlan::decide).
//
// File format (JSON; every member optional, unknown members are an error):
//   {"seed": 7,
//    "rates": {"error_500": 0.2, "error_429": 0.1, "reset_payload": 0.1, "short_body": 0.1,
//              "slow_drip": 0.05, "ignore_range": 0.2, "duplicate_listing": 0.1,
//              "lose_receipt_answer": 0.2},
//    "first": {"reset_payload": 1},       // the first N requests a fault can hit get it
//    "corrupt_batches": ["B-20261120-0002"],
//    "forbidden_resources": ["R-SCJG-0001"],  // its listing and batches answer 403
//    "receipt_status": {"B-20261120-0003": 422},  // its receipts answer 422, not stored
//    "max_page": 2,                       // listing pages hold at most this many batches (0: no
//    cap) "drip_pieces": 16, "drip_pause_ms": 25}
#pragma once

#include <httplib.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/base/expected.h"

namespace fep::sim {

enum class Route {
  kSubscriptions,
  kBatchList,
  kManifest,
  kSignature,
  kPayload,
  kReceipt,
  kHeartbeat
};

std::string_view to_string(Route route);

enum class Fault {
  kError500,
  kError429,
  kResetPayload,
  kShortBody,
  kSlowDrip,
  kIgnoreRange,
  kDuplicateListing,
  kLoseReceiptAnswer,
  kCorruptPayload,  // not drawn: every payload answer of a batch in corrupt_batches
  kForbidden,       // not drawn: every listing, manifest, signature and payload request of a
                    // resource in forbidden_resources answers 403
};
inline constexpr int kFaultCount = 10;

std::string_view to_string(Fault fault);

// An answer that replaces the route's normal one.
struct FaultAnswer {
  int status = 503;
  std::string code;
  std::string message;
  std::optional<int> retry_after;  // seconds, sent as Retry-After
};

struct FaultConfig {
  std::uint64_t seed = 0;
  double rates[kFaultCount] = {};  // by Fault; kCorruptPayload unused
  // By Fault: the first N requests that could get the fault get it, whatever the rate (for
  // tests that need one fault at one known moment).
  std::uint64_t first[kFaultCount] = {};
  std::set<std::string, std::less<>> corrupt_batches;
  std::set<std::string, std::less<>> forbidden_resources;
  // Receipts for these batches get this error status (400-599) and are not stored: another
  // platform's answers the protocol does not name.
  std::map<std::string, int, std::less<>> receipt_status;
  std::size_t max_page = 0;
  int drip_pieces = 16;
  int drip_pause_ms = 25;
};

// What the plan decided for one request.
struct RequestFaults {
  std::uint64_t n = 0;
  std::optional<FaultAnswer> answer;  // 500 or 429 instead of the route's answer
  bool reset_payload = false;         // payload: connection reset (RST) half-way through the body
  bool short_body = false;            // GET answers: the connection closes half-way through the
                                      // body, short of its Content-Length
  bool slow_drip = false;             // payload: the body in drip_pieces pieces, paused between
  bool ignore_range = false;          // payload with Range: 200 and the whole body
  bool corrupt_payload = false;       // payload: served bytes differ from the manifest's sha256
  bool duplicate_listing = false;     // listing: one batch listed twice
  bool lose_receipt_answer = false;   // receipt: stored, then the connection closes unanswered
  bool forbidden = false;             // listing or batch route: 403 for the resource

  std::vector<Fault> applied() const;
};

// Parses a fault file's text; errors name the member.
Expected<FaultConfig> parse_fault_config(std::string_view text);

class FaultPlan {
 public:
  FaultPlan() = default;  // no faults
  // `log` (may be empty): one JSON line per request with the faults applied to it.
  FaultPlan(FaultConfig config, std::filesystem::path log);
  FaultPlan(FaultPlan&&) = default;
  FaultPlan& operator=(FaultPlan&&) = default;

  static Expected<FaultPlan> load(const std::filesystem::path& file,
                                  const std::filesystem::path& log);

  bool active() const { return state_ != nullptr; }
  const FaultConfig* config() const { return state_ ? &state_->config : nullptr; }

  // The faults for the next request on `route`; `id` is the resource or batch the path names
  // (empty when none). Thread-safe.
  RequestFaults decide(Route route, std::string_view id, const httplib::Request& req) const;
  // Logs the faults a request got (the route clears those that could not apply: a receipt that
  // was refused keeps its answer, an empty page has nothing to list twice). Thread-safe.
  void record(Route route, std::string_view id, const httplib::Request& req,
              const RequestFaults& faults) const;

 private:
  struct State {
    FaultConfig config;
    std::atomic<std::uint64_t> next{0};
    std::atomic<std::uint64_t> eligible[kFaultCount] = {};  // requests that could get each fault
    std::mutex log_mu;
    std::ofstream log;
  };
  std::unique_ptr<State> state_;
};

// The server-side socket of the connection `req` came on (matched by the peer's address and
// port), or -1 when it cannot be found.
int connection_fd(const httplib::Request& req);
// Resets the connection: the peer gets a TCP RST at once. The descriptor stays valid (it now
// refers to an unconnected socket), so the server may still write to and close it.
bool reset_connection(int fd);

}  // namespace fep::sim
