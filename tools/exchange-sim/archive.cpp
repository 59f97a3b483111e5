#include "tools/exchange-sim/archive.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace fep::sim {
namespace {

constexpr size_t kBlock = 1 << 16;

Unexpected<Error> archive_fail(archive* a, const std::string& what) {
  const char* msg = archive_error_string(a);
  return fail(what + ": " + (msg ? msg : "libarchive error"));
}

Status add_filter(archive* a, std::string_view compression) {
  int rc = ARCHIVE_OK;
  if (compression == "gzip")
    rc = archive_write_add_filter_gzip(a);
  else if (compression == "zstd")
    rc = archive_write_add_filter_zstd(a);
  else if (compression == "none")
    rc = archive_write_add_filter_none(a);
  else
    return fail("unknown compression " + std::string(compression));
  if (rc != ARCHIVE_OK) return archive_fail(a, "cannot set up " + std::string(compression));
  return {};
}

// Copies a file's bytes into the open archive entry.
Status write_file_data(archive* a, const fs::path& src) {
  std::ifstream in(src, std::ios::binary);
  if (!in) return fail("cannot open " + src.string() + ": " + std::strerror(errno));
  std::vector<char> buf(kBlock);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    auto n = static_cast<size_t>(in.gcount());
    if (n > 0 && archive_write_data(a, buf.data(), n) < 0)
      return archive_fail(a, "cannot write data of " + src.string());
  }
  if (in.bad()) return fail("cannot read " + src.string());
  return {};
}

Status finish(archive* a, const fs::path& dst) {
  if (archive_write_close(a) != ARCHIVE_OK) return archive_fail(a, "cannot finish " + dst.string());
  return fsync_file(dst);
}

}  // namespace

Status fsync_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail("cannot open " + path.string() + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return fail("cannot fsync " + path.string());
  return {};
}

Status compress_file(const fs::path& src, const fs::path& dst, std::string_view compression) {
  if (compression == "none") {
    std::error_code ec;
    fs::copy_file(src, dst, fs::copy_options::overwrite_existing, ec);
    if (ec) return fail("cannot copy " + src.string() + ": " + ec.message());
    return fsync_file(dst);
  }
  ArchiveWriter a(archive_write_new());
  if (auto st = add_filter(a.get(), compression); !st) return st;
  archive_write_set_format_raw(a.get());
  archive_write_set_bytes_in_last_block(a.get(), 1);
  if (archive_write_open_filename(a.get(), dst.c_str()) != ARCHIVE_OK)
    return archive_fail(a.get(), "cannot create " + dst.string());
  ArchiveEntry entry(archive_entry_new());
  archive_entry_set_pathname(entry.get(), "data");
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_perm(entry.get(), 0644);
  if (archive_write_header(a.get(), entry.get()) != ARCHIVE_OK)
    return archive_fail(a.get(), "cannot start " + dst.string());
  if (auto st = write_file_data(a.get(), src); !st) return st;
  return finish(a.get(), dst);
}

Status read_decompressed(const fs::path& src, std::string_view compression,
                         const std::function<void(const char*, size_t)>& sink) {
  if (compression == "none") {
    std::ifstream in(src, std::ios::binary);
    if (!in) return fail("cannot open " + src.string() + ": " + std::strerror(errno));
    std::vector<char> buf(kBlock);
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      sink(buf.data(), static_cast<size_t>(in.gcount()));
    }
    if (in.bad()) return fail("cannot read " + src.string());
    return {};
  }
  ArchiveReader a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  if (archive_read_open_filename(a.get(), src.c_str(), kBlock) != ARCHIVE_OK)
    return archive_fail(a.get(), "cannot open " + src.string());
  archive_entry* entry = nullptr;
  int rc = archive_read_next_header(a.get(), &entry);
  if (rc == ARCHIVE_EOF) return {};
  if (rc != ARCHIVE_OK) return archive_fail(a.get(), "cannot read " + src.string());
  std::vector<char> buf(kBlock);
  for (;;) {
    la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
    if (n < 0) return archive_fail(a.get(), "cannot decompress " + src.string());
    if (n == 0) return {};
    sink(buf.data(), static_cast<size_t>(n));
  }
}

Expected<FolderTotals> write_folder_archive(const fs::path& src, const fs::path& dst,
                                            std::string_view format, std::string_view compression) {
  std::vector<std::pair<std::string, fs::path>> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(src, ec), end; !ec && it != end; it.increment(ec)) {
    const bool link = it->is_symlink(ec);
    const bool regular = !ec && !link && it->is_regular_file(ec);
    if (ec) return fail("cannot stat " + it->path().string() + ": " + ec.message());
    if (!regular) continue;
    files.emplace_back(it->path().lexically_relative(src).generic_string(), it->path());
  }
  if (ec) return fail("cannot walk " + src.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());

  ArchiveWriter a(archive_write_new());
  if (format == "zip") {
    if (compression != "none") return fail("a zip payload has compression none");
    archive_write_set_format_zip(a.get());
    archive_write_set_options(a.get(), "zip:hdrcharset=UTF-8");
  } else if (format == "tar") {
    archive_write_set_format_pax_restricted(a.get());
  } else {
    return fail("unknown folder format " + std::string(format));
  }
  if (auto st = add_filter(a.get(), format == "zip" ? "none" : compression); !st)
    return Unexpected{st.error()};
  archive_write_set_bytes_in_last_block(a.get(), 1);
  if (archive_write_open_filename(a.get(), dst.c_str()) != ARCHIVE_OK)
    return archive_fail(a.get(), "cannot create " + dst.string());

  FolderTotals totals;
  for (const auto& [rel, path] : files) {
    auto size = fs::file_size(path, ec);
    if (ec) return fail("cannot stat " + path.string() + ": " + ec.message());
    ArchiveEntry entry(archive_entry_new());
    archive_entry_set_pathname_utf8(entry.get(), rel.c_str());
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0644);
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(size));
    auto mtime = fs::last_write_time(path, ec);
    if (!ec) {
      auto sys = std::chrono::file_clock::to_sys(mtime);
      archive_entry_set_mtime(entry.get(), std::chrono::system_clock::to_time_t(sys), 0);
    }
    if (archive_write_header(a.get(), entry.get()) < ARCHIVE_WARN)
      return archive_fail(a.get(), "cannot add " + rel);
    if (auto st = write_file_data(a.get(), path); !st) return Unexpected{st.error()};
    totals.files += 1;
    totals.bytes += size;
  }
  if (auto st = finish(a.get(), dst); !st) return Unexpected{st.error()};
  return totals;
}

Expected<FolderTotals> count_archive(const fs::path& path) {
  ArchiveReader a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_all(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), kBlock) != ARCHIVE_OK)
    return archive_fail(a.get(), "cannot open " + path.string());
  FolderTotals totals;
  std::vector<char> buf(kBlock);
  archive_entry* entry = nullptr;
  for (;;) {
    int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) return totals;
    if (rc < ARCHIVE_WARN) return archive_fail(a.get(), "cannot read " + path.string());
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    totals.files += 1;
    for (;;) {
      la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
      if (n < 0) return archive_fail(a.get(), "cannot read " + path.string());
      if (n == 0) break;
      totals.bytes += static_cast<std::uint64_t>(n);
    }
  }
}

void CsvRecordCounter::feed(const char* data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    const char c = data[i];
    if (state_ == State::kQuoted) {
      if (c == '"') state_ = State::kQuoteInQuoted;
      continue;
    }
    if (c == '\n') {
      ++records_;
      in_record_ = false;
      state_ = State::kFieldStart;
      continue;
    }
    in_record_ = true;
    if (c == ',') {
      state_ = State::kFieldStart;
    } else if (c == '"' && state_ != State::kUnquoted) {
      state_ = State::kQuoted;  // opens a field, or a doubled quote inside one
    } else {
      state_ = State::kUnquoted;
    }
  }
}

}  // namespace fep::sim
