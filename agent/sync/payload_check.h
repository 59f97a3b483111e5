// Checks a downloaded payload against its manifest before anything of it is applied.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "adapters/base/expected.h"
#include "agent/batch/manifest.h"
#include "agent/batch/rejection.h"

namespace fep {

struct PayloadCheck {
  std::string sha256;                 // of the bytes received
  std::optional<Rejection> mismatch;  // CHECKSUM_MISMATCH when size, sha256 or sm3 differ
};

// Reads the file once, computing SHA-256 (and SM3 when the manifest has one).
Expected<PayloadCheck> check_payload(const std::filesystem::path& file, const PayloadInfo& info);

// Moves a payload that was rejected to <state_dir>/rejected/ so that it can be examined;
// the platform's data is never silently thrown away. Housekeeping deletes it once
// retention.rejected_payloads has passed since now.
void keep_rejected_payload(const std::filesystem::path& state_dir,
                           const std::filesystem::path& file);

}  // namespace fep
