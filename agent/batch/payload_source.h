// Decompressed, UTF-8 bytes of a table payload, read in blocks (never the whole payload at once).
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string_view>

#include "adapters/base/expected.h"

namespace fep {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Fills up to `size` bytes; returns 0 at the end.
  virtual Expected<size_t> read(char* buf, size_t size) = 0;
};

// Opens a spooled payload: `compression` is "gzip", "zstd" or "none" (decoded with libarchive's
// raw reader), `encoding` is "UTF-8" or "GB18030" (converted to UTF-8 with iconv).
Expected<std::unique_ptr<ByteSource>> open_payload(const std::filesystem::path& path,
                                                   std::string_view compression,
                                                   std::string_view encoding);

// A source over bytes in memory (tests, small inputs).
std::unique_ptr<ByteSource> memory_source(std::string_view bytes);

}  // namespace fep
