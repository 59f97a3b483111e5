// The seam for fault injection: the server consults the plan before answering each route.
// This version holds no faults; a later one loads them from `serve --faults FILE`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

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

// An answer that replaces the route's normal one.
struct FaultAnswer {
  int status = 503;
  std::string code;
  std::string message;
};

class FaultPlan {
 public:
  // `id` is the resource or batch the request names (empty when none).
  std::optional<FaultAnswer> before([[maybe_unused]] Route route,
                                    [[maybe_unused]] std::string_view id) const {
    return std::nullopt;
  }
};

}  // namespace fep::sim
