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

}  // namespace fep
