#include "agent/exchange/manifest_signature.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "adapters/base/clock.h"
#include "adapters/crypto/base64.h"
#include "adapters/crypto/signature.h"

namespace fep {
namespace {

Signature malformed(std::string why) {
  Signature s;
  s.malformed = std::move(why);
  return s;
}

// Quoted for a message; the platform's text is cut short and kept printable.
std::string in_quotes(std::string_view text) {
  std::string out = "\"";
  for (char c : text.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out + (text.size() > 64 ? "...\"" : "\"");
}

}  // namespace

Signature parse_signature(std::string_view body) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return malformed("the answer is not a JSON object");
  Signature s;
  for (auto [name, field] :
       {std::pair{"alg", &s.alg}, std::pair{"key_id", &s.key_id}, std::pair{"value", &s.value}}) {
    auto it = json.find(name);
    if (it == json.end() || !it->is_string() || it->get<std::string>().empty())
      return malformed(std::string("\"") + name + "\" is missing or not a non-empty string");
    *field = it->get<std::string>();
  }
  if (!crypto::is_valid_key_id(s.key_id))
    return malformed("key_id " + in_quotes(s.key_id) +
                     " is longer than 256 bytes, not UTF-8 or holds control characters");
  return s;
}

Expected<void, std::string> check_manifest_signature(const ExchangeConfig& config,
                                                     std::string_view manifest_body,
                                                     const std::optional<Signature>& signature,
                                                     std::string_view context) {
  const std::string prefix = context.empty() ? "" : std::string(context) + ": ";
  if (!signature) {
    if (config.require_signature)
      return Unexpected{std::string(
          "the batch is not signed, and exchange.require_signature requires a signature")};
    return {};
  }
  if (!signature->malformed.empty())
    return Unexpected{"the exchange's signature answer is malformed: " + signature->malformed};
  const auto key = config.signing_keys.find(signature->key_id);
  if (key == config.signing_keys.end()) {
    if (config.require_signature)
      return Unexpected{"signed with key " + in_quotes(signature->key_id) +
                        ", which is not in exchange.signing_keys"};
    spdlog::warn(
        "{}manifest signed with unknown key {} ({}); not checked (add the platform's key to "
        "exchange.signing_keys to check it)",
        prefix, in_quotes(signature->key_id), in_quotes(signature->alg));
    return {};
  }
  const std::string& key_id = signature->key_id;
  if (signature->alg != key->second.alg)
    return Unexpected{"the signature's alg is " + in_quotes(signature->alg) + " but key " +
                      in_quotes(key_id) + " is an " + key->second.alg + " key"};
  auto bytes = crypto::base64_decode(signature->value);
  if (!bytes) return Unexpected{"the signature value is " + bytes.error().message};
  auto valid =
      crypto::verify_signature(key->second.alg, key->second.public_pem, manifest_body, *bytes);
  if (!valid)
    return Unexpected{"cannot check the signature with key " + in_quotes(key_id) + " (" +
                      key->second.file.string() + "): " + valid.error().message};
  if (!*valid)
    return Unexpected{"the " + key->second.alg + " signature by key " + in_quotes(key_id) +
                      " does not match the manifest"};
  spdlog::debug("{}manifest signature by key {} verified", prefix, in_quotes(key_id));
  return {};
}

}  // namespace fep
