// The exchange's on-disk root: subscriptions, published batches, receipts and logs.
//
//   ROOT/subscriptions.json                      {"subscriptions": [<protocol objects>]}
//   ROOT/resources/<R>/batches/<seq %010d>/      one published batch (immutable)
//       batch.json       the listing entry (batch_id, seq, kind, mode, created_at, size, sha256)
//       manifest.json    the exact manifest bytes served
//       payload          the exact payload bytes served
//       signature.json   optional, served as is by /signature
//   ROOT/receipts/<batch_id>.json                the accepted receipt of a batch
//   ROOT/receipts.log                            every receipt POST and its answer (JSON lines)
//   ROOT/heartbeats.jsonl                        every heartbeat POST and its answer (JSON lines)
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/base/expected.h"
#include "adapters/base/utf8.h"

namespace fep::sim {

namespace fs = std::filesystem;

struct Subscription {
  std::string resource_id;
  std::string name;
  std::string kind = "table";
  std::string provider;
  std::string share_type = "unconditional";
  std::string status = "approved";
};

nlohmann::ordered_json to_json(const Subscription& s);

// A batch as the listing describes it. Kept in batch.json, apart from the manifest, so a test can
// replace the served manifest bytes by hand without changing what the listing says.
struct BatchInfo {
  std::string batch_id;
  std::string resource_id;
  std::int64_t seq = 0;
  std::string kind;
  std::string mode;
  std::string created_at;
  std::uint64_t size = 0;
  std::string sha256;
  fs::path dir;  // not stored: where the batch lives
};

nlohmann::ordered_json to_json(const BatchInfo& b);

// Filesystem queries that report errors instead of throwing. A missing path is not an error.
Expected<bool> path_exists(const fs::path& path);
Expected<bool> dir_exists(const fs::path& path);
// The entries of a directory, in no particular order.
Expected<std::vector<fs::directory_entry>> list_dir(const fs::path& dir);

struct BatchPage {
  std::vector<BatchInfo> batches;
  bool more = false;
};

class Store {
 public:
  explicit Store(fs::path root) : root_(std::move(root)) {}

  const fs::path& root() const { return root_; }
  fs::path subscriptions_file() const { return root_ / "subscriptions.json"; }
  fs::path batches_dir(std::string_view resource_id) const;
  fs::path batch_dir(std::string_view resource_id, std::int64_t seq) const;
  fs::path receipts_dir() const { return root_ / "receipts"; }
  fs::path receipts_log() const { return root_ / "receipts.log"; }
  fs::path heartbeats_log() const { return root_ / "heartbeats.jsonl"; }

  // All subscriptions, in file order; none when the file does not exist yet.
  Expected<std::vector<Subscription>> subscriptions() const;
  Status save_subscriptions(const std::vector<Subscription>& subs) const;
  Expected<std::optional<Subscription>> subscription(std::string_view resource_id) const;

  // The seqs of a resource's published batches, ascending (from the folder names).
  Expected<std::vector<std::int64_t>> seqs(std::string_view resource_id) const;
  Expected<BatchInfo> read_batch(const fs::path& dir) const;
  // Batches with seq > after, ascending, at most `limit`.
  Expected<BatchPage> list_batches(std::string_view resource_id, std::int64_t after,
                                   std::size_t limit) const;
  // Finds a batch of any resource by id. Thread-safe; sees batches published since the last call.
  Expected<std::optional<BatchInfo>> find_batch(std::string_view batch_id);

  // Appends one line (a newline is added) and syncs it. Thread-safe.
  Status append_line(const fs::path& file, std::string_view line);

 private:
  Status rescan();  // caller holds mu_

  fs::path root_;
  std::mutex mu_;
  std::map<std::string, fs::path, std::less<>> index_;
  std::set<fs::path> indexed_dirs_;
};

}  // namespace fep::sim
