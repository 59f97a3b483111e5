// Delivers the receipts waiting in the state store's outbox: each one, unchanged, until the
// exchange accepts it (200/201) or refuses it for good (400/404/409).
#pragma once

#include "adapters/base/shutdown.h"
#include "agent/config/config.h"
#include "agent/exchange/exchange_client.h"
#include "agent/store/state_store.h"
#include "agent/sync/sync_summary.h"

namespace fep {

class ReceiptOutbox {
 public:
  ReceiptOutbox(const Config& config, store::StateStore& store, ExchangeClient& exchange,
                const StopSource& stop)
      : config_(config), store_(store), exchange_(exchange), stop_(stop) {}

  // Stops at the first receipt the exchange cannot take now; the rest wait for the next call.
  void deliver(SyncSummary& summary);

 private:
  const Config& config_;
  store::StateStore& store_;
  ExchangeClient& exchange_;
  const StopSource& stop_;
};

}  // namespace fep
