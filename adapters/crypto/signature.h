// Detached signatures over byte strings, as the exchange protocol uses them (section 3,
// "Signature"): Ed25519 (RFC 8032, pure), and SM2 with SM3 and the distinguishing ID
// "1234567812345678" (GB/T 32918, GM/T 0009), the signature DER-encoded.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "adapters/base/expected.h"

namespace fep::crypto {

// The SM2 distinguishing ID the protocol fixes (GM/T 0009's default).
inline constexpr std::string_view kSm2Id = "1234567812345678";

// "ed25519" or "sm2"; anything else is unsupported.
bool is_supported_alg(std::string_view alg);

// Whether `key_id` can name a platform key. The protocol sets no character rule for key ids
// (its id alphabet is for resources, batches and nodes), so any name is taken that is safe to
// show and store: 1-256 bytes of UTF-8 without control characters.
bool is_valid_key_id(std::string_view key_id);

// The algorithm of a PEM public key ("-----BEGIN PUBLIC KEY-----", SubjectPublicKeyInfo):
// "ed25519" or "sm2"; an error when it cannot be read or is of another type.
Expected<std::string> public_key_alg(std::string_view public_key_pem);

// The algorithm of a PEM private key: "ed25519" or "sm2"; an error otherwise.
Expected<std::string> private_key_alg(std::string_view private_key_pem);

// Whether `signature` is `alg`'s signature of `message` by the key. False when it does not verify
// (including a signature that is not even well-formed DER for SM2); an error when the algorithm
// is unknown, the key cannot be read, or the key is not of `alg`'s type.
Expected<bool> verify_signature(std::string_view alg, std::string_view public_key_pem,
                                std::string_view message, std::string_view signature);

// The signature bytes (for exchange-sim and tests). `private_key_pem` is an unencrypted PKCS#8
// or traditional PEM private key of `alg`'s type.
Expected<std::string> sign(std::string_view alg, std::string_view private_key_pem,
                           std::string_view message);

}  // namespace fep::crypto
