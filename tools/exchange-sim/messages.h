// Checks of what agents POST: receipts (protocol section 5) and heartbeats (section 6).
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "adapters/base/expected.h"
#include "tools/exchange-sim/store.h"

namespace fep::sim {

// Every field present and typed, `node` equal to the X-FEP-Node header. The failure says why.
Status check_receipt_shape(const nlohmann::json& r, std::string_view node);

// The receipt against the batch it names: resource and seq match, `counts` has the kind's exact
// shape (zeros unless applied), and an applied batch agrees with the served manifest (`manifest`
// may be discarded when unreadable; then those checks are skipped).
Status check_receipt_against(const nlohmann::json& r, const BatchInfo& batch,
                             const nlohmann::json& manifest);

Status check_heartbeat(const nlohmann::json& h, std::string_view node);

}  // namespace fep::sim
