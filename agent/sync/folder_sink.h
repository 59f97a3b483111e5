// Applies folder batches (tar or zip archives) into <target path>/<resource path>: each batch
// becomes a new version directory, published by swapping a symlink (docs/folders.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "adapters/base/expected.h"
#include "agent/config/config.h"
#include "agent/sync/batch_sink.h"

namespace fep {

// `target` must outlive the sink.
std::unique_ptr<BatchSink> make_folder_sink(const TargetConfig& target);

// One way the published folder differs from the listing recorded when it was published.
struct FolderDifference {
  enum class Kind {
    changed,     // a listed file whose size or sha256 is no longer the one recorded
    missing,     // a listed file that is gone
    unexpected,  // a file (or link, device...) in the folder that the listing does not have
  };
  Kind kind = Kind::changed;
  std::string path;    // relative to the resource's folder
  std::string detail;  // e.g. "size 10, recorded 12"; empty when the kind says it all
};

struct FolderVerification {
  std::string batch_id;  // the version checked: the batch the folder's link points at
  int64_t seq = 0;
  std::string applied_at;
  uint64_t files = 0;  // recorded in the listing
  uint64_t bytes = 0;
  std::vector<FolderDifference> differences;  // sorted by path
  bool ok() const { return differences.empty(); }
};

// Re-reads every file of the resource's published folder and compares it with the listing
// recorded when that version was published (sizes and sha256). An error when nothing was
// published yet or the bookkeeping cannot be read.
Expected<FolderVerification> verify_folder(const TargetConfig& target,
                                           const ResourceConfig& resource);

// The report `fep-agent verify RESOURCE` prints (docs/folders.md): a summary line, then one
// line per difference: "changed    <path>  (<detail>)", "missing    <path>",
// "unexpected <path>". The command should exit 0 when ok(), 2 when there are differences and
// 1 on an error.
std::string format_verification(const ResourceConfig& resource,
                                const FolderVerification& verification);

}  // namespace fep
