#include "agent/sync/folder_layout.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>

#include "adapters/base/files.h"

namespace fep::folder {
namespace fs = std::filesystem;
namespace {

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

Status fsync_dir(const fs::path& dir) {
  UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.fd < 0 || ::fsync(d.fd) != 0) return fail(errno_text("cannot fsync " + dir.string()));
  return {};
}

// Writes what `fill` appends, block by block, to a temporary file; fsyncs it and renames it over
// `path` (the listing of a large folder is never held whole).
template <class Fill>
Status write_atomic(const fs::path& path, Fill fill) {
  const auto tmp = path.string() + ".tmp";
  {
    UniqueFd f(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
    if (f.fd < 0) return fail(errno_text("cannot create " + tmp));
    std::string block;
    auto flush = [&]() -> bool {
      size_t done = 0;
      while (done < block.size()) {
        const ssize_t n = ::write(f.fd, block.data() + done, block.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        done += static_cast<size_t>(n);
      }
      block.clear();
      return true;
    };
    bool ok = true;
    fill(block, [&] {
      if (ok && block.size() >= (1 << 20)) ok = flush();
    });
    if (!ok || !flush()) return fail(errno_text("cannot write " + tmp));
    if (::fsync(f.fd) != 0) return fail(errno_text("cannot fsync " + tmp));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return fail(errno_text("cannot rename " + tmp + " to " + path.string()));
  return fsync_dir(path.parent_path());
}

nlohmann::json to_json(const AppliedBatch& b) {
  return {{"batch_id", b.batch_id},
          {"seq", b.seq},
          {"files", b.files},
          {"deleted", b.deleted},
          {"bytes", b.bytes}};
}

AppliedBatch applied_from(const nlohmann::json& j) {
  AppliedBatch b;
  b.batch_id = j.at("batch_id").get<std::string>();
  b.seq = j.at("seq").get<int64_t>();
  b.files = j.at("files").get<uint64_t>();
  b.deleted = j.at("deleted").get<uint64_t>();
  b.bytes = j.at("bytes").get<uint64_t>();
  return b;
}

}  // namespace

Layout layout_of(const TargetConfig& target, const ResourceConfig& resource) {
  // The config checked the path: relative, no "..".
  fs::path rel = fs::path(resource.path.value_or(resource.id)).lexically_normal();
  if (!rel.has_filename()) rel = rel.parent_path();  // "a/" -> "a"
  return {(target.path / rel).parent_path(), rel.filename().string()};
}

Status check_no_links(const fs::path& root, const Layout& layout) {
  std::vector<fs::path> folders;
  fs::path folder = root;
  for (const auto& part : layout.parent.lexically_relative(root)) {
    if (part == ".") continue;
    folder /= part;
    folders.push_back(folder);
  }
  folders.push_back(layout.versions());
  for (const auto& path : folders) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;  // created later, as a real directory
      return fail(errno_text("cannot look at " + path.string()));
    }
    if (S_ISLNK(st.st_mode))
      return fail(path.string() +
                  " is a symbolic link; fep-agent writes only into real directories: move it "
                  "away and the resource resumes");
    if (!S_ISDIR(st.st_mode))
      return fail(path.string() + " is not a directory; move it away and the resource resumes");
  }
  return {};
}

Expected<Current> current_version(const Layout& layout) {
  struct stat st {};
  if (::lstat(layout.link().c_str(), &st) != 0) {
    if (errno == ENOENT) return Current{};
    return fail(errno_text("cannot look at " + layout.link().string()));
  }
  if (S_ISDIR(st.st_mode)) {
    std::error_code ec;
    const bool empty = fs::is_empty(layout.link(), ec);
    if (ec) return fail("cannot read " + layout.link().string() + ": " + ec.message());
    if (empty) return Current{Current::State::empty_dir, "", ""};
    return Current{Current::State::foreign, "", "a directory with files in it"};
  }
  if (!S_ISLNK(st.st_mode)) return Current{Current::State::foreign, "", "not a directory"};
  std::error_code ec;
  const auto target = fs::read_symlink(layout.link(), ec);
  if (ec) return fail("cannot read the link " + layout.link().string() + ": " + ec.message());
  const std::string text = target.string();
  const std::string prefix = layout.link_text("");
  if (text.rfind(prefix, 0) != 0 || text.size() == prefix.size() ||
      text.find('/', prefix.size()) != std::string::npos)
    return Current{Current::State::foreign, "", "a symbolic link to " + text};
  return Current{Current::State::managed, text.substr(prefix.size()), ""};
}

Expected<VersionRecord> read_record(const Layout& layout, const std::string& batch_id) {
  const auto path = layout.record_file(batch_id);
  auto text = read_file(path, kMaxOwnFileBytes);
  if (!text) return fail(text.error().message);
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) return fail(path.string() + ": not JSON");
  try {
    VersionRecord r;
    r.batch = applied_from(j.at("batch"));
    r.resource_id = j.at("resource_id").get<std::string>();
    r.mode = j.at("mode").get<std::string>();
    r.applied_at = j.at("applied_at").get<std::string>();
    r.total_files = j.at("total_files").get<uint64_t>();
    r.total_bytes = j.at("total_bytes").get<uint64_t>();
    for (const auto& h : j.at("history")) r.history.push_back(applied_from(h));
    return r;
  } catch (const nlohmann::json::exception& e) {
    return fail(path.string() + ": " + e.what());
  }
}

Status write_record(const Layout& layout, const VersionRecord& r) {
  nlohmann::json history = nlohmann::json::array();
  for (const auto& h : r.history) history.push_back(to_json(h));
  nlohmann::json j = {{"batch", to_json(r.batch)},
                      {"resource_id", r.resource_id},
                      {"mode", r.mode},
                      {"applied_at", r.applied_at},
                      {"total_files", r.total_files},
                      {"total_bytes", r.total_bytes},
                      {"history", std::move(history)}};
  const std::string text = j.dump(1) + "\n";
  return write_atomic(layout.record_file(r.batch.batch_id),
                      [&](std::string& block, auto) { block = text; });
}

Expected<Listing> read_listing(const Layout& layout, const std::string& batch_id) {
  const auto path = layout.listing_file(batch_id);
  auto text = read_file(path, kMaxOwnFileBytes);
  if (!text) return fail(text.error().message);
  Listing listing;
  std::string_view rest(*text);
  size_t line_no = 0;
  while (!rest.empty()) {
    ++line_no;
    const size_t nl = rest.find('\n');
    const auto line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    if (line.empty() || line.front() == '#') continue;
    // Paths hold no control characters (they were checked), so a line is one file.
    const size_t a = line.find(' ');
    const size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
    ListedFile f;
    if (b == std::string_view::npos || a != 64 ||
        std::from_chars(line.data() + a + 1, line.data() + b, f.size).ptr != line.data() + b ||
        b + 1 >= line.size())
      return fail(path.string() + ":" + std::to_string(line_no) +
                  ": not \"<sha256> <size> <path>\"");
    f.sha256 = std::string(line.substr(0, a));
    listing.emplace(std::string(line.substr(b + 1)), std::move(f));
  }
  return listing;
}

Status write_listing(const Layout& layout, const std::string& batch_id, const Listing& listing) {
  return write_atomic(layout.listing_file(batch_id), [&](std::string& block, auto flush) {
    block += "# fep-agent folder listing v1: <sha256> <size> <path>\n";
    for (const auto& [path, f] : listing) {
      block += f.sha256;
      block += ' ';
      block += std::to_string(f.size);
      block += ' ';
      block += path;
      block += '\n';
      flush();
    }
  });
}

Status publish(const Layout& layout, const std::string& batch_id) {
  // The version's rename into the versions folder first reaches the disk: a link that survives
  // a power cut must not name a version that did not.
  if (auto st = fsync_dir(layout.versions()); !st) return st;
  const auto tmp = layout.parent / ("." + layout.name + ".link~");
  std::error_code ec;
  fs::remove(tmp, ec);  // a leftover of a crash between the two calls below
  if (::symlink(layout.link_text(batch_id).c_str(), tmp.c_str()) != 0)
    return fail(errno_text("cannot create the link " + tmp.string()));
  if (::rename(tmp.c_str(), layout.link().c_str()) != 0) {
    const auto message =
        errno_text("cannot rename " + tmp.string() + " to " + layout.link().string());
    fs::remove(tmp, ec);
    return fail(message);
  }
  return fsync_dir(layout.parent);
}

}  // namespace fep::folder
