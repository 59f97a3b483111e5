// libarchive writing and reading for publishing: compressed CSV streams and folder archives.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string_view>

#include "adapters/base/expected.h"

namespace fep::sim {

namespace fs = std::filesystem;

struct ArchiveWriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ArchiveReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveEntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using ArchiveWriter = std::unique_ptr<archive, ArchiveWriteFree>;
using ArchiveReader = std::unique_ptr<archive, ArchiveReadFree>;
using ArchiveEntry = std::unique_ptr<archive_entry, ArchiveEntryFree>;

// Writes `src` to `dst` compressed as one stream (`gzip`, `zstd`) or as is (`none`).
Status compress_file(const fs::path& src, const fs::path& dst, std::string_view compression);

// Feeds the decompressed bytes of a stream written by compress_file (or gzip/zstd) to `sink`.
Status read_decompressed(const fs::path& src, std::string_view compression,
                         const std::function<void(const char*, size_t)>& sink);

struct FolderTotals {
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
};

// Archives the regular files under `src` (paths relative to it, sorted, UTF-8) as a pax tar
// (compressed with `compression`) or a zip (`compression` must be none).
Expected<FolderTotals> write_folder_archive(const fs::path& src, const fs::path& dst,
                                            std::string_view format, std::string_view compression);

// The regular files of an archive (any format and compression libarchive reads) and their sizes.
Expected<FolderTotals> count_archive(const fs::path& path);

// Counts RFC 4180 records (quoted fields may hold line breaks), fed in blocks.
class CsvRecordCounter {
 public:
  void feed(const char* data, size_t size);
  // Records seen, the header included.
  std::uint64_t records() const { return records_ + (in_record_ ? 1 : 0); }

 private:
  enum class State { kFieldStart, kUnquoted, kQuoted, kQuoteInQuoted };
  State state_ = State::kFieldStart;
  bool in_record_ = false;
  std::uint64_t records_ = 0;
};

// Syncs a written file to disk.
Status fsync_file(const fs::path& path);

}  // namespace fep::sim
