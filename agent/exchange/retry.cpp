#include "agent/exchange/retry.h"

#include <algorithm>

namespace fep {

Backoff::Backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap)
    : base_(base), cap_(cap), rng_(std::random_device{}()) {}

std::optional<std::chrono::milliseconds> Backoff::delay(
    int attempt, std::optional<std::chrono::seconds> retry_after) {
  if (retry_after) {
    if (*retry_after > cap_) return std::nullopt;
    return std::chrono::milliseconds(*retry_after);
  }
  const int shift = std::clamp(attempt - 1, 0, 30);
  const auto ceiling = std::min<int64_t>(cap_.count(), base_.count() << shift);
  std::uniform_int_distribution<int64_t> pick(0, std::max<int64_t>(ceiling, 0));
  return std::chrono::milliseconds(pick(rng_));
}

}  // namespace fep
