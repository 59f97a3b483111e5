// Safe extraction of a folder payload (tar or zip) into a staging directory: only regular files
// and directories, names checked and converted to UTF-8, limits counted on the bytes actually
// decompressed, modes from the caller, never owners, ACLs, xattrs or setuid bits.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/base/expected.h"

namespace fep::archive {

// An archive entry name or a delete, made into a relative '/'-separated UTF-8 path. A leading
// "./", "." and empty components are dropped and a Windows '\' counts as a separator; the result
// is "" when the name is the folder itself. An error (the reason, quoting the name) for: not
// UTF-8, a control character, an absolute or drive-letter path, a ".." component, a component
// over 255 bytes, more than kMaxPathDepth components or a path over 4095 bytes.
Expected<std::string> safe_relative_path(std::string_view name);
inline constexpr size_t kMaxPathDepth = 128;

// Limits against decompression bombs; every one counts bytes as they come out of the
// decompressor, never the sizes archive headers claim.
struct ExtractLimits {
  uint64_t max_entries = 100000;  // entries of any type
  uint64_t max_total_bytes = 10ULL << 30;
  uint64_t max_file_bytes = 4ULL << 30;
  uint64_t max_ratio = 200;  // decompressed bytes per payload byte
};

// Below this many decompressed bytes the ratio is not checked: a small archive of repetitive
// text can exceed any ratio and cannot hurt.
inline constexpr uint64_t kRatioGraceBytes = 16ULL << 20;

// The largest total the ratio allows for a payload of `payload_size` bytes.
uint64_t ratio_allowance(uint64_t payload_size, uint64_t max_ratio);

struct ExtractOptions {
  std::string format;       // tar | zip
  std::string compression;  // gzip | zstd | none (zip: none)
  uint64_t payload_size = 0;
  ExtractLimits limits;
  // The manifest's folder.files and folder.bytes: extraction stops as soon as the archive holds
  // more than it declared (the disk-space check trusted these).
  uint64_t declared_files = 0;
  uint64_t declared_bytes = 0;
  unsigned file_mode = 0640;
  unsigned dir_mode = 0750;
};

struct ExtractedFile {
  std::string path;  // as in safe_relative_path
  uint64_t size = 0;
  std::string sha256;
};

struct ExtractResult {
  std::vector<ExtractedFile> files;  // in archive order; a name may repeat (the last one wins)
  uint64_t entries = 0;              // entries of any type
  uint64_t bytes = 0;                // of the regular files
};

struct ExtractError {
  enum class Kind {
    unsafe_path,  // a name or entry type that could write outside the folder: reject
    too_large,    // a limit was passed: reject
    invalid,      // not a readable archive of the declared kind, or counts differ: reject
    unavailable,  // a full or read-only disk, or no way to run here: try again later
    io,           // the disk refused otherwise
  };
  Kind kind = Kind::invalid;
  std::string message;
};

// Extracts `payload` into `dest`, an existing directory (empty, or holding the previous version
// for an incremental batch: a file there is unlinked, never written through, before it is
// replaced). Runs in a thread of its own whose working directory is `dest`, so that libarchive's
// ARCHIVE_EXTRACT_SECURE_* checks apply to relative paths without touching the process's working
// directory. Nothing is written outside `dest`; on error `dest` may hold a partial extraction.
Expected<ExtractResult, ExtractError> extract_folder(const std::filesystem::path& payload,
                                                     const std::filesystem::path& dest,
                                                     const ExtractOptions& options);

}  // namespace fep::archive
