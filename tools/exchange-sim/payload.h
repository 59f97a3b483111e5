// GET /v1/batches/{id}/payload: the payload file streamed from disk, with byte ranges.
#pragma once

#include <httplib.h>

#include "tools/exchange-sim/faults.h"
#include "tools/exchange-sim/store.h"

namespace fep::sim {

// One `Range: bytes=...` range, resolved against the payload size.
struct ByteRange {
  enum class Kind { kWhole, kPartial, kUnsatisfiable };
  Kind kind = Kind::kWhole;
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
};

// Resolves the Range and If-Range headers: whole when there is no usable range or If-Range does
// not match `etag`; unsatisfiable when the range starts at or past the end.
ByteRange resolve_range(const httplib::Request& req, const std::string& etag, std::uint64_t size);

// Answers with the payload of `batch` (or a JSON error when it cannot be read), with the
// transfer faults `faults` asks for (none by default).
void answer_payload(const httplib::Request& req, httplib::Response& res, const BatchInfo& batch,
                    const RequestFaults& faults = {}, int drip_pieces = 16, int drip_pause_ms = 25);

}  // namespace fep::sim
