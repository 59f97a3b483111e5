// Operator commands: history, resources, retry, skip, resync. Each works with and without a
// running daemon: the change goes into the state database (SQLite WAL, shared safely with the
// daemon), then the daemon, or this process when none runs, syncs the resource.
#include <spdlog/spdlog.h>

#include <iostream>

#include "adapters/base/digest.h"
#include "adapters/base/files.h"
#include "agent/app/commands.h"
#include "agent/app/history_view.h"
#include "agent/app/text_table.h"
#include "agent/exchange/exchange_client.h"
#include "agent/store/audit_log.h"
#include "agent/store/state_store.h"
#include "agent/sync/receipt.h"

namespace fep::app {
namespace {

int complain(const std::string& message) {
  std::cerr << "fep-agent: " << message << "\n";
  return 1;
}

Expected<store::StateStore> open_store_for(const Config& config, const std::string& resource) {
  if (!config.find_resource(resource))
    return fail("resource " + resource + " is not in the configuration");
  if (auto st = ensure_directory(config.state_dir); !st) return Unexpected{st.error()};
  return store::StateStore::open(config.state_dir / "state.db");
}

ResourceKind kind_of(const Config& config, const std::string& resource) {
  const TargetConfig* target = config.find_target(config.find_resource(resource)->target);
  return target && target->type == TargetType::folder ? ResourceKind::folder : ResourceKind::table;
}

}  // namespace

int run_history(const Config& config, const std::optional<std::string>& resource, int limit,
                bool json) {
  if (resource && !config.find_resource(*resource))
    return complain("resource " + *resource + " is not in the configuration");
  auto store = store::StateStore::open(config.state_dir / "state.db");
  if (!store) return complain(store.error().message);
  auto batches = store->history(resource, limit);
  if (!batches) return complain(batches.error().message);
  std::cout << (json ? history_json(*batches)
                     : history_table(*batches, !resource.has_value(), colour_stdout()));
  return 0;
}

int run_resources(const Config& config, bool json) {
  StopSource stop;
  ExchangeClient exchange(config, stop);
  auto listed = exchange.subscriptions();
  std::vector<store::Subscription> subscriptions;
  if (listed) {
    subscriptions = std::move(*listed);
  } else {
    // The platform cannot be asked: show what the last sync learnt, and say so.
    std::cerr << "fep-agent: cannot ask the exchange (" << listed.error().message
              << "); showing the subscriptions stored at the last sync\n";
    auto store = store::StateStore::open(config.state_dir / "state.db");
    if (!store) return complain(store.error().message);
    auto rows = store->resources();
    if (!rows) return complain(rows.error().message);
    for (const auto& r : *rows)
      if (r.subscription.status != "not subscribed") subscriptions.push_back(r.subscription);
  }
  auto lines = subscription_lines(config, subscriptions);
  std::cout << (json ? resources_json(lines) : resources_table(lines, colour_stdout()));
  return listed ? 0 : 1;
}

int run_retry(const Config& config, const std::string& resource) {
  auto store = open_store_for(config, resource);
  if (!store) return complain(store.error().message);
  auto blocking = store->blocking_batch(resource);
  if (!blocking) return complain(blocking.error().message);
  if (*blocking) {
    auto held = store->retry(resource, store::operator_actor());
    if (!held) return complain(held.error().message);
    std::cout << resource << ": batch " << held->batch_id << " (seq " << held->seq
              << ") will be tried again\n";
  } else {
    std::cout << resource << " is not blocked: syncing it now\n";
  }
  return run_sync_now(config, resource);
}

int run_skip(const Config& config, const std::string& resource, const std::string& batch_id,
             const std::string& reason) {
  if (reason.empty()) return complain("skip needs --reason: it goes into the receipt and the log");
  auto store = open_store_for(config, resource);
  if (!store) return complain(store.error().message);
  auto blocking = store->blocking_batch(resource);
  if (!blocking) return complain(blocking.error().message);
  if (!*blocking) return complain(resource + " is not blocked: there is no batch to skip");
  const store::HeldBatch& held = **blocking;
  if (held.batch_id != batch_id)
    return complain(resource + " is blocked by batch " + held.batch_id + " (seq " +
                    std::to_string(held.seq) + "), not by " + batch_id);
  if (held.state == "failed") {
    // The held batch gets the rejected receipt it never had: its error, and why it is skipped.
    auto spool = config.state_dir / "spool" / (held.batch_id + ".payload");
    std::optional<std::string> sha;
    if (auto digest = sha256_file(spool)) sha = *digest;
    const Rejection why{
        reject_code_from(held.error_code.value_or("")).value_or(RejectCode::target_error),
        held.error_message.value_or("") + " (skipped by the operator: " + reason + ")"};
    auto outcome = make_outcome(config.node.id, resource, {held.batch_id, held.seq, {}, {}},
                                kind_of(config, resource), "rejected", {}, sha, why);
    outcome.only_from_state = "failed";  // not if a `retry` sent it to a sync meanwhile
    if (auto st = store->record_outcome(outcome); !st) return complain(st.error().message);
    std::error_code ec;
    std::filesystem::remove(spool, ec);
  }
  if (auto st = store->skipped(resource, held.batch_id, reason, store::operator_actor()); !st)
    return complain(st.error().message);
  std::cout << resource << ": batch " << held.batch_id << " (seq " << held.seq
            << ") skipped; syncing goes on after it\n";
  return run_sync_now(config, resource);
}

int run_resync(const Config& config, const std::string& resource) {
  auto store = open_store_for(config, resource);
  if (!store) return complain(store.error().message);
  if (auto st = store->request_resync(resource, store::operator_actor()); !st)
    return complain(st.error().message);
  std::cout << resource
            << ": no incremental batch is applied until the next full batch, which replaces the "
               "local contents\n";
  // Waiting for the full batch is `paused`, not blocked: 2 means something blocks it anew (a
  // batch that was being applied meanwhile, or the full batch itself).
  return run_sync_now(config, resource);
}

}  // namespace fep::app
