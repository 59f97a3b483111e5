#include "agent/sync/folder_sink.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "adapters/archive/folder_extract.h"
#include "adapters/base/clock.h"
#include "adapters/base/digest.h"
#include "agent/sync/folder_layout.h"

namespace fep {
namespace fs = std::filesystem;
namespace {

using folder::Current;
using folder::Layout;
using folder::Listing;

using Applied = Expected<AppliedCounts, ApplyFailure>;
using Step = Expected<void, ApplyFailure>;

// Free space a batch needs beyond its bytes: block slack per file and a margin for everything
// else that writes to the same disk meanwhile.
constexpr uint64_t kSlackPerFile = 4096;
constexpr uint64_t kSpaceMargin = 64ULL << 20;

// The errors of a disk that is full, failing, read-only or not writable for us: it cannot take
// the batch now, so the resource pauses and the batch is tried again on a later run.
constexpr int kDiskUnavailable[] = {ENOSPC, EDQUOT, EIO, EROFS, EACCES, EPERM};

// Anything else is the disk refusing the batch.
ApplyFailure disk_failure(int error, const std::string& message) {
  for (int e : kDiskUnavailable)
    if (error == e) return target_unavailable(message);
  return reject(RejectCode::target_error, message);
}
ApplyFailure disk_failure(const std::error_code& ec, const std::string& what) {
  return disk_failure(ec.value(), what + ": " + ec.message());
}
// Our own small files (bookkeeping) failed: the message holds strerror's text.
ApplyFailure bookkeeping_failure(const std::string& message) {
  for (int e : kDiskUnavailable)
    if (message.find(std::strerror(e)) != std::string::npos) return target_unavailable(message);
  return retry_later(message);
}

// `staging`: where the archive was being extracted (entries name paths relative to it).
ApplyFailure extract_failure(const archive::ExtractError& e, const fs::path& staging) {
  using Kind = archive::ExtractError::Kind;
  switch (e.kind) {
    case Kind::unsafe_path:
      return reject(RejectCode::unsafe_path, e.message);
    case Kind::too_large:
      return reject(RejectCode::too_large, e.message);
    case Kind::invalid:
      return reject(RejectCode::payload_invalid, e.message);
    case Kind::unavailable:
      return target_unavailable("extracting into " + staging.string() + ": " + e.message);
    case Kind::io:
      break;
  }
  return reject(RejectCode::target_error, "extracting into " + staging.string() + ": " + e.message);
}

// Removes the staging folder unless the batch was published.
class StagingGuard {
 public:
  explicit StagingGuard(fs::path path) : path_(std::move(path)) {}
  StagingGuard(const StagingGuard&) = delete;
  StagingGuard& operator=(const StagingGuard&) = delete;
  ~StagingGuard() {
    if (path_.empty()) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
    if (ec) spdlog::warn("cannot remove {}: {}", path_.string(), ec.message());
  }
  void release() { path_.clear(); }

 private:
  fs::path path_;
};

Step make_dir(const fs::path& dir, unsigned mode) {
  std::error_code ec;
  fs::create_directory(dir, ec);
  if (!ec) fs::permissions(dir, static_cast<fs::perms>(mode), ec);
  if (ec) return Unexpected{disk_failure(ec, "cannot create " + dir.string())};
  return {};
}

// The files of the previous version that its listing has, hard-linked into staging (copied
// where the filesystem refuses links), and its directories re-made: the starting point of an
// incremental batch. A linked file is never written to afterwards, only unlinked.
Step copy_previous(const fs::path& from, const fs::path& to, const Listing& listing,
                   unsigned dir_mode, const std::string& resource_id) {
  std::error_code ec;
  size_t linked = 0;
  for (fs::recursive_directory_iterator it(from, fs::directory_options::none, ec), end;
       !ec && it != end; it.increment(ec)) {
    const auto status = it->symlink_status(ec);
    if (ec) break;
    const auto rel = it->path().lexically_relative(from).generic_string();
    if (fs::is_directory(status)) {
      if (auto st = make_dir(to / rel, dir_mode); !st) return st;
      continue;
    }
    if (!fs::is_regular_file(status) || !listing.contains(rel)) continue;  // not of the version
    fs::create_hard_link(it->path(), to / rel, ec);
    if (ec) {
      ec.clear();
      fs::copy_file(it->path(), to / rel, ec);
      if (ec) break;
    }
    ++linked;
  }
  if (ec) return Unexpected{disk_failure(ec, "cannot copy the previous version " + from.string())};
  if (linked != listing.size())
    return Unexpected{reject(
        RejectCode::target_error,
        "the published version " + from.string() + " lacks " +
            std::to_string(listing.size() - linked) + " of its files (see `fep-agent verify " +
            resource_id + "`); an incremental batch cannot apply to it, a full batch replaces it")};
  return {};
}

// Removes `deletes` from staging and the listing; returns the files removed.
Expected<uint64_t, ApplyFailure> apply_deletes(const std::vector<std::string>& deletes,
                                               const fs::path& staging, Listing& listing) {
  uint64_t removed = 0;
  for (const auto& d : deletes) {
    auto rel = archive::safe_relative_path(d);
    if (!rel) return Unexpected{reject(RejectCode::unsafe_path, "deletes: " + rel.error().message)};
    if (rel->empty())
      return Unexpected{reject(RejectCode::payload_invalid,
                               "deletes names the folder itself; a full batch replaces it whole")};
    // The file itself, then everything under it as a directory.
    removed += listing.erase(*rel);
    const std::string under = *rel + "/";
    for (auto it = listing.lower_bound(under);
         it != listing.end() && it->first.compare(0, under.size(), under) == 0;) {
      it = listing.erase(it);
      ++removed;
    }
    std::error_code ec;
    fs::remove_all(staging / *rel, ec);
    if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory)
      return Unexpected{disk_failure(ec, "cannot delete " + *rel)};
  }
  return removed;
}

// The regular files staging holds, walked without following links. Anything else is refused:
// extraction only makes files and directories.
Expected<std::set<std::string>, ApplyFailure> staged_files(const fs::path& staging) {
  std::set<std::string> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(staging, fs::directory_options::none, ec), end;
       !ec && it != end; it.increment(ec)) {
    const auto status = it->symlink_status(ec);
    if (ec) break;
    const auto rel = it->path().lexically_relative(staging).generic_string();
    if (fs::is_regular_file(status))
      files.insert(rel);
    else if (!fs::is_directory(status))
      return Unexpected{reject(
          RejectCode::unsafe_path,
          "the extracted folder holds \"" + rel + "\", which is neither a file nor a directory")};
  }
  if (ec) return Unexpected{disk_failure(ec, "cannot read " + staging.string())};
  return files;
}

// The regular files of a directory tree (the previous version when its listing is unreadable).
std::set<std::string> files_under(const fs::path& dir) {
  std::set<std::string> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
       !ec && it != end; it.increment(ec))
    if (it->symlink_status(ec).type() == fs::file_type::regular)
      files.insert(it->path().lexically_relative(dir).generic_string());
  return files;
}

Step check_free_space(const fs::path& dir, const FolderInfo& folder) {
  struct statvfs vs {};
  if (::statvfs(dir.c_str(), &vs) != 0)
    return Unexpected{disk_failure(
        errno, "cannot read the free space of " + dir.string() + ": " + std::strerror(errno))};
  const uint64_t free_bytes = static_cast<uint64_t>(vs.f_bavail) * vs.f_frsize;
  const uint64_t slack =
      folder.files > UINT64_MAX / kSlackPerFile / 2 ? UINT64_MAX / 2 : folder.files * kSlackPerFile;
  const uint64_t need =
      folder.bytes > UINT64_MAX / 4 ? UINT64_MAX : folder.bytes + slack + kSpaceMargin;
  if (free_bytes < need)
    return Unexpected{target_unavailable(
        "not enough free disk space in " + dir.string() + ": " + std::to_string(free_bytes) +
        " bytes free, the batch needs " + std::to_string(need) + " (folder.bytes " +
        std::to_string(folder.bytes) + ", room for " + std::to_string(folder.files) +
        " files and a 64 MiB margin); the resource is paused until a later run finds the space")};
  if (vs.f_files != 0 && vs.f_favail < folder.files + 1000)
    return Unexpected{target_unavailable("not enough free inodes in " + dir.string() + ": " +
                                         std::to_string(vs.f_favail) + " free, the batch has " +
                                         std::to_string(folder.files) + " files")};
  return {};
}

Step sync_filesystem(const fs::path& dir) {
  // One syncfs for the whole staging tree: an fsync per file would cost a journal commit each.
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::syncfs(fd) != 0) {
    const int e = errno;
    if (fd >= 0) ::close(fd);
    return Unexpected{disk_failure(e, "cannot sync " + dir.string() + ": " + std::strerror(e))};
  }
  ::close(fd);
  return {};
}

// Removes every version but `keep` (the one just published and the one before it, which a
// reader may still be walking), with their bookkeeping and any leftover staging folder.
void remove_old_versions(const Layout& layout, const std::set<std::string>& keep) {
  std::error_code ec;
  for (fs::directory_iterator it(layout.versions(), ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    const auto id = name.substr(0, name.find('~'));
    const bool staging = name.size() > 8 && name.ends_with("~staging");
    if (keep.contains(id) && !staging) continue;
    std::error_code rm;
    fs::remove_all(it->path(), rm);
    if (rm) spdlog::warn("cannot remove {}: {}", it->path().string(), rm.message());
  }
}

AppliedCounts counts_of(const folder::AppliedBatch& b, bool already) {
  AppliedCounts c;
  c.rows = static_cast<int64_t>(b.files);
  c.deleted = static_cast<int64_t>(b.deleted);
  c.bytes = static_cast<int64_t>(b.bytes);
  c.already_in_target = already;
  return c;
}

class FolderSink final : public BatchSink {
 public:
  explicit FolderSink(const TargetConfig& target) : target_(target) {}

  ResourceKind kind() const override { return ResourceKind::folder; }

  Expected<std::optional<AppliedCounts>, ApplyFailure> find_applied(
      const ResourceConfig& resource, const std::string& batch_id) override {
    const Layout layout = folder::layout_of(target_, resource);
    // Records read through a planted link would answer for a batch that was never applied.
    if (auto st = folder::check_no_links(target_.path, layout); !st)
      return Unexpected{target_unavailable(st.error().message)};
    auto current = folder::current_version(layout);
    if (!current) return Unexpected{retry_later(current.error().message)};
    if (current->state != Current::State::managed) return std::optional<AppliedCounts>{};
    auto record = folder::read_record(layout, current->batch_id);
    if (!record) {
      if (current->batch_id == batch_id)
        return Unexpected{
            target_unavailable("batch " + batch_id + " is published in " + layout.link().string() +
                               " but its bookkeeping cannot be read: " + record.error().message)};
      spdlog::warn("{}: {}", resource.id, record.error().message);
      return std::optional<AppliedCounts>{};
    }
    if (record->batch.batch_id == batch_id) return std::optional{counts_of(record->batch, true)};
    for (const auto& h : record->history)
      if (h.batch_id == batch_id) return std::optional{counts_of(h, true)};
    return std::optional<AppliedCounts>{};
  }

  Applied apply(const Manifest& m, const fs::path& payload,
                const ResourceConfig& resource) override;

 private:
  Step check_declared(const Manifest& m) const;

  const TargetConfig& target_;
};

Step FolderSink::check_declared(const Manifest& m) const {
  const auto& f = *m.folder;
  if (f.files > target_.max_entries)
    return Unexpected{reject(RejectCode::too_large,
                             "the manifest declares " + std::to_string(f.files) +
                                 " files; max_entries is " + std::to_string(target_.max_entries))};
  if (f.bytes > target_.max_total_bytes)
    return Unexpected{reject(RejectCode::too_large, "the manifest declares " +
                                                        std::to_string(f.bytes) +
                                                        " bytes; max_total_bytes is " +
                                                        std::to_string(target_.max_total_bytes))};
  if (f.bytes > archive::ratio_allowance(m.payload.size, target_.max_ratio))
    return Unexpected{reject(RejectCode::too_large,
                             "the manifest declares " + std::to_string(f.bytes) + " bytes from a " +
                                 std::to_string(m.payload.size) + "-byte payload; max_ratio is " +
                                 std::to_string(target_.max_ratio))};
  return {};
}

Applied FolderSink::apply(const Manifest& m, const fs::path& payload,
                          const ResourceConfig& resource) {
  if (!m.folder) return Unexpected{reject(RejectCode::manifest_invalid, "no folder object")};
  const FolderInfo& declared = *m.folder;
  const std::string& batch = m.batch_id;
  if (batch == "." || batch == "..")
    return Unexpected{reject(RejectCode::target_error,
                             "batch id \"" + batch + "\" cannot name a version folder")};
  if (auto st = check_declared(m); !st) return Unexpected{st.error()};

  // The folder as it is now.
  const Layout layout = folder::layout_of(target_, resource);
  if (auto st = folder::check_no_links(target_.path, layout); !st)
    return Unexpected{target_unavailable(st.error().message)};
  {
    std::error_code ec;
    fs::create_directories(layout.parent, ec);
    if (ec) return Unexpected{disk_failure(ec, "cannot create " + layout.parent.string())};
  }
  if (auto st = make_dir(layout.versions(), target_.dir_mode); !st) return Unexpected{st.error()};
  auto current = folder::current_version(layout);
  if (!current) return Unexpected{retry_later(current.error().message)};
  if (current->state == Current::State::foreign)
    return Unexpected{target_unavailable(
        layout.link().string() + " is " + current->detail +
        ", not a folder published by fep-agent (a symbolic link into " +
        layout.versions().string() + "); move it away and the resource resumes")};
  std::optional<std::string> previous;
  if (current->state == Current::State::managed) previous = current->batch_id;
  if (previous == batch) {
    // find_applied says so first; kept for a caller that did not ask.
    auto record = folder::read_record(layout, batch);
    if (record) return counts_of(record->batch, true);
  }
  std::optional<folder::VersionRecord> previous_record;
  std::optional<Listing> previous_listing;
  if (previous) {
    if (auto r = folder::read_record(layout, *previous)) previous_record = std::move(*r);
    auto l = folder::read_listing(layout, *previous);
    if (l)
      previous_listing = std::move(*l);
    else if (m.mode == BatchMode::incremental)
      return Unexpected{
          reject(RejectCode::target_error,
                 "the listing of the published version cannot be read (" + l.error().message +
                     "); an incremental batch cannot apply to it, a full batch replaces it")};
  }

  // Crash leftovers and the version before the previous one go first: they take space.
  remove_old_versions(layout, {previous.value_or(""), batch});
  if (auto st = check_free_space(layout.versions(), declared); !st) return Unexpected{st.error()};

  // Staging, beside the versions: same filesystem, so publishing is a rename.
  const fs::path staging = layout.staging(batch);
  if (auto st = make_dir(staging, target_.dir_mode); !st) return Unexpected{st.error()};
  StagingGuard guard(staging);

  Listing listing;
  uint64_t deleted = 0;
  if (m.mode == BatchMode::incremental) {
    if (previous) {
      listing = *previous_listing;
      if (auto st = copy_previous(layout.version(*previous), staging, listing, target_.dir_mode,
                                  resource.id);
          !st)
        return Unexpected{st.error()};
    }
    auto removed = apply_deletes(declared.deletes, staging, listing);
    if (!removed) return Unexpected{removed.error()};
    deleted = *removed;
  }

  archive::ExtractOptions options;
  options.format = m.payload.format;
  options.compression = m.payload.compression;
  options.payload_size = m.payload.size;
  options.limits = {target_.max_entries, target_.max_total_bytes, target_.max_file_bytes,
                    target_.max_ratio};
  options.declared_files = declared.files;
  options.declared_bytes = declared.bytes;
  options.file_mode = target_.file_mode;
  options.dir_mode = target_.dir_mode;
  auto extracted = archive::extract_folder(payload, staging, options);
  if (!extracted) return Unexpected{extract_failure(extracted.error(), staging)};
  report_progress(static_cast<int64_t>(extracted->files.size()));
  if (extracted->files.size() != declared.files || extracted->bytes != declared.bytes)
    return Unexpected{reject(RejectCode::payload_invalid,
                             "the archive holds " + std::to_string(extracted->files.size()) +
                                 " files, " + std::to_string(extracted->bytes) +
                                 " bytes; the manifest's folder.files and folder.bytes say " +
                                 std::to_string(declared.files) + " and " +
                                 std::to_string(declared.bytes))};
  for (auto& f : extracted->files) listing[f.path] = {f.size, std::move(f.sha256)};

  // What staging holds is the truth: an entry may have replaced a file by a directory.
  auto on_disk = staged_files(staging);
  if (!on_disk) return Unexpected{on_disk.error()};
  for (auto it = listing.begin(); it != listing.end();)
    it = on_disk->contains(it->first) ? std::next(it) : listing.erase(it);
  for (const auto& f : *on_disk)
    if (!listing.contains(f))
      return Unexpected{reject(RejectCode::target_error,
                               "the extracted folder holds \"" + f + "\", which is not listed")};
  // Incremental: the files `deletes` named that existed (counted above); a file that an entry
  // replaced by a directory is gone too, but the protocol does not count it.
  if (m.mode == BatchMode::full && previous) {
    // Full: the files present before that the new contents do not have.
    if (previous_listing) {
      for (const auto& [path, f] : *previous_listing) deleted += listing.contains(path) ? 0 : 1;
    } else {
      for (const auto& path : files_under(layout.version(*previous)))
        deleted += listing.contains(path) ? 0 : 1;
    }
  }

  // Bookkeeping first, then the version, then the link: until the link moves, nothing is
  // published and a crash leaves the old version in place.
  folder::VersionRecord record;
  record.batch = {batch, m.seq, declared.files, deleted, declared.bytes};
  record.resource_id = resource.id;
  record.mode = std::string(to_string(m.mode));
  record.applied_at = rfc3339_now();
  record.total_files = listing.size();
  for (const auto& [path, f] : listing) record.total_bytes += f.size;
  if (previous_record) {
    record.history = previous_record->history;
    record.history.push_back(previous_record->batch);
    if (record.history.size() > folder::kHistory)
      record.history.erase(record.history.begin(),
                           record.history.end() - static_cast<long>(folder::kHistory));
  }
  if (auto st = folder::write_listing(layout, batch, listing); !st)
    return Unexpected{bookkeeping_failure(st.error().message)};
  if (auto st = folder::write_record(layout, record); !st)
    return Unexpected{bookkeeping_failure(st.error().message)};
  if (auto st = sync_filesystem(staging); !st) return Unexpected{st.error()};

  std::error_code ec;
  fs::remove_all(layout.version(batch), ec);  // an earlier attempt that never got published
  fs::rename(staging, layout.version(batch), ec);
  if (ec) return Unexpected{disk_failure(ec, "cannot rename " + staging.string())};
  guard.release();
  if (current->state == Current::State::empty_dir) {
    // rename(2) cannot put a link over a directory; this one is empty.
    fs::remove(layout.link(), ec);
    if (ec) return Unexpected{disk_failure(ec, "cannot replace " + layout.link().string())};
  }
  if (auto st = folder::publish(layout, batch); !st)
    return Unexpected{bookkeeping_failure(st.error().message)};
  remove_old_versions(layout, {batch, previous.value_or("")});
  return counts_of(record.batch, false);
}

std::string file_sha256(const fs::path& path, std::string& error) {
  auto digest = sha256_file(path);
  if (!digest) {
    error = digest.error().message;
    return "";
  }
  return *digest;
}

}  // namespace

std::unique_ptr<BatchSink> make_folder_sink(const TargetConfig& target) {
  return std::make_unique<FolderSink>(target);
}

Expected<FolderVerification> verify_folder(const TargetConfig& target,
                                           const ResourceConfig& resource) {
  const Layout layout = folder::layout_of(target, resource);
  auto current = folder::current_version(layout);
  if (!current) return fail(current.error().message);
  if (current->state != Current::State::managed)
    return fail(layout.link().string() +
                (current->state == Current::State::foreign
                     ? " is " + current->detail + ", not a folder published by fep-agent"
                     : ": no batch of " + resource.id + " has been published there yet"));
  auto record = folder::read_record(layout, current->batch_id);
  if (!record) return fail(record.error().message);
  auto listing = folder::read_listing(layout, current->batch_id);
  if (!listing) return fail(listing.error().message);

  FolderVerification v;
  v.batch_id = current->batch_id;
  v.seq = record->batch.seq;
  v.applied_at = record->applied_at;
  v.files = listing->size();
  for (const auto& [path, f] : *listing) v.bytes += f.size;

  using Kind = FolderDifference::Kind;
  const fs::path root = layout.version(current->batch_id);
  std::set<std::string> seen;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
       !ec && it != end; it.increment(ec)) {
    const auto status = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_directory(status)) continue;
    const auto rel = it->path().lexically_relative(root).generic_string();
    const auto listed = listing->find(rel);
    if (!fs::is_regular_file(status) || listed == listing->end()) {
      v.differences.push_back({Kind::unexpected, rel,
                               fs::is_symlink(status)        ? "a symbolic link"
                               : fs::is_regular_file(status) ? ""
                                                             : "neither a file nor a directory"});
      continue;
    }
    seen.insert(rel);
    const auto size = fs::file_size(it->path(), ec);
    if (ec) break;
    if (size != listed->second.size) {
      v.differences.push_back(
          {Kind::changed, rel,
           "size " + std::to_string(size) + ", recorded " + std::to_string(listed->second.size)});
      continue;
    }
    std::string error;
    const auto digest = file_sha256(it->path(), error);
    if (!error.empty()) return fail(error);
    if (digest != listed->second.sha256)
      v.differences.push_back({Kind::changed, rel, "content differs from the recorded sha256"});
  }
  if (ec) return fail("cannot read " + root.string() + ": " + ec.message());
  for (const auto& [path, f] : *listing)
    if (!seen.contains(path)) v.differences.push_back({Kind::missing, path, ""});
  std::sort(v.differences.begin(), v.differences.end(),
            [](const auto& a, const auto& b) { return a.path < b.path; });
  return v;
}

std::string format_verification(const ResourceConfig& resource, const FolderVerification& v) {
  std::string out = resource.id + ": version " + v.batch_id + " (seq " + std::to_string(v.seq) +
                    ", applied " + v.applied_at + "), " + std::to_string(v.files) + " files, " +
                    std::to_string(v.bytes) + " bytes: ";
  if (v.ok()) return out + "OK\n";
  out += std::to_string(v.differences.size()) +
         (v.differences.size() == 1 ? " difference\n" : " differences\n");
  for (const auto& d : v.differences) {
    switch (d.kind) {
      case FolderDifference::Kind::changed:
        out += "changed    ";
        break;
      case FolderDifference::Kind::missing:
        out += "missing    ";
        break;
      case FolderDifference::Kind::unexpected:
        out += "unexpected ";
        break;
    }
    out += d.path;
    if (!d.detail.empty()) out += "  (" + d.detail + ")";
    out += '\n';
  }
  return out;
}

}  // namespace fep
