// One pass of the sync: subscriptions, then every configured resource's new batches in seq
// order (manifest, payload, apply, outcome with its receipt), then the receipt outbox.
#pragma once

#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/base/shutdown.h"
#include "agent/config/config.h"
#include "agent/exchange/exchange_client.h"
#include "agent/store/state_store.h"
#include "agent/sync/batch_sink.h"
#include "agent/sync/progress.h"
#include "agent/sync/receipt_outbox.h"
#include "agent/sync/sync_summary.h"

namespace fep {

class SyncRunner {
 public:
  // `progress`, when given, shows the batch at hand while it downloads and applies.
  SyncRunner(const Config& config, store::StateStore& store, ExchangeClient& exchange,
             const StopSource& stop, ProgressBoard* progress = nullptr);
  ~SyncRunner();

  // Syncs every configured resource, or only `only_resource`.
  SyncSummary run_once(const std::optional<std::string>& only_resource);

  // The pieces the daemon schedules separately: fetch the subscription list into the state
  // store (false when the exchange could not be asked); sync one resource by the subscription
  // stored for it; post pending receipts.
  bool refresh_subscriptions(SyncSummary& summary);
  void sync_subscribed(const ResourceConfig& resource, SyncSummary& summary);
  void deliver_receipts(SyncSummary& summary) { outbox_.deliver(summary); }

 private:
  enum class BatchResult { done, rejected, stop };
  void sync_resource(const ResourceConfig& resource, SyncSummary& summary);
  // Every batch listed after seq `after`, across pages, in ascending seq order.
  Expected<std::vector<BatchListing>> list_new_batches(const std::string& resource_id,
                                                       int64_t after);
  BatchResult process_batch(const ResourceConfig& resource, const BatchListing& listing,
                            const BatchListing* next, SyncSummary& summary);
  // Downloads `listing`'s payload into its spool file in the background.
  std::future<void> prefetch(const ResourceConfig& resource, const BatchListing& listing);
  Status finish_batch(const ResourceConfig& resource, const BatchListing& listing,
                      ResourceKind kind, std::string_view status, const AppliedCounts& counts,
                      const std::optional<std::string>& payload_sha256,
                      const std::optional<Rejection>& error);
  BatchSink& sink(const TargetConfig& target);
  void note_error(SyncSummary& summary, const std::string& resource_id, const std::string& message);
  // The target could not answer or take a batch now: nothing of it was applied. A target that
  // cannot take writes (disk full, read-only, a planted link) pauses the resource until it can.
  void note_target_trouble(SyncSummary& summary, const std::string& resource_id,
                           const ApplyFailure& failure);
  std::filesystem::path spool_path(const std::string& batch_id) const;

  const Config& config_;
  store::StateStore& store_;
  ExchangeClient& exchange_;
  const StopSource& stop_;
  ReceiptOutbox outbox_;
  ProgressBoard* progress_;
  std::map<std::string, std::unique_ptr<BatchSink>> sinks_;
};

}  // namespace fep
