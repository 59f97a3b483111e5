#include "adapters/archive/folder_extract.h"

#include "adapters/archive/zip_directory.h"
#include "adapters/base/utf8.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <locale.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <system_error>
#include <thread>

#include "adapters/base/digest.h"
#include "adapters/base/files.h"

namespace fep::archive {
namespace {

using Failure = Unexpected<ExtractError>;

Failure failure(ExtractError::Kind kind, std::string message) {
  return {ExtractError{kind, std::move(message)}};
}

// A name as it may be shown: control bytes and bytes that are not UTF-8 escaped (the message
// goes into receipts, the state database and JSON, which need valid UTF-8), long names cut.
std::string printable(std::string_view name) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto shown = name.substr(0, 300);
  std::string out;
  for (size_t i = 0; i < shown.size();) {
    const auto c = static_cast<unsigned char>(shown[i]);
    const size_t n = utf8_sequence_length(shown, i);
    if (n == 0 || c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
      ++i;
    } else {
      out.append(shown.substr(i, n));
      i += n;
    }
  }
  if (name.size() > 300) out += "...";
  return out;
}

struct ReadFree {
  void operator()(::archive* a) const { archive_read_free(a); }
};
struct WriteFree {
  void operator()(::archive* a) const { archive_write_free(a); }
};
using ReadArchive = std::unique_ptr<::archive, ReadFree>;
using WriteArchive = std::unique_ptr<::archive, WriteFree>;

// The calling thread's LC_CTYPE is C.UTF-8 while this lives: libarchive converts entry names
// (GB18030 zip names included) into the thread's locale charset, which must be UTF-8 whatever
// the process's locale is.
class Utf8Locale {
 public:
  Utf8Locale() : loc_(newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0))) {
    if (loc_) previous_ = uselocale(loc_);
  }
  Utf8Locale(const Utf8Locale&) = delete;
  Utf8Locale& operator=(const Utf8Locale&) = delete;
  ~Utf8Locale() {
    if (!loc_) return;
    uselocale(previous_);
    freelocale(loc_);
  }
  bool ok() const { return loc_ != static_cast<locale_t>(0); }

 private:
  locale_t loc_;
  locale_t previous_ = LC_GLOBAL_LOCALE;
};

std::string error_of(::archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unknown libarchive error";
}

// A failure of the writing side: a full, failing or read-only disk waits; libarchive's own
// path checks (which ours should make unreachable) still count as unsafe.
Failure write_failure(::archive* disk, const std::string& path) {
  const int e = archive_errno(disk);
  std::string what = error_of(disk);
  // libarchive's own messages for those checks, matched whole: its other messages quote the
  // entry's name, which may well hold ".." or "symlink" (报告..pdf).
  const bool unsafe = what == "Path contains '..'" || what == "Path is absolute" ||
                      what.starts_with("Cannot extract through symlink") ||
                      what.starts_with("Cannot remove intervening symlink");
  // libarchive says "Write failed" and keeps the cause in its errno.
  if (e > 0 && what.find(std::strerror(e)) == std::string::npos)
    what += ": " + std::string(std::strerror(e));
  if (e == ENOSPC || e == EDQUOT || e == EROFS || e == EIO)
    return failure(ExtractError::Kind::unavailable, "cannot write " + path + ": " + what);
  if (unsafe)
    return failure(ExtractError::Kind::unsafe_path, "entry \"" + printable(path) + "\": " + what);
  return failure(ExtractError::Kind::io, "cannot write " + path + ": " + what);
}

std::string errno_failure_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

class Extractor {
 public:
  Extractor(int payload_fd, const ExtractOptions& options)
      : fd_(payload_fd),
        opt_(options),
        allowance_(ratio_allowance(options.payload_size, options.limits.max_ratio)) {}

  Expected<ExtractResult, ExtractError> run() {
    if (auto st = open(); !st) return Unexpected{st.error()};
    buf_.resize(64 * 1024);
    for (bool first = true;; first = false) {
      archive_entry* entry = nullptr;
      const int r = archive_read_next_header(in_.get(), &entry);
      if (r == ARCHIVE_EOF) break;
      if (r == ARCHIVE_WARN && error_of(in_.get()).find("athname") != std::string::npos)
        return failure(ExtractError::Kind::unsafe_path,
                       "an entry name is not valid " +
                           std::string(opt_.format == "zip" ? "UTF-8 or GB18030" : "UTF-8") + ": " +
                           error_of(in_.get()));
      // ARCHIVE_RETRY is a damaged header: reading on would skip what it damaged.
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
        return failure(ExtractError::Kind::invalid,
                       "not a readable " + opt_.format + " archive: " + error_of(in_.get()));
      if (first)
        if (auto st = check_format(); !st) return Unexpected{st.error()};
      if (auto st = take_entry(entry); !st) return Unexpected{st.error()};
    }
    if (archive_write_close(disk_.get()) < ARCHIVE_WARN) return write_failure(disk_.get(), ".");
    return std::move(result_);
  }

 private:
  using Step = Expected<void, ExtractError>;

  Step open() {
    in_.reset(archive_read_new());
    disk_.reset(archive_write_disk_new());
    if (!in_ || !disk_) return failure(ExtractError::Kind::io, "libarchive: out of memory");
    // Only what the protocol allows, and only what the manifest declares.
    if (opt_.format == "tar") {
      archive_read_support_format_tar(in_.get());
    } else if (opt_.format == "zip") {
      // The central directory says what the archive holds (the seekable reader wins the
      // bidding on a payload file); the streaming reader takes an archive with no entries.
      archive_read_support_format_zip(in_.get());
      // Zip names without the UTF-8 flag are GB18030 (the protocol; Chinese Windows writes GBK).
      if (archive_read_set_options(in_.get(), "zip:hdrcharset=GB18030") < ARCHIVE_WARN)
        return failure(ExtractError::Kind::io,
                       "libarchive cannot convert GB18030: " + error_of(in_.get()));
    } else {
      return failure(ExtractError::Kind::invalid,
                     "unsupported folder format \"" + opt_.format + "\"");
    }
    if (opt_.compression == "gzip")
      archive_read_support_filter_gzip(in_.get());
    else if (opt_.compression == "zstd")
      archive_read_support_filter_zstd(in_.get());
    else if (opt_.compression != "none")
      return failure(ExtractError::Kind::invalid,
                     "unsupported compression \"" + opt_.compression + "\"");
    if (opt_.format == "zip" && opt_.compression != "none")
      return failure(ExtractError::Kind::invalid, "a zip payload has compression none");
    // libarchive reads a zip's whole central directory into memory before the first entry:
    // count it from the end record first, so that millions of entries cost nothing.
    if (opt_.format == "zip")
      if (auto entries = zip_entry_count(fd_, opt_.limits.max_entries);
          entries && *entries > opt_.limits.max_entries)
        return failure(ExtractError::Kind::too_large,
                       "the zip's central directory holds more than " +
                           std::to_string(opt_.limits.max_entries) + " entries (max_entries)");

    // Never owners, permissions from the archive, ACLs, xattrs or file flags; no path through
    // a symlink, no "..", no absolute path; replace a file by unlinking it (it may be a hard
    // link shared with the published version); parents are created by us, with dir_mode.
    const int flags = ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                      ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_UNLINK |
                      ARCHIVE_EXTRACT_NO_AUTODIR | ARCHIVE_EXTRACT_TIME;
    archive_write_disk_set_options(disk_.get(), flags);

    if (archive_read_open_fd(in_.get(), fd_, 64 * 1024) != ARCHIVE_OK)
      return failure(ExtractError::Kind::invalid,
                     "not a readable " + opt_.format + " archive: " + error_of(in_.get()));
    return check_filters();
  }

  // Filter 0 is the decompressor nearest the data; the last is the file reader. One layer of
  // the declared compression, or none.
  Step check_filters() {
    const int count = archive_filter_count(in_.get());
    const bool ok = opt_.compression == "none"
                        ? count == 1
                        : count == 2 && archive_filter_code(in_.get(), 0) ==
                                            (opt_.compression == "gzip" ? ARCHIVE_FILTER_GZIP
                                                                        : ARCHIVE_FILTER_ZSTD);
    if (!ok)
      return failure(ExtractError::Kind::invalid,
                     opt_.compression == "none"
                         ? "the payload is compressed but the manifest says compression none"
                         : "the payload is not " + opt_.compression + "-compressed");
    return {};
  }

  Step check_format() {
    const int base = archive_format(in_.get()) & ARCHIVE_FORMAT_BASE_MASK;
    const int want = opt_.format == "tar" ? ARCHIVE_FORMAT_TAR : ARCHIVE_FORMAT_ZIP;
    if (base != want)
      return failure(ExtractError::Kind::invalid,
                     "the payload is not a " + opt_.format + " archive");
    return {};
  }

  Step take_entry(archive_entry* entry) {
    if (++result_.entries > opt_.limits.max_entries)
      return failure(
          ExtractError::Kind::too_large,
          "more than " + std::to_string(opt_.limits.max_entries) + " entries (max_entries)");
    const char* raw = archive_entry_pathname(entry);
    const std::string shown = raw ? printable(raw) : "(no name)";
    if (archive_entry_hardlink(entry))
      return failure(ExtractError::Kind::unsafe_path,
                     "entry \"" + shown + "\" is a hard link; only files and directories");
    if (archive_entry_symlink(entry) || archive_entry_filetype(entry) == AE_IFLNK)
      return failure(ExtractError::Kind::unsafe_path,
                     "entry \"" + shown + "\" is a symbolic link; only files and directories");
    const auto type = archive_entry_filetype(entry);
    if (type != AE_IFREG && type != AE_IFDIR)
      return failure(
          ExtractError::Kind::unsafe_path,
          "entry \"" + shown + "\" is a " + type_name(type) + "; only files and directories");
    if (!raw) return failure(ExtractError::Kind::unsafe_path, "an entry has no name");
    auto path = safe_relative_path(raw);
    if (!path) return failure(ExtractError::Kind::unsafe_path, "entry " + path.error().message);
    if (path->empty()) {
      if (type == AE_IFDIR) return {};  // "./": the folder itself
      return failure(ExtractError::Kind::unsafe_path,
                     "entry \"" + shown + "\" is a file named like the folder itself");
    }
    if (auto st = check_kind(*path, type == AE_IFDIR); !st) return st;
    if (auto st = make_parents(*path); !st) return st;

    // What the entry may bring besides its name, type and data is dropped here.
    archive_entry_copy_pathname(entry, path->c_str());
    archive_entry_acl_clear(entry);
    archive_entry_xattr_clear(entry);
    archive_entry_set_fflags(entry, 0, 0);
    archive_entry_set_perm(entry, type == AE_IFDIR ? opt_.dir_mode : opt_.file_mode);
    // A size from the header would make libarchive cut or extend the file to it.
    archive_entry_unset_size(entry);
    if (archive_write_header(disk_.get(), entry) < ARCHIVE_WARN)
      return write_failure(disk_.get(), *path);
    if (type == AE_IFDIR) {
      dirs_.insert(*path);
      return finish(*path);
    }
    return copy_data(*path);
  }

  static std::string type_name(unsigned type) {
    switch (type) {
      case AE_IFCHR:
        return "character device";
      case AE_IFBLK:
        return "block device";
      case AE_IFIFO:
        return "FIFO";
      case AE_IFSOCK:
        return "socket";
      default:
        return "entry of an unknown type";
    }
  }

  // A name is a file or a directory, once: an archive that has both for one name, or a file
  // where the folder keeps a directory (an incremental batch whose `deletes` does not name it),
  // is inconsistent; which of the two it meant cannot be guessed.
  Step check_kind(const std::string& path, bool directory) {
    const auto invalid = [&](const std::string& why) {
      return failure(ExtractError::Kind::invalid, "entry \"" + printable(path) + "\" " + why);
    };
    if (directory && written_.contains(path))
      return invalid("is a directory, but the archive has a file of that name");
    if (!directory && dirs_.contains(path))
      return invalid("is a file, but the archive has a directory of that name or files in it");
    for (size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1))
      if (written_.contains(path.substr(0, slash)))
        return invalid("is inside \"" + printable(path.substr(0, slash)) +
                       "\", which the archive has as a file");
    struct stat st {};
    if (!directory && ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      return invalid(
          "is a file, but the folder has a directory of that name that `deletes` does not name");
    return {};
  }

  // Each parent is made here (0777 & ~umask is what libarchive would give it); a file in the
  // way (an earlier version's file, now a directory) is unlinked.
  Step make_parents(const std::string& path) {
    for (size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      const std::string dir = path.substr(0, slash);
      if (dirs_.contains(dir)) continue;
      struct stat st {};
      if (::lstat(dir.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
        if (!S_ISREG(st.st_mode))
          return failure(ExtractError::Kind::unsafe_path,
                         "\"" + printable(dir) + "\" in the staging folder is not a directory");
        if (::unlink(dir.c_str()) != 0)
          return failure(ExtractError::Kind::io, errno_failure_text("cannot unlink " + dir));
      }
      if (::mkdir(dir.c_str(), opt_.dir_mode) != 0 && errno != EEXIST)
        return failure(errno == ENOSPC || errno == EDQUOT || errno == EROFS || errno == EIO
                           ? ExtractError::Kind::unavailable
                           : ExtractError::Kind::io,
                       errno_failure_text("cannot create directory " + dir));
      dirs_.insert(dir);
    }
    return {};
  }

  Step copy_data(const std::string& path) {
    if (result_.files.size() + 1 > opt_.declared_files)
      return failure(ExtractError::Kind::invalid,
                     "the archive holds more files than the manifest's folder.files " +
                         std::to_string(opt_.declared_files));
    Sha256 hash;
    uint64_t size = 0;
    for (;;) {
      const la_ssize_t n = archive_read_data(in_.get(), buf_.data(), buf_.size());
      if (n < 0)
        return failure(
            ExtractError::Kind::invalid,
            "cannot read \"" + printable(path) + "\" from the archive: " + error_of(in_.get()));
      if (n == 0) break;
      const auto got = static_cast<uint64_t>(n);
      size += got;
      result_.bytes += got;
      if (size > opt_.limits.max_file_bytes)
        return failure(ExtractError::Kind::too_large,
                       "\"" + printable(path) + "\" expands past " +
                           std::to_string(opt_.limits.max_file_bytes) + " bytes (max_file_bytes)");
      if (result_.bytes > opt_.limits.max_total_bytes)
        return failure(ExtractError::Kind::too_large,
                       "the archive expands past " + std::to_string(opt_.limits.max_total_bytes) +
                           " bytes (max_total_bytes)");
      if (result_.bytes > allowance_)
        return failure(ExtractError::Kind::too_large,
                       "the archive expands past " + std::to_string(opt_.limits.max_ratio) +
                           " times its " + std::to_string(opt_.payload_size) +
                           " bytes (max_ratio)");
      if (result_.bytes > opt_.declared_bytes)
        return failure(ExtractError::Kind::invalid,
                       "the archive expands past the manifest's folder.bytes " +
                           std::to_string(opt_.declared_bytes));
      hash.update(buf_.data(), got);
      if (archive_write_data(disk_.get(), buf_.data(), got) != n)
        return write_failure(disk_.get(), path);
    }
    if (auto st = finish(path); !st) return st;
    result_.files.push_back({path, size, hash.hex_digest()});
    written_.insert(path);
    return {};
  }

  Step finish(const std::string& path) {
    if (archive_write_finish_entry(disk_.get()) < ARCHIVE_WARN)
      return write_failure(disk_.get(), path);
    return {};
  }

  int fd_;
  const ExtractOptions& opt_;
  const uint64_t allowance_;
  ReadArchive in_;
  WriteArchive disk_;
  std::vector<char> buf_;
  std::set<std::string> dirs_;     // directories known to exist in the staging folder
  std::set<std::string> written_;  // files this archive wrote
  ExtractResult result_;
};

// The body of the extraction thread: its own filesystem context (working directory, umask), so
// that chdir and umask here are invisible to the agent's other threads.
Expected<ExtractResult, ExtractError> extract_here(int payload_fd, int dest_fd,
                                                   const ExtractOptions& options) {
  if (::unshare(CLONE_FS) != 0)
    return failure(ExtractError::Kind::unavailable,
                   errno_failure_text("cannot give the extraction thread its own working "
                                      "directory (unshare CLONE_FS)"));
  if (::fchdir(dest_fd) != 0)
    return failure(ExtractError::Kind::io, errno_failure_text("cannot enter the staging folder"));
  ::umask(0);  // modes are exactly file_mode and dir_mode
  Utf8Locale locale;
  if (!locale.ok())
    return failure(ExtractError::Kind::unavailable, "the C.UTF-8 locale is not available");
  Extractor extractor(payload_fd, options);
  return extractor.run();
}

}  // namespace

Expected<std::string> safe_relative_path(std::string_view name) {
  const auto quoted = [&] { return "\"" + printable(name) + "\""; };
  if (name.empty()) return fail("with an empty name");
  if (!is_valid_utf8(name)) return fail(quoted() + " is not valid UTF-8");
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f) return fail(quoted() + " has a control character in its name");
  if (name.front() == '/' || name.front() == '\\') return fail(quoted() + " is an absolute path");
  if (name.size() >= 2 && name[1] == ':' &&
      ((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z')))
    return fail(quoted() + " is an absolute Windows path");
  std::string out;
  size_t depth = 0;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = name.size();
    const auto part = name.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") return fail(quoted() + " has a '..' component");
    if (part.size() > 255) return fail(quoted() + " has a component longer than 255 bytes");
    // Walking a tree holds a descriptor per level: a deeper one would exhaust them.
    if (++depth > kMaxPathDepth)
      return fail(quoted() + " is more than " + std::to_string(kMaxPathDepth) + " levels deep");
    if (!out.empty()) out += '/';
    out += part;
  }
  if (out.size() > 4095) return fail(quoted() + " is longer than 4095 bytes");
  return out;
}

uint64_t ratio_allowance(uint64_t payload_size, uint64_t max_ratio) {
  if (max_ratio != 0 && payload_size > UINT64_MAX / max_ratio) return UINT64_MAX;
  return std::max(kRatioGraceBytes, payload_size * max_ratio);
}

Expected<ExtractResult, ExtractError> extract_folder(const std::filesystem::path& payload,
                                                     const std::filesystem::path& dest,
                                                     const ExtractOptions& options) {
  // Opened here, in the caller's working directory: the thread's is `dest`.
  UniqueFd in(::open(payload.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.fd < 0)
    return failure(ExtractError::Kind::io, errno_failure_text("cannot open " + payload.string()));
  UniqueFd dir(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (dir.fd < 0)
    return failure(ExtractError::Kind::io, errno_failure_text("cannot open " + dest.string()));
  std::optional<Expected<ExtractResult, ExtractError>> result;
  try {
    std::thread worker([&] { result.emplace(extract_here(in.fd, dir.fd, options)); });
    worker.join();
  } catch (const std::system_error& e) {
    return failure(ExtractError::Kind::unavailable,
                   std::string("cannot start the extraction thread: ") + e.what());
  }
  return std::move(*result);
}

}  // namespace fep::archive
