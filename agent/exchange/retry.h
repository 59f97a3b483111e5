// Capped exponential backoff with full jitter, for transient failures.
#pragma once

#include <chrono>
#include <optional>
#include <random>

namespace fep {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap);
  // The wait before retry number `attempt` (1 = the first retry): uniform in
  // [0, min(cap, base * 2^(attempt-1))]. A server's Retry-After, when given, is the wait; one
  // longer than the cap gives nullopt: do not retry now, leave it to a later run.
  std::optional<std::chrono::milliseconds> delay(int attempt,
                                                 std::optional<std::chrono::seconds> retry_after);

 private:
  std::chrono::milliseconds base_;
  std::chrono::milliseconds cap_;
  std::mt19937_64 rng_;
};

}  // namespace fep
