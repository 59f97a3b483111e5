#include "adapters/crypto/signature.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

#include "adapters/base/utf8.h"

namespace fep::crypto {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// The oldest error OpenSSL queued (the root cause), and the queue emptied: each call starts clean.
std::string openssl_error() {
  const unsigned long first = ERR_get_error();
  ERR_clear_error();
  if (first == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(first, buf, sizeof buf);
  return buf;
}

enum class Part { public_key, private_key };

Expected<Pkey> load_pem(std::string_view pem, Part part) {
  ERR_clear_error();
  if (pem.size() > 1 << 20) return fail("the PEM key is larger than 1 MiB");
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return fail("out of memory reading the key");
  // No passphrase callback: an encrypted key fails instead of prompting on the terminal.
  static pem_password_cb* const no_prompt = [](char*, int, int, void*) { return 0; };
  Pkey key(part == Part::public_key
               ? PEM_read_bio_PUBKEY(bio.get(), nullptr, no_prompt, nullptr)
               : PEM_read_bio_PrivateKey(bio.get(), nullptr, no_prompt, nullptr));
  if (!key)
    return fail(std::string(part == Part::public_key ? "not a PEM public key"
                                                     : "not an unencrypted PEM private key") +
                " (" + openssl_error() + ")");
  return key;
}

// The key's algorithm in the protocol's spelling; empty when neither.
std::string alg_of(const EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "ED25519")) return "ed25519";
  if (EVP_PKEY_is_a(key, "SM2")) return "sm2";
  return "";
}

std::string type_of(const EVP_PKEY* key) {
  const char* name = EVP_PKEY_get0_type_name(key);
  return name ? name : "unknown";
}

Status check_key_type(std::string_view alg, const EVP_PKEY* key) {
  if (!is_supported_alg(alg))
    return fail("unsupported signature algorithm \"" + std::string(alg) +
                "\" (supported: ed25519, sm2)");
  if (alg_of(key) != alg)
    return fail("the key is of type " + type_of(key) + ", not " + std::string(alg));
  return {};
}

// A digest-sign/verify context for `alg`: no separate digest for Ed25519 (it hashes itself);
// SM3 and the fixed distinguishing ID for SM2 (the ID enters the Z value hashed with the message).
Expected<MdCtx> init_ctx(std::string_view alg, EVP_PKEY* key, bool for_signing) {
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx) return fail("out of memory");
  const EVP_MD* md = alg == "sm2" ? EVP_sm3() : nullptr;
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  const int ok = for_signing ? EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key)
                             : EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key);
  if (ok != 1) return fail("cannot set up " + std::string(alg) + ": " + openssl_error());
  if (alg == "sm2" && EVP_PKEY_CTX_set1_id(pctx, kSm2Id.data(), kSm2Id.size()) <= 0)
    return fail("cannot set the SM2 ID: " + openssl_error());
  return ctx;
}

}  // namespace

bool is_valid_key_id(std::string_view key_id) {
  if (key_id.empty() || key_id.size() > 256 || !is_valid_utf8(key_id)) return false;
  for (unsigned char c : key_id)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

bool is_supported_alg(std::string_view alg) {
  return alg == "ed25519" || alg == "sm2";
}

Expected<std::string> public_key_alg(std::string_view public_key_pem) {
  auto key = load_pem(public_key_pem, Part::public_key);
  if (!key) return Unexpected{key.error()};
  std::string alg = alg_of(key->get());
  if (alg.empty())
    return fail("the key is of type " + type_of(key->get()) + "; signing keys are ed25519 or sm2");
  return alg;
}

Expected<std::string> private_key_alg(std::string_view private_key_pem) {
  auto key = load_pem(private_key_pem, Part::private_key);
  if (!key) return Unexpected{key.error()};
  std::string alg = alg_of(key->get());
  if (alg.empty())
    return fail("the key is of type " + type_of(key->get()) + "; signing keys are ed25519 or sm2");
  return alg;
}

Expected<bool> verify_signature(std::string_view alg, std::string_view public_key_pem,
                                std::string_view message, std::string_view signature) {
  auto key = load_pem(public_key_pem, Part::public_key);
  if (!key) return Unexpected{key.error()};
  if (auto st = check_key_type(alg, key->get()); !st) return Unexpected{st.error()};
  auto ctx = init_ctx(alg, key->get(), false);
  if (!ctx) return Unexpected{ctx.error()};
  const int rc = EVP_DigestVerify(
      ctx->get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
      reinterpret_cast<const unsigned char*>(message.data()), message.size());
  // 1: verified; 0: a wrong signature; <0: e.g. a signature that is not DER, which is just as
  // wrong (the key and context were fine, so nothing on our side failed).
  ERR_clear_error();
  return rc == 1;
}

Expected<std::string> sign(std::string_view alg, std::string_view private_key_pem,
                           std::string_view message) {
  auto key = load_pem(private_key_pem, Part::private_key);
  if (!key) return Unexpected{key.error()};
  if (auto st = check_key_type(alg, key->get()); !st) return Unexpected{st.error()};
  auto ctx = init_ctx(alg, key->get(), true);
  if (!ctx) return Unexpected{ctx.error()};
  const auto* data = reinterpret_cast<const unsigned char*>(message.data());
  size_t size = 0;
  if (EVP_DigestSign(ctx->get(), nullptr, &size, data, message.size()) != 1)
    return fail("cannot sign: " + openssl_error());
  std::string out(size, '\0');
  if (EVP_DigestSign(ctx->get(), reinterpret_cast<unsigned char*>(out.data()), &size, data,
                     message.size()) != 1)
    return fail("cannot sign: " + openssl_error());
  out.resize(size);  // a DER SM2 signature is often shorter than the maximum
  return out;
}

}  // namespace fep::crypto
