#include "agent/batch/rejection.h"

namespace fep {

std::string_view to_string(RejectCode code) {
  switch (code) {
    case RejectCode::checksum_mismatch:
      return "CHECKSUM_MISMATCH";
    case RejectCode::signature_invalid:
      return "SIGNATURE_INVALID";
    case RejectCode::manifest_invalid:
      return "MANIFEST_INVALID";
    case RejectCode::schema_mismatch:
      return "SCHEMA_MISMATCH";
    case RejectCode::payload_invalid:
      return "PAYLOAD_INVALID";
    case RejectCode::constraint_violation:
      return "CONSTRAINT_VIOLATION";
    case RejectCode::unsafe_path:
      return "UNSAFE_PATH";
    case RejectCode::too_large:
      return "TOO_LARGE";
    case RejectCode::target_error:
      return "TARGET_ERROR";
  }
  return "TARGET_ERROR";
}

std::optional<RejectCode> reject_code_from(std::string_view text) {
  for (auto code :
       {RejectCode::checksum_mismatch, RejectCode::signature_invalid, RejectCode::manifest_invalid,
        RejectCode::schema_mismatch, RejectCode::payload_invalid, RejectCode::constraint_violation,
        RejectCode::unsafe_path, RejectCode::too_large, RejectCode::target_error})
    if (to_string(code) == text) return code;
  return std::nullopt;
}

}  // namespace fep
