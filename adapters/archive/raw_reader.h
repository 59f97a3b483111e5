// Decompressed bytes of a single compressed file (gzip or zstd), read with libarchive's raw format.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string_view>

#include "adapters/base/expected.h"

struct archive;

namespace fep::archive {

class RawReader {
 public:
  // Opens `path` and checks that its outer (and only) compression is `expected_filter`
  // ("gzip" or "zstd"); a file compressed otherwise, or not at all, is an error.
  static Expected<RawReader> open(const std::filesystem::path& path,
                                  std::string_view expected_filter);

  // Fills up to `size` decompressed bytes; returns 0 at the end.
  Expected<size_t> read(char* buf, size_t size);

 private:
  struct ArchiveFree {
    void operator()(::archive* a) const;
  };
  explicit RawReader(std::unique_ptr<::archive, ArchiveFree> a, bool empty)
      : a_(std::move(a)), empty_(empty) {}

  std::unique_ptr<::archive, ArchiveFree> a_;
  bool empty_ = false;  // the decompressed stream has no bytes at all
};

}  // namespace fep::archive
