// Safe extraction of a folder payload (extract_folder) into a staging folder, with small limits.
// The format is taken from the bytes (zip, or tar that is gzip-, zstd- or not compressed), as a
// matching manifest would declare it. The staging folder holds a previous version first, whose
// file is a hard link shared with the published copy outside it, as after an incremental batch.
// Whatever the archive holds, afterwards:
//   - nothing outside the staging folder was created, changed or removed;
//   - the staging folder holds only directories and regular files (no link, device or FIFO);
//   - the files reported are as many as the archive's entries allow, each within the limits.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "adapters/archive/folder_extract.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace fep;
namespace fs = std::filesystem;

constexpr std::string_view kPublished = "published version\n";

struct Layout {
  fs::path root, payload, staging, published, outside;
};

const Layout& layout() {
  static const Layout l = [] {
    Layout x;
    x.root = fuzz::scratch_dir() / "extract";
    x.payload = fuzz::scratch_dir() / "payload";
    x.staging = x.root / "staging";
    x.published = x.root / "published.txt";
    x.outside = x.root / "outside";
    return x;
  }();
  return l;
}

// The folder before each run: root/{published.txt, outside/, staging/{a.txt -> hard link of
// published.txt, d/old.txt}}.
void prepare() {
  const auto& l = layout();
  std::error_code ec;
  fs::remove_all(l.root, ec);
  fs::create_directories(l.staging / "d");
  fs::create_directories(l.outside);
  fuzz::write_file(l.published, kPublished);
  fs::create_hard_link(l.published, l.staging / "a.txt");
  fuzz::write_file(l.staging / "d/old.txt", "old\n");
}

void check_after() {
  const auto& l = layout();
  std::error_code ec;
  size_t top = 0;
  for (const auto& entry : fs::directory_iterator(l.root)) {
    ++top;
    fuzz::require(
        entry.path() == l.staging || entry.path() == l.published || entry.path() == l.outside,
        "extraction created something beside the staging folder");
  }
  fuzz::require(top == 3, "extraction removed something beside the staging folder");
  fuzz::require(fs::is_empty(l.outside), "extraction wrote into a folder outside the staging one");
  fuzz::require(fs::is_regular_file(fs::symlink_status(l.published)) &&
                    fuzz::read_file(l.published) == kPublished,
                "extraction wrote through a hard link to the published version");
  for (auto it = fs::recursive_directory_iterator(l.staging); it != fs::end(it); ++it) {
    const auto s = it->symlink_status();
    fuzz::require(fs::is_regular_file(s) || fs::is_directory(s),
                  "the staging folder holds something that is not a file or directory");
  }
}

// What a manifest for these bytes would say.
void sniff(std::string_view bytes, archive::ExtractOptions& options) {
  options.format = "tar";
  options.compression = "none";
  if (bytes.starts_with("PK"))
    options.format = "zip";
  else if (bytes.starts_with("\x1f\x8b"))
    options.compression = "gzip";
  else if (bytes.starts_with("\x28\xb5\x2f\xfd"))
    options.compression = "zstd";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto& l = layout();
  prepare();
  fuzz::write_file(l.payload, bytes);

  archive::ExtractOptions options;
  sniff(bytes, options);
  options.payload_size = size;
  options.limits.max_entries = 64;
  options.limits.max_total_bytes = 1 << 20;
  options.limits.max_file_bytes = 256 << 10;
  options.declared_files = 32;
  options.declared_bytes = 512 << 10;
  auto result = archive::extract_folder(l.payload, l.staging, options);
  check_after();
  if (!result) {
    fuzz::require(!result.error().message.empty(), "a refusal without a reason");
    return 0;
  }
  fuzz::require(result->entries <= options.limits.max_entries, "more entries than max_entries");
  fuzz::require(result->files.size() <= options.declared_files, "more files than declared");
  fuzz::require(result->bytes <= options.declared_bytes, "more bytes than declared");
  for (const auto& file : result->files) {
    fuzz::require(file.size <= options.limits.max_file_bytes, "a file over max_file_bytes");
    auto again = archive::safe_relative_path("./" + file.path);
    fuzz::require(again.ok() && *again == file.path, "a reported path that is not safe");
  }
  return 0;
}
