// How applying one batch to a target ended, when it did not succeed.
#pragma once

#include <cstdint>
#include <string>

#include "agent/batch/rejection.h"

namespace fep {

struct AppliedCounts {
  int64_t rows = 0;     // tables: records that are not deletes; folders: files written
  int64_t deleted = 0;  // tables: D records; folders: files removed
  int64_t bytes = 0;    // folders: bytes of the files written
  // The target already held this batch (a crash came between its commit and ours).
  bool already_in_target = false;
};

struct ApplyFailure {
  enum class Kind {
    reject,       // the batch itself cannot be applied: `rejection` goes into its receipt
    transient,    // the target was unreachable or busy: try the batch again on the next run
    unavailable,  // the target cannot take writes (disk full, read-only): the resource pauses
  };
  Kind kind = Kind::reject;
  Rejection rejection{RejectCode::target_error, ""};
  // transient: whether trying again within this run may help (a lost connection, a deadlock),
  // or only a later run (a statement that ran out of time would wait as long again).
  bool again_now = true;
  bool transient() const { return kind != Kind::reject; }
};

inline ApplyFailure reject(RejectCode code, std::string message) {
  return {ApplyFailure::Kind::reject, {code, std::move(message)}};
}
inline ApplyFailure retry_later(std::string message) {
  return {ApplyFailure::Kind::transient, {RejectCode::target_error, std::move(message)}};
}
inline ApplyFailure retry_next_run(std::string message) {
  ApplyFailure failure = retry_later(std::move(message));
  failure.again_now = false;
  return failure;
}
inline ApplyFailure target_unavailable(std::string message) {
  return {ApplyFailure::Kind::unavailable, {RejectCode::target_error, std::move(message)}};
}

}  // namespace fep
