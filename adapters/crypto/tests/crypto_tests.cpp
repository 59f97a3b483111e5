#include <doctest/doctest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <string>

#include "adapters/crypto/base64.h"
#include "adapters/crypto/signature.h"

namespace fep::crypto {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

struct KeyPair {
  std::string public_pem;
  std::string private_pem;
};

KeyPair pem_of(EVP_PKEY* key) {
  std::unique_ptr<BIO, BioFree> pub(BIO_new(BIO_s_mem())), priv(BIO_new(BIO_s_mem()));
  REQUIRE(PEM_write_bio_PUBKEY(pub.get(), key) == 1);
  REQUIRE(PEM_write_bio_PrivateKey(priv.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
  return {bio_text(pub.get()), bio_text(priv.get())};
}

// A fresh key pair of an OpenSSL key type ("ED25519", "SM2", "EC" P-256).
KeyPair generate(const char* type) {
  Pkey key(std::string(type) == "EC" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                                     : EVP_PKEY_Q_keygen(nullptr, nullptr, type));
  REQUIRE(key);
  return pem_of(key.get());
}

std::string unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  return out;
}

bool verifies(std::string_view alg, const std::string& pub, std::string_view msg,
              std::string_view sig) {
  auto r = verify_signature(alg, pub, msg, sig);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  return *r;
}

// An SM2 signature with another distinguishing ID, made without the module.
std::string sm2_sign_with_id(const std::string& private_pem, std::string_view id,
                             std::string_view msg) {
  std::unique_ptr<BIO, BioFree> bio(
      BIO_new_mem_buf(private_pem.data(), static_cast<int>(private_pem.size())));
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  REQUIRE(key);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;
  REQUIRE(EVP_DigestSignInit(ctx.get(), &pctx, EVP_sm3(), nullptr, key.get()) == 1);
  REQUIRE(EVP_PKEY_CTX_set1_id(pctx, id.data(), id.size()) > 0);
  size_t size = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(msg.data());
  REQUIRE(EVP_DigestSign(ctx.get(), nullptr, &size, data, msg.size()) == 1);
  std::string sig(size, '\0');
  REQUIRE(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size, data,
                         msg.size()) == 1);
  sig.resize(size);
  return sig;
}

}  // namespace

TEST_CASE("base64: RFC 4648 vectors both ways") {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : vectors) {
    CHECK(base64_encode(plain) == encoded);
    auto decoded = base64_decode(encoded);
    REQUIRE(decoded.ok());
    CHECK(*decoded == plain);
  }
  const std::string all_bytes = [] {
    std::string s;
    for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
    return s;
  }();
  auto round = base64_decode(base64_encode(all_bytes));
  REQUIRE(round.ok());
  CHECK(*round == all_bytes);
}

TEST_CASE("base64: anything but the strict standard form is refused") {
  for (const char* bad : {"Zg", "Zg=", "Zm9v\n", "Zm9 v", "Zm-v", "Zm_v",
                          "Z===", "====", "Zg==Zm9v", "Zh==", "Zm9=", "=m9v"}) {
    CAPTURE(bad);
    CHECK_FALSE(base64_decode(bad).ok());
  }
  CHECK(base64_decode("Zm9").error().message.find("multiple of 4") != std::string::npos);
}

TEST_CASE("ed25519: RFC 8032 test 1 verifies, and any change does not") {
  const std::string pub_raw =
      unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const std::string sig = unhex(
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
      "1cf9b46bd25bf5f0595bbe24655141438e7a100b");
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                       reinterpret_cast<const unsigned char*>(pub_raw.data()),
                                       pub_raw.size()));
  REQUIRE(key);
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  REQUIRE(PEM_write_bio_PUBKEY(bio.get(), key.get()) == 1);
  const std::string pem = bio_text(bio.get());
  CHECK(verifies("ed25519", pem, "", sig));
  CHECK_FALSE(verifies("ed25519", pem, "x", sig));
  std::string flipped = sig;
  flipped[10] = static_cast<char>(flipped[10] ^ 1);
  CHECK_FALSE(verifies("ed25519", pem, "", flipped));
  CHECK_FALSE(verifies("ed25519", pem, "", sig.substr(0, 63)));
  CHECK_FALSE(verifies("ed25519", pem, "", ""));
}

TEST_CASE("ed25519 and sm2: sign, verify, and reject what was not signed by that key") {
  for (const auto& [alg_name, type] : {std::pair{"ed25519", "ED25519"}, std::pair{"sm2", "SM2"}}) {
    const std::string alg = alg_name;  // a structured binding cannot be captured by clang 14
    CAPTURE(alg);
    const KeyPair key = generate(type);
    const KeyPair other = generate(type);
    auto key_alg = public_key_alg(key.public_pem);
    REQUIRE(key_alg.ok());
    CHECK(*key_alg == alg);
    auto private_alg = private_key_alg(key.private_pem);
    REQUIRE(private_alg.ok());
    CHECK(*private_alg == alg);
    CHECK_FALSE(private_key_alg(key.public_pem).ok());

    const std::string manifest = "{\"protocol\": 1, \"batch_id\": \"B-1\"}\n";
    auto sig = sign(alg, key.private_pem, manifest);
    REQUIRE_MESSAGE(sig.ok(), (sig.ok() ? "" : sig.error().message));
    CHECK(verifies(alg, key.public_pem, manifest, *sig));
    // One byte more, one byte changed, another key, a damaged signature: all false.
    CHECK_FALSE(verifies(alg, key.public_pem, manifest + " ", *sig));
    std::string changed = manifest;
    changed[3] = 'P';
    CHECK_FALSE(verifies(alg, key.public_pem, changed, *sig));
    CHECK_FALSE(verifies(alg, other.public_pem, manifest, *sig));
    std::string damaged = *sig;
    damaged[damaged.size() / 2] = static_cast<char>(damaged[damaged.size() / 2] ^ 0x40);
    CHECK_FALSE(verifies(alg, key.public_pem, manifest, damaged));
    CHECK_FALSE(verifies(alg, key.public_pem, manifest, "not a signature at all"));
    // The wrong algorithm for the key is an error, not merely "does not verify".
    const char* wrong = std::string(alg) == "sm2" ? "ed25519" : "sm2";
    CHECK_FALSE(verify_signature(wrong, key.public_pem, manifest, *sig).ok());
    CHECK_FALSE(sign(wrong, key.private_pem, manifest).ok());
  }
}

TEST_CASE("sm2: the signature is DER and covers the distinguishing ID 1234567812345678") {
  const KeyPair key = generate("SM2");
  const std::string msg = "message digest";
  auto sig = sign("sm2", key.private_pem, msg);
  REQUIRE(sig.ok());
  // SEQUENCE { INTEGER r, INTEGER s }
  REQUIRE(sig->size() >= 8);
  CHECK(static_cast<unsigned char>((*sig)[0]) == 0x30);
  CHECK(static_cast<unsigned char>((*sig)[1]) == sig->size() - 2);
  CHECK(verifies("sm2", key.public_pem, msg, sm2_sign_with_id(key.private_pem, kSm2Id, msg)));
  CHECK_FALSE(verifies("sm2", key.public_pem, msg,
                       sm2_sign_with_id(key.private_pem, "ALICE123@YAHOO.COM", msg)));
}

TEST_CASE("keys that are not ed25519 or sm2 public keys are errors that say why") {
  const KeyPair p256 = generate("EC");
  auto alg = public_key_alg(p256.public_pem);
  REQUIRE_FALSE(alg.ok());
  CHECK(alg.error().message.find("of type EC;") != std::string::npos);
  CHECK_FALSE(verify_signature("sm2", p256.public_pem, "m", "s").ok());

  auto garbage = public_key_alg("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
  REQUIRE_FALSE(garbage.ok());
  CHECK(garbage.error().message.find("not a PEM public key") != std::string::npos);
  // A private key where a public one belongs is refused (it must not be deployed to agents).
  const KeyPair ed = generate("ED25519");
  CHECK_FALSE(public_key_alg(ed.private_pem).ok());
  auto rsa = verify_signature("rsa", ed.public_pem, "m", "s");
  REQUIRE_FALSE(rsa.ok());
  CHECK(rsa.error().message.find("unsupported signature algorithm") != std::string::npos);
  CHECK_FALSE(is_supported_alg("ED25519"));
  CHECK(is_supported_alg("ed25519"));
  CHECK(is_supported_alg("sm2"));
}

}  // namespace fep::crypto
