// Why a batch cannot be applied, in the protocol's error codes (complete for v1).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fep {

enum class RejectCode {
  checksum_mismatch,
  signature_invalid,
  manifest_invalid,
  schema_mismatch,
  payload_invalid,
  constraint_violation,
  unsafe_path,
  too_large,
  target_error,
};

struct Rejection {
  RejectCode code;
  std::string message;
};

// "CHECKSUM_MISMATCH", "PAYLOAD_INVALID", ...
std::string_view to_string(RejectCode code);
// The code named by `text` (as to_string gives it); nullopt for anything else.
std::optional<RejectCode> reject_code_from(std::string_view text);

}  // namespace fep
