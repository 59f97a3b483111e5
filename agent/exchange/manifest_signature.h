// Manifest signatures (protocol section 3, "Signature"): the answer's parsing and the rule that
// decides, from the configuration, whether a batch's manifest may be used.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "adapters/base/expected.h"
#include "agent/config/config.h"

namespace fep {

// GET /v1/batches/{batch_id}/signature: {"alg": "...", "key_id": "...", "value": "<base64>"}.
struct Signature {
  std::string alg;     // "ed25519" | "sm2"; any other is refused when its key is known
  std::string key_id;  // which of exchange.signing_keys
  std::string value;   // base64, as served
  // Not empty when the answer was not such an object, and why: check_manifest_signature rejects
  // it as a bad signature (the platform says the batch is signed, but nothing can be checked).
  std::string malformed;
};

// Never fails: a body that is not a signature object comes back with `malformed` set.
Signature parse_signature(std::string_view body);

// The protocol's rule. With exchange.require_signature: an unsigned batch (no signature), an
// unknown key or a bad signature is refused. Without it: a signature by a known key is still
// checked (a bad one is refused), an unknown key is logged (a warning naming `context`, e.g.
// "R-SCJG-0001: batch B-1") and accepted, an unsigned batch is accepted.
// The error is the reason, for a SIGNATURE_INVALID rejection.
Expected<void, std::string> check_manifest_signature(const ExchangeConfig& config,
                                                     std::string_view manifest_body,
                                                     const std::optional<Signature>& signature,
                                                     std::string_view context = {});

}  // namespace fep
