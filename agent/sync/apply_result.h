// How applying one batch to a target ended, when it did not succeed.
#pragma once

#include <cstdint>
#include <string>

#include "agent/batch/rejection.h"

namespace fep {

struct AppliedCounts {
  int64_t rows = 0;
  int64_t deleted = 0;
  // The target already held this batch (a crash came between its commit and ours).
  bool already_in_target = false;
};

struct ApplyFailure {
  // true: the target is unreachable or busy; nothing was applied, try the batch again later.
  // false: the batch itself cannot be applied; `rejection` goes into its receipt.
  bool transient = false;
  Rejection rejection{RejectCode::target_error, ""};
};

inline ApplyFailure reject(RejectCode code, std::string message) {
  return {false, {code, std::move(message)}};
}
inline ApplyFailure retry_later(std::string message) {
  return {true, {RejectCode::target_error, std::move(message)}};
}

}  // namespace fep
