#include "agent/sync/payload_check.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <vector>

#include "adapters/base/digest.h"
#include "adapters/base/files.h"

namespace fep {

Expected<PayloadCheck> check_payload(const std::filesystem::path& file, const PayloadInfo& info) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail("cannot read the downloaded payload " + file.string());
  Sha256 sha256;
  std::optional<Hasher> sm3;
  if (info.sm3) {
    sm3.emplace("SM3");
    if (!sm3->available()) return fail("this OpenSSL has no SM3, which the manifest requires");
  }
  std::vector<char> buf(1 << 16);
  uint64_t size = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<size_t>(in.gcount());
    size += n;
    sha256.update(buf.data(), n);
    if (sm3) sm3->update(buf.data(), n);
  }
  if (in.bad()) return fail("cannot read the downloaded payload " + file.string());

  PayloadCheck check{sha256.hex_digest(), std::nullopt};
  if (size != info.size)
    check.mismatch = Rejection{RejectCode::checksum_mismatch, "payload is " + std::to_string(size) +
                                                                  " bytes, the manifest says " +
                                                                  std::to_string(info.size)};
  else if (check.sha256 != info.sha256)
    check.mismatch =
        Rejection{RejectCode::checksum_mismatch,
                  "payload sha256 is " + check.sha256 + ", the manifest says " + info.sha256};
  else if (sm3) {
    auto digest = sm3->hex_digest();
    if (digest != *info.sm3)
      check.mismatch = Rejection{RejectCode::checksum_mismatch,
                                 "payload sm3 is " + digest + ", the manifest says " + *info.sm3};
  }
  return check;
}

void keep_rejected_payload(const std::filesystem::path& state_dir,
                           const std::filesystem::path& file) {
  const auto dir = state_dir / "rejected";
  std::error_code ec;
  if (ensure_directory(dir).ok()) std::filesystem::rename(file, dir / file.filename(), ec);
  if (ec) {
    spdlog::warn("cannot keep rejected payload {}: {}", file.string(), ec.message());
    return;
  }
  // Retention (housekeeping.h) counts from the rejection, not from the download.
  std::filesystem::last_write_time(dir / file.filename(),
                                   std::filesystem::file_time_type::clock::now(), ec);
}

}  // namespace fep
