#include "adapters/archive/raw_reader.h"

#include <archive.h>
#include <archive_entry.h>

#include <string>

namespace fep::archive {
namespace {

std::string error_of(::archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unknown libarchive error";
}

}  // namespace

void RawReader::ArchiveFree::operator()(::archive* a) const {
  archive_read_free(a);
}

Expected<RawReader> RawReader::open(const std::filesystem::path& path,
                                    std::string_view expected_filter) {
  int want = 0;
  if (expected_filter == "gzip")
    want = ARCHIVE_FILTER_GZIP;
  else if (expected_filter == "zstd")
    want = ARCHIVE_FILTER_ZSTD;
  else
    return fail("unsupported compression \"" + std::string(expected_filter) + "\"");

  std::unique_ptr<::archive, ArchiveFree> a(archive_read_new());
  if (!a) return fail("libarchive: out of memory");
  // Only the filters the protocol allows: anything else must not be silently decoded.
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_zstd(a.get());
  archive_read_support_format_raw(a.get());
  // The raw format refuses an empty stream; the "empty" format takes exactly that case.
  archive_read_support_format_empty(a.get());

  if (archive_read_open_filename(a.get(), path.c_str(), 64 * 1024) != ARCHIVE_OK)
    return fail(path.string() + ": " + error_of(a.get()));

  // Filter 0 is the decompressor nearest the data; the last one is the plain file reader.
  // Exactly two means one layer of compression, and it must be the declared one.
  if (archive_filter_count(a.get()) != 2 || archive_filter_code(a.get(), 0) != want)
    return fail("payload is not " + std::string(expected_filter) + "-compressed");

  archive_entry* entry = nullptr;
  int r = archive_read_next_header(a.get(), &entry);
  if (r == ARCHIVE_EOF) return RawReader(std::move(a), true);
  if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return fail(path.string() + ": " + error_of(a.get()));
  return RawReader(std::move(a), false);
}

Expected<size_t> RawReader::read(char* buf, size_t size) {
  if (empty_ || size == 0) return size_t{0};
  la_ssize_t n = archive_read_data(a_.get(), buf, size);
  if (n < 0) return fail("decompressing payload: " + error_of(a_.get()));
  return static_cast<size_t>(n);
}

}  // namespace fep::archive
