#include "agent/sync/folder_sink.h"

namespace fep {
namespace {

// Folder delivery is not implemented yet: every batch waits, none is rejected.
class UnsupportedFolderSink final : public BatchSink {
 public:
  ResourceKind kind() const override { return ResourceKind::folder; }
  Expected<std::optional<AppliedCounts>, ApplyFailure> find_applied(const ResourceConfig&,
                                                                    const std::string&) override {
    return Unexpected{target_unavailable("folder resources are not supported by this version")};
  }
  Expected<AppliedCounts, ApplyFailure> apply(const Manifest&, const std::filesystem::path&,
                                              const ResourceConfig&) override {
    return Unexpected{target_unavailable("folder resources are not supported by this version")};
  }
};

}  // namespace

std::unique_ptr<BatchSink> make_folder_sink(const TargetConfig&) {
  return std::make_unique<UnsupportedFolderSink>();
}

}  // namespace fep
