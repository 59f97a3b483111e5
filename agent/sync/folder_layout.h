// Where a folder resource lives on disk, and the bookkeeping kept beside its versions
// (docs/folders.md):
//
//   <target path>/<resource path>                      symlink -> .<name>.versions/<batch_id>
//   <target path>/.<name>.versions/<batch_id>/          the files of one version
//   <target path>/.<name>.versions/<batch_id>~.json     the batch, its counts, the history
//   <target path>/.<name>.versions/<batch_id>~.files    "<sha256> <size> <path>" per file
//   <target path>/.<name>.versions/<batch_id>~staging/  while the batch is being applied
//
// '~' is outside the protocol's id alphabet, so bookkeeping never collides with a version.
// (<resource path> may have several components; the link and .<name>.versions then sit in its
// parent folder.) The link is the commit record: a batch has landed exactly when the link
// points at its version.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "adapters/base/expected.h"
#include "agent/config/config.h"

namespace fep::folder {

struct Layout {
  std::filesystem::path parent;  // the folder that holds the link
  std::string name;              // the link's name: the last component of the resource path

  std::filesystem::path link() const { return parent / name; }
  std::filesystem::path versions() const { return parent / ("." + name + ".versions"); }
  std::filesystem::path version(const std::string& batch_id) const { return versions() / batch_id; }
  std::filesystem::path staging(const std::string& batch_id) const {
    return versions() / (batch_id + "~staging");
  }
  std::filesystem::path record_file(const std::string& batch_id) const {
    return versions() / (batch_id + "~.json");
  }
  std::filesystem::path listing_file(const std::string& batch_id) const {
    return versions() / (batch_id + "~.files");
  }
  // Relative, so that the whole target folder can be moved or mounted elsewhere.
  std::string link_text(const std::string& batch_id) const {
    return "." + name + ".versions/" + batch_id;
  }
};

// The resource's `path`, else its id, below the target's path.
Layout layout_of(const TargetConfig& target, const ResourceConfig& resource);

// Every folder between the target's path and the link, and the versions folder, must be a real
// directory where it exists: a symbolic link planted there by another local user would take
// the agent's writes and deletions elsewhere. Says which one is not.
Status check_no_links(const std::filesystem::path& root, const Layout& layout);

struct ListedFile {
  uint64_t size = 0;
  std::string sha256;
};
// Every regular file of a version, by its relative path.
using Listing = std::map<std::string, ListedFile>;

// One applied batch and the counts its receipt carried.
struct AppliedBatch {
  std::string batch_id;
  int64_t seq = 0;
  uint64_t files = 0;  // files written
  uint64_t deleted = 0;
  uint64_t bytes = 0;  // bytes written
};

struct VersionRecord {
  AppliedBatch batch;
  std::string resource_id;
  std::string mode;  // full | incremental
  std::string applied_at;
  uint64_t total_files = 0;  // the whole folder after this batch
  uint64_t total_bytes = 0;
  std::vector<AppliedBatch> history;  // the batches before, oldest first, at most kHistory
};
inline constexpr size_t kHistory = 100;

// What is at the resource's path now.
struct Current {
  enum class State {
    absent,     // nothing: no batch has landed
    managed,    // our symlink; batch_id is the version it points at
    empty_dir,  // an empty directory (made by hand): replaced by the first version
    foreign,    // anything else: not ours to replace
  };
  State state = State::absent;
  std::string batch_id;
  std::string detail;  // for foreign: what is there
};
Expected<Current> current_version(const Layout& layout);

Expected<VersionRecord> read_record(const Layout& layout, const std::string& batch_id);
Expected<Listing> read_listing(const Layout& layout, const std::string& batch_id);
// Both written to a temporary file, fsynced and renamed into place.
Status write_record(const Layout& layout, const VersionRecord& record);
Status write_listing(const Layout& layout, const std::string& batch_id, const Listing& listing);

// Points the link at `batch_id`'s version: the versions folder fsynced (the version's rename),
// a new symlink renamed over the old one (rename(2) is atomic), then the parent folder fsynced.
Status publish(const Layout& layout, const std::string& batch_id);

}  // namespace fep::folder
