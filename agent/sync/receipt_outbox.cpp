#include "agent/sync/receipt_outbox.h"

#include <spdlog/spdlog.h>

namespace fep {

int SyncSummary::exit_code() const {
  if (!errors.empty()) return 1;
  if (rejected > 0 || blocked) return 2;
  if (receipts_refused > 0) return 3;
  return 0;
}

void record_error(store::StateStore& store, SyncSummary& summary, const std::string& resource_id,
                  const std::string& message) {
  spdlog::error("{}: {}", resource_id.empty() ? "exchange" : resource_id, message);
  summary.errors.push_back(message);
  std::optional<std::string> rid;
  if (!resource_id.empty()) {
    rid = resource_id;
    (void)store.set_resource_state(resource_id, store::kError, message);
  }
  (void)store.add_event("error", rid, std::nullopt, message);
}

void ReceiptOutbox::deliver(SyncSummary& summary) {
  auto pending = store_.outbox("pending");
  if (!pending) {
    record_error(store_, summary, "", pending.error().message);
    return;
  }
  Backoff backoff(config_.exchange.retry_base, config_.exchange.retry_cap);
  for (const auto& entry : *pending) {
    for (int attempt = 1;; ++attempt) {
      if (auto st = store_.audit(
              {"receipt.sent", "agent", entry.resource_id, entry.batch_id,
               store::audit_detail({{"receipt_id", entry.receipt_id}, {"attempt", attempt}})});
          !st) {
        record_error(store_, summary, "", st.error().message);
        return;
      }
      auto answer = exchange_.post_receipt(entry.receipt_id, entry.body);
      if (answer) {
        auto recorded = store_.receipt_delivered(entry.receipt_id, answer->http_status);
        if (recorded && *recorded) ++summary.receipts_delivered;
        break;
      }
      const auto& e = answer.error();
      if (e.failure == Failure::permanent && e.http_status >= 400 && e.http_status < 500) {
        // 400, 404 and 409 are the protocol's final answers, and any other 4xx but 408 and 429
        // (those are transient) is permanent for the request: the same receipt again cannot
        // succeed. It is shown to the operator, and the receipts after it still go.
        spdlog::error("receipt for batch {} refused: {}", entry.batch_id, e.message);
        (void)store_.receipt_refused(entry.receipt_id, e.http_status, e.message);
        ++summary.receipts_refused;
        break;
      }
      (void)store_.receipt_attempt_failed(entry.receipt_id, e.message);
      if (e.http_status >= 200 && e.http_status < 400) {
        // An answer the protocol does not allow for this receipt (a 3xx, a 2xx that does not
        // accept it): it stays pending for the next run, and the others go now.
        record_error(store_, summary, "",
                     "receipt for batch " + entry.batch_id + " not delivered yet: " + e.message);
        break;
      }
      // Transient (the platform is down or busy), the credentials, or no answer at all (TLS
      // refused the platform's certificate): the others would fare no better now.
      const auto wait = backoff.delay(attempt, e.retry_after);
      if (e.failure != Failure::transient || attempt >= config_.exchange.max_attempts || !wait ||
          !stop_.sleep_for(*wait)) {
        record_error(store_, summary, "", "receipts not delivered yet: " + e.message);
        return;
      }
    }
  }
}

}  // namespace fep
