#include "agent/sync/sync_runner.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "adapters/base/clock.h"
#include "adapters/base/digest.h"
#include "adapters/base/files.h"
#include "agent/exchange/manifest_signature.h"
#include "agent/sync/payload_check.h"
#include "agent/sync/receipt.h"

namespace fep {
namespace {

constexpr int kListingPageSize = 100;

store::BatchRow listed_row(const std::string& resource_id, const BatchListing& b) {
  return {
      b.batch_id, resource_id,
      b.seq,      std::string(to_string(b.mode)),
      "",         b.created_at.empty() ? std::nullopt : std::optional<std::string>(b.created_at)};
}

// The local target refused the batch: the operator may be able to fix the target (a table
// changed by hand, a local constraint, permissions) and retry. Problems of the batch itself
// are rejected at once: the provider has to know.
bool held_for_operator(RejectCode code) {
  return code == RejectCode::schema_mismatch || code == RejectCode::constraint_violation ||
         code == RejectCode::target_error;
}

}  // namespace

SyncRunner::SyncRunner(const Config& config, store::StateStore& store, ExchangeClient& exchange,
                       const StopSource& stop, ProgressBoard* progress)
    : config_(config),
      store_(store),
      exchange_(exchange),
      stop_(stop),
      outbox_(config, store, exchange, stop),
      progress_(progress) {}

SyncRunner::~SyncRunner() = default;

void SyncRunner::note_error(SyncSummary& summary, const std::string& resource_id,
                            const std::string& message) {
  record_error(store_, summary, resource_id, message);
}

void SyncRunner::note_target_trouble(SyncSummary& summary, const std::string& resource_id,
                                     const ApplyFailure& failure) {
  note_error(summary, resource_id, failure.rejection.message);
  if (failure.kind == ApplyFailure::Kind::unavailable)
    (void)store_.set_resource_state(resource_id, store::kPaused, failure.rejection.message);
}

std::filesystem::path SyncRunner::spool_path(const std::string& batch_id) const {
  return config_.state_dir / "spool" / (batch_id + ".payload");
}

BatchSink& SyncRunner::sink(const TargetConfig& target) {
  auto& sink = sinks_[target.name];
  if (!sink) sink = make_sink(target);
  return *sink;
}

SyncSummary SyncRunner::run_once(const std::optional<std::string>& only_resource) {
  SyncSummary summary;
  if (only_resource && !config_.find_resource(*only_resource)) {
    summary.errors.push_back("resource " + *only_resource + " is not in the configuration");
    return summary;
  }
  outbox_.deliver(summary);  // earlier runs' receipts go first
  if (!refresh_subscriptions(summary)) return summary;
  for (const auto& resource : config_.resources) {
    if (stop_.stop_requested()) break;
    if (only_resource && resource.id != *only_resource) continue;
    sync_subscribed(resource, summary);
  }
  outbox_.deliver(summary);
  return summary;
}

bool SyncRunner::refresh_subscriptions(SyncSummary& summary) {
  auto subscriptions = exchange_.subscriptions();
  if (!subscriptions) {
    note_error(summary, "", subscriptions.error().message);
    // The node's token or id was refused: no resource can sync until the operator acts.
    if (subscriptions.error().failure == Failure::credentials)
      for (const auto& resource : config_.resources)
        (void)store_.set_resource_state(resource.id, store::kError, subscriptions.error().message);
    return false;
  }
  for (const auto& resource : config_.resources) {
    auto it = std::find_if(subscriptions->begin(), subscriptions->end(),
                           [&](const auto& s) { return s.resource_id == resource.id; });
    store::Subscription s =
        it != subscriptions->end() ? *it : store::Subscription{resource.id, "", "",
                                                               "",          "", "not subscribed"};
    if (auto st = store_.upsert_subscription(s); !st)
      note_error(summary, resource.id, st.error().message);
  }
  return true;
}

void SyncRunner::sync_subscribed(const ResourceConfig& resource, SyncSummary& summary) {
  auto row = store_.resource(resource.id);
  if (!row || !*row) {
    note_error(summary, resource.id, row ? "no subscription information yet" : row.error().message);
    return;
  }
  const std::string& status = (*row)->subscription.status;
  if (status == "not subscribed") {
    note_error(summary, resource.id,
               "the exchange lists no subscription for this resource: subscribe to it on the "
               "platform or remove it from the configuration");
    return;
  }
  if (status != "approved") {
    std::string why =
        "subscription is " + status +
        (status == "revoked" ? " on the exchange; the local copy is kept"
                             : " on the exchange; nothing is synced until it is approved");
    (void)store_.set_resource_state(resource.id, store::kPaused, why);
    spdlog::warn("{}: {}", resource.id, why);
    return;
  }
  sync_resource(resource, summary);
}

void SyncRunner::sync_resource(const ResourceConfig& resource, SyncSummary& summary) {
  auto row = store_.resource(resource.id);
  if (!row || !*row) {
    note_error(summary, resource.id,
               row ? "resource missing from the state database" : row.error().message);
    return;
  }
  if ((*row)->state == store::kBlocked) {
    summary.blocked = true;
    spdlog::warn("{}: blocked: {}", resource.id, (*row)->last_error.value_or(""));
    // Nothing is applied, but what the platform publishes meanwhile is recorded as listed, so
    // that status shows the whole backlog and its lag. A failed listing changes nothing here.
    auto waiting = list_new_batches(resource.id, (*row)->last_seq.value_or(0));
    if (!waiting) {
      spdlog::debug("{}: listing while blocked: {}", resource.id, waiting.error().message);
      return;
    }
    for (const auto& b : *waiting)
      if (auto st = store_.record_listed(listed_row(resource.id, b)); !st)
        return note_error(summary, resource.id, st.error().message);
    return;
  }
  const TargetConfig* target = config_.find_target(resource.target);
  const std::string& kind = (*row)->subscription.kind;
  const std::string_view wanted = to_string(sink(*target).kind());
  if (kind != wanted) {
    note_error(summary, resource.id,
               "a " + (kind.empty() ? std::string("?") : kind) +
                   " resource cannot be synced into target " + target->name + ", which takes " +
                   std::string(wanted) + " resources");
    return;
  }
  (void)store_.set_resource_state(resource.id, store::kSyncing, std::nullopt);

  auto listed = list_new_batches(resource.id, (*row)->last_seq.value_or(0));
  if (!listed) return note_error(summary, resource.id, listed.error().message);
  std::vector<BatchListing> batches = std::move(*listed);

  // Batches older than the newest full one are replaced by it: no need to download them.
  size_t first_to_apply = 0;
  bool full_listed = false;
  for (size_t i = batches.size(); i-- > 0;)
    if (batches[i].mode == BatchMode::full) {
      first_to_apply = i;
      full_listed = true;
      break;
    }
  // After `fep-agent resync`, nothing is applied until a full batch replaces everything.
  auto backlog = store_.backlog(resource.id);
  const bool resync = backlog && backlog->resync_requested;
  if (resync && !full_listed) {
    for (const auto& b : batches)  // listed, so that status shows what waits
      (void)store_.record_listed(listed_row(resource.id, b));
    const std::string why = "resync: waiting for the next full batch (" +
                            std::to_string(batches.size()) + " incremental batches wait)";
    (void)store_.set_resource_state(resource.id, store::kPaused, why);
    spdlog::info("{}: {}", resource.id, why);
    return;
  }

  for (size_t i = 0; i < batches.size(); ++i) {
    if (stop_.stop_requested()) return;
    const auto& b = batches[i];
    auto known = store_.batch(b.batch_id);
    if (!known) {
      note_error(summary, resource.id, known.error().message);
      return;
    }
    if (*known && (*known)->has_outcome()) {
      // Decided before (e.g. a run that stopped before moving last_seq): never decide twice.
      if ((*known)->state == "rejected" && !resync) {
        summary.blocked = true;
        return;
      }
      continue;
    }
    if (auto st = store_.record_listed(listed_row(resource.id, b)); !st) {
      note_error(summary, resource.id, st.error().message);
      return;
    }
    if (i < first_to_apply) {
      // A batch the target already holds (a crash came between its commit and ours) was seen
      // by readers: process_batch below answers it as applied, never as superseded.
      BatchSink& into = sink(*config_.find_target(resource.target));
      auto found = into.find_applied(resource, b.batch_id);
      if (!found) {
        note_target_trouble(summary, resource.id, found.error());
        return;
      }
      if (!*found) {
        if (auto st = finish_batch(resource, b, into.kind(), "superseded", {}, std::nullopt,
                                   std::nullopt);
            !st) {
          note_error(summary, resource.id, st.error().message);
          return;
        }
        std::error_code ec;  // an earlier run's prefetch may have left its payload
        std::filesystem::remove(spool_path(b.batch_id), ec);
        ++summary.superseded;
        continue;
      }
    }
    const BatchListing* next = i + 1 < batches.size() ? &batches[i + 1] : nullptr;
    auto result = process_batch(resource, b, next, summary);
    if (result == BatchResult::rejected) {
      summary.blocked = true;
      return;
    }
    if (result == BatchResult::stop) return;
  }
  (void)store_.set_resource_state(resource.id, store::kIdle, std::nullopt);
}

Expected<std::vector<BatchListing>> SyncRunner::list_new_batches(const std::string& resource_id,
                                                                 int64_t after) {
  std::vector<BatchListing> batches;
  for (;;) {
    auto page = exchange_.list_batches(resource_id, after, kListingPageSize);
    if (!page) return fail(page.error().message);
    for (auto& b : page->batches) {
      // Ascending and after `after`, across pages too: otherwise progress could go backwards.
      const int64_t floor = batches.empty() ? after : batches.back().seq;
      if (b.seq <= floor)
        return fail("the exchange listed batch " + b.batch_id + " with seq " +
                    std::to_string(b.seq) + ", not after seq " + std::to_string(floor));
      batches.push_back(std::move(b));
    }
    if (!page->more || page->batches.empty()) return batches;
    after = batches.back().seq;
  }
}

std::future<void> SyncRunner::prefetch(const ResourceConfig& resource,
                                       const BatchListing& listing) {
  return std::async(std::launch::async, [this, &resource, listing] {
    // Its own client: the main thread's keeps its own retry state.
    ExchangeClient exchange(config_, stop_);
    auto body = exchange.manifest(listing.batch_id);
    if (!body) return;
    auto manifest = parse_manifest(*body, resource.id, listing);
    if (!manifest) return;  // the main thread rejects it with the reason
    auto spool = spool_path(listing.batch_id);
    if (auto st = exchange.download_payload(listing.batch_id, manifest->payload.sha256,
                                            manifest->payload.size, spool);
        !st)
      spdlog::debug("{}: prefetching batch {}: {}", resource.id, listing.batch_id,
                    st.error().message);
  });
}

SyncRunner::BatchResult SyncRunner::process_batch(const ResourceConfig& resource,
                                                  const BatchListing& listing,
                                                  const BatchListing* next, SyncSummary& summary) {
  const TargetConfig* target = config_.find_target(resource.target);
  BatchSink& into = sink(*target);
  const ResourceKind into_kind = into.kind();
  auto reject_batch = [&](const Rejection& why, const std::optional<std::string>& sha) {
    spdlog::error("{}: batch {} rejected: {}: {}", resource.id, listing.batch_id,
                  to_string(why.code), why.message);
    if (auto st = finish_batch(resource, listing, into_kind, "rejected", {}, sha, why); !st) {
      note_error(summary, resource.id, st.error().message);
      return BatchResult::stop;
    }
    ++summary.rejected;
    return BatchResult::rejected;
  };

  auto body = exchange_.manifest(listing.batch_id);
  if (!body) {
    note_error(summary, resource.id, body.error().message);
    return BatchResult::stop;
  }
  // The signature covers the manifest's exact bytes: checked before anything in them is used.
  auto signature = exchange_.signature(listing.batch_id);
  if (!signature) {
    note_error(summary, resource.id, signature.error().message);
    return BatchResult::stop;
  }
  if (auto checked = check_manifest_signature(config_.exchange, *body, *signature,
                                              resource.id + ": batch " + listing.batch_id);
      !checked)
    return reject_batch({RejectCode::signature_invalid, checked.error()}, std::nullopt);
  auto manifest = parse_manifest(*body, resource.id, listing);
  if (!manifest) return reject_batch(manifest.error(), std::nullopt);
  if (manifest->kind != into_kind)
    return reject_batch(
        {RejectCode::manifest_invalid, "kind is " + std::string(to_string(manifest->kind)) +
                                           " but the resource is subscribed as a " +
                                           std::string(to_string(into_kind))},
        std::nullopt);

  auto target_trouble = [&](const ApplyFailure& failure) {
    note_target_trouble(summary, resource.id, failure);
    return BatchResult::stop;
  };
  // After a crash between the target's commit and ours, the target already has the batch.
  auto found = into.find_applied(resource, listing.batch_id);
  if (!found) return target_trouble(found.error());
  if (*found) {
    if (auto st = finish_batch(resource, listing, into_kind, "applied", **found,
                               manifest->payload.sha256, std::nullopt);
        !st) {
      note_error(summary, resource.id, st.error().message);
      return BatchResult::stop;
    }
    std::error_code ec;
    std::filesystem::remove(spool_path(listing.batch_id), ec);  // a prefetch may have left one
    spdlog::info("{}: batch {} was already in the target; recorded as applied", resource.id,
                 listing.batch_id);
    ++summary.applied;
    return BatchResult::done;
  }

  const auto spool = spool_path(listing.batch_id);
  if (auto st = ensure_directory(spool.parent_path()); !st) {
    note_error(summary, resource.id, st.error().message);
    return BatchResult::stop;
  }
  // The progress entry lives while this batch is worked on.
  struct ProgressEntry {
    ProgressBoard* board;
    const std::string& resource_id;
    ~ProgressEntry() {
      if (board) board->end(resource_id);
    }
  } progress_entry{progress_, resource.id};
  const int64_t items_total =
      static_cast<int64_t>(manifest->folder ? manifest->folder->files : manifest->row_count);
  if (progress_)
    progress_->begin(resource.id, listing.batch_id, listing.seq, "downloading",
                     static_cast<int64_t>(manifest->payload.size), items_total, spool);
  (void)store_.set_batch_state(listing.batch_id, "downloading");
  (void)store_.batch_started(listing.batch_id, manifest->payload.size);
  // A download joined from several transfers (a resumed one, or a spool left by an earlier run
  // or the prefetch) that does not match may owe that to the joining: fetch it once more from
  // the start before blaming the exchange.
  std::error_code ec;
  bool refetched = false;
  std::optional<PayloadCheck> checked;
  for (;;) {
    auto downloaded = exchange_.download_payload(listing.batch_id, manifest->payload.sha256,
                                                 manifest->payload.size, spool);
    if (!downloaded) {
      note_error(summary, resource.id, downloaded.error().message);
      // The spool cannot be written (disk full): paused, and resumed by a later run.
      if (downloaded.error().failure == Failure::local)
        (void)store_.set_resource_state(resource.id, store::kPaused, downloaded.error().message);
      return BatchResult::stop;
    }
    const bool joined = *downloaded;
    auto check = check_payload(spool, manifest->payload);
    if (!check) {
      note_error(summary, resource.id, check.error().message);
      return BatchResult::stop;
    }
    checked = std::move(check).value();
    if (!checked->mismatch || !joined || refetched) break;
    refetched = true;
    spdlog::warn("{}: batch {}: {}; downloading it again from the start", resource.id,
                 listing.batch_id, checked->mismatch->message);
    std::filesystem::remove(spool, ec);
  }
  if (checked->mismatch) {
    keep_rejected_payload(config_.state_dir, spool);
    return reject_batch(*checked->mismatch, checked->sha256);
  }

  // The audit log holds what was checked, before anything of the batch is applied.
  nlohmann::json verified{
      {"seq", listing.seq}, {"payload_bytes", manifest->payload.size}, {"sha256", checked->sha256}};
  if (manifest->payload.sm3) verified["sm3"] = *manifest->payload.sm3;
  verified["signature"] = nullptr;
  if (*signature)
    verified["signature"] = {
        {"alg", (*signature)->alg},
        {"key_id", (*signature)->key_id},
        {"checked", config_.exchange.signing_keys.count((*signature)->key_id) > 0}};
  if (auto st = store_.audit({"batch.verified", "agent", resource.id, listing.batch_id,
                              store::audit_detail(verified)});
      !st) {
    note_error(summary, resource.id, st.error().message);
    return BatchResult::stop;
  }
  (void)store_.set_batch_state(listing.batch_id, "applying");
  if (progress_) {
    progress_->begin(resource.id, listing.batch_id, listing.seq, "applying",
                     static_cast<int64_t>(manifest->payload.size), items_total);
    into.set_progress(
        [board = progress_, id = resource.id](int64_t done) { board->items(id, done); });
  }
  // The next batch downloads while this one is written; its download resumes or finishes
  // from the spool when its turn comes. Joined before this function returns.
  std::future<void> next_download;
  if (next) next_download = prefetch(resource, *next);
  auto applied = into.apply(*manifest, spool, resource);
  if (!applied) {
    if (applied.error().transient()) return target_trouble(applied.error());
    if (held_for_operator(applied.error().rejection.code)) {
      // The payload stays in the spool for `fep-agent retry`.
      const auto& why = applied.error().rejection;
      spdlog::error(
          "{}: batch {} failed: {}: {}; held until an operator retries, skips or "
          "resyncs (see fep-agent status)",
          resource.id, listing.batch_id, to_string(why.code), why.message);
      if (auto st = store_.hold_batch(listing.batch_id, resource.id,
                                      std::string(to_string(why.code)), why.message);
          !st)
        note_error(summary, resource.id, st.error().message);
      ++summary.held;
      return BatchResult::rejected;
    }
    keep_rejected_payload(config_.state_dir, spool);
    return reject_batch(applied.error().rejection, checked->sha256);
  }
  if (auto st = finish_batch(resource, listing, into_kind, "applied", *applied, checked->sha256,
                             std::nullopt);
      !st) {
    note_error(summary, resource.id, st.error().message);
    return BatchResult::stop;
  }
  std::filesystem::remove(spool, ec);
  if (into_kind == ResourceKind::folder)
    spdlog::info("{}: batch {} (seq {}) applied: {} files ({} bytes), {} deleted{}", resource.id,
                 listing.batch_id, listing.seq, applied->rows, applied->bytes, applied->deleted,
                 applied->already_in_target ? " (found in the target after a restart)" : "");
  else
    spdlog::info("{}: batch {} (seq {}) applied: {} rows, {} deleted{}", resource.id,
                 listing.batch_id, listing.seq, applied->rows, applied->deleted,
                 applied->already_in_target ? " (found in the target after a restart)" : "");
  ++summary.applied;
  return BatchResult::done;
}

Status SyncRunner::finish_batch(const ResourceConfig& resource, const BatchListing& listing,
                                ResourceKind kind, std::string_view status,
                                const AppliedCounts& counts,
                                const std::optional<std::string>& payload_sha256,
                                const std::optional<Rejection>& error) {
  return store_.record_outcome(make_outcome(config_.node.id, resource.id, listing, kind, status,
                                            counts, payload_sha256, error));
}

}  // namespace fep
