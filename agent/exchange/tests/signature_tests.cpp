// Manifest signatures: the answer's parsing, the protocol's accept/reject rule, and the client's
// GET /signature; plus the proxy setting (environment proxies are ignored unless configured).
#include <doctest/doctest.h>
#include <httplib.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>

#include <atomic>
#include <memory>
#include <thread>

#include "adapters/crypto/base64.h"
#include "adapters/crypto/signature.h"
#include "agent/exchange/exchange_client.h"
#include "agent/exchange/tests/loopback_server.h"

using namespace fep;

namespace {

using Server = fep::testing::LoopbackServer;
using fep::testing::config_for;

struct TestKey {
  std::string public_pem;
  std::string private_pem;
};

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

TestKey make_key(const char* type) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_PKEY_Q_keygen(nullptr, nullptr, type),
                                                          EVP_PKEY_free);
  REQUIRE(key);
  std::unique_ptr<BIO, decltype(&BIO_free)> pub(BIO_new(BIO_s_mem()), BIO_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> priv(BIO_new(BIO_s_mem()), BIO_free);
  REQUIRE(PEM_write_bio_PUBKEY(pub.get(), key.get()) == 1);
  REQUIRE(PEM_write_bio_PrivateKey(priv.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) ==
          1);
  return {bio_text(pub.get()), bio_text(priv.get())};
}

const std::string kManifest = "{\n  \"protocol\": 1,\n  \"batch_id\": \"B-1\"\n}\n";

Signature signed_by(const TestKey& key, const std::string& alg, const std::string& key_id,
                    const std::string& message = kManifest) {
  auto sig = crypto::sign(alg, key.private_pem, message);
  REQUIRE(sig.ok());
  return Signature{alg, key_id, crypto::base64_encode(*sig), ""};
}

ExchangeConfig with_keys(bool required,
                         const std::map<std::string, std::pair<std::string, TestKey>>& keys) {
  ExchangeConfig c;
  c.require_signature = required;
  for (const auto& [id, entry] : keys)
    c.signing_keys[id] = SigningKey{"/keys/" + id + ".pem", entry.first, entry.second.public_pem};
  return c;
}

}  // namespace

TEST_CASE("parse_signature: the object's three strings, anything else is malformed") {
  auto s = parse_signature(R"({"alg": "sm2", "key_id": "city-2026", "value": "AAAA"})");
  CHECK(s.malformed.empty());
  CHECK(s.alg == "sm2");
  CHECK(s.key_id == "city-2026");
  CHECK(s.value == "AAAA");
  CHECK(parse_signature("<html>proxy error</html>").malformed == "the answer is not a JSON object");
  CHECK(parse_signature(R"(["a"])").malformed == "the answer is not a JSON object");
  CHECK(parse_signature(R"({"alg": "sm2", "value": "AAAA"})").malformed ==
        "\"key_id\" is missing or not a non-empty string");
  CHECK(parse_signature(R"({"alg": "sm2", "key_id": "k", "value": 5})").malformed ==
        "\"value\" is missing or not a non-empty string");
  CHECK(parse_signature(R"({"alg": "sm2", "key_id": "city:2026 b", "value": "AAAA"})").key_id ==
        "city:2026 b");
  CHECK(parse_signature(R"({"alg": "sm2", "key_id": "a\u0001b", "value": "AAAA"})").malformed ==
        "key_id \"a?b\" is longer than 256 bytes, not UTF-8 or holds control characters");
}

TEST_CASE("the protocol's rule, with and without require_signature") {
  const TestKey ed = make_key("ED25519");
  const TestKey sm2 = make_key("SM2");
  const auto optional =
      with_keys(false, {{"city-ed", {"ed25519", ed}}, {"city-sm2", {"sm2", sm2}}});
  const auto required = with_keys(true, {{"city-ed", {"ed25519", ed}}, {"city-sm2", {"sm2", sm2}}});

  for (const auto* config : {&optional, &required}) {
    CAPTURE(config->require_signature);
    // Good signatures by known keys pass.
    CHECK(check_manifest_signature(*config, kManifest, signed_by(ed, "ed25519", "city-ed")).ok());
    CHECK(check_manifest_signature(*config, kManifest, signed_by(sm2, "sm2", "city-sm2")).ok());
    // Bad signatures by known keys are refused either way.
    auto other =
        check_manifest_signature(*config, kManifest + " ", signed_by(ed, "ed25519", "city-ed"));
    REQUIRE_FALSE(other.ok());
    CHECK(other.error() == "the ed25519 signature by key \"city-ed\" does not match the manifest");
    auto flipped = signed_by(sm2, "sm2", "city-sm2");
    flipped.value[4] = flipped.value[4] == 'A' ? 'B' : 'A';
    CHECK_FALSE(check_manifest_signature(*config, kManifest, flipped).ok());
    auto not_base64 = signed_by(ed, "ed25519", "city-ed");
    not_base64.value += "!";
    auto nb = check_manifest_signature(*config, kManifest, not_base64);
    REQUIRE_FALSE(nb.ok());
    CHECK(nb.error().find("the signature value is not base64") == 0);
    // The alg must be the key's.
    auto wrong_alg =
        check_manifest_signature(*config, kManifest, signed_by(ed, "ed25519", "city-sm2"));
    REQUIRE_FALSE(wrong_alg.ok());
    CHECK(wrong_alg.error() ==
          "the signature's alg is \"ed25519\" but key \"city-sm2\" is an sm2 key");
    // A malformed answer is a bad signature.
    auto bad = check_manifest_signature(*config, kManifest, parse_signature("{}"));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().find("malformed") != std::string::npos);
  }
  // Unsigned and unknown keys: refused only when signatures are required.
  CHECK(check_manifest_signature(optional, kManifest, std::nullopt).ok());
  auto unsigned_required = check_manifest_signature(required, kManifest, std::nullopt);
  REQUIRE_FALSE(unsigned_required.ok());
  CHECK(unsigned_required.error() ==
        "the batch is not signed, and exchange.require_signature requires a signature");
  const auto stranger = signed_by(make_key("ED25519"), "ed25519", "city-2027");
  CHECK(check_manifest_signature(optional, kManifest, stranger, "R-1: batch B-1").ok());
  auto unknown_required = check_manifest_signature(required, kManifest, stranger);
  REQUIRE_FALSE(unknown_required.ok());
  CHECK(unknown_required.error() ==
        "signed with key \"city-2027\", which is not in exchange.signing_keys");
  // An unknown key with an algorithm this agent does not know is still only logged.
  CHECK(check_manifest_signature(optional, kManifest, Signature{"rsa-pss", "k9", "AAAA", ""}).ok());
}

TEST_CASE("GET /signature: 200 parsed, 404 unsigned, NOT_SUBSCRIBED and 5xx are errors") {
  Server s;
  std::atomic<int> flaky{0};
  s.http.Get(R"(/v1/batches/([^/]+)/signature)", [&](const httplib::Request& req,
                                                     httplib::Response& res) {
    const std::string id = req.matches[1];
    if (id == "B-signed") {
      res.set_content(R"({"alg": "ed25519", "key_id": "k1", "value": "AAAA"})", "application/json");
    } else if (id == "B-unsigned") {
      res.status = 404;
      res.set_content(R"({"error": {"code": "NOT_SIGNED", "message": "not signed"}})",
                      "application/json");
    } else if (id == "B-revoked") {
      res.status = 404;
      res.set_content(R"({"error": {"code": "NOT_SUBSCRIBED", "message": "revoked"}})",
                      "application/json");
    } else if (id == "B-flaky") {
      if (++flaky < 2) {
        res.status = 503;
        return;
      }
      res.set_content(R"({"alg": "sm2", "key_id": "k2", "value": "AAAA"})", "application/json");
    } else {
      res.set_content("not json", "text/html");
    }
  });
  s.start();
  auto config = config_for(s.port);
  StopSource stop;
  ExchangeClient client(config, stop);

  auto signed_ = client.signature("B-signed");
  REQUIRE(signed_.ok());
  REQUIRE(signed_->has_value());
  CHECK((*signed_)->alg == "ed25519");
  CHECK((*signed_)->key_id == "k1");
  auto unsigned_ = client.signature("B-unsigned");
  REQUIRE(unsigned_.ok());
  CHECK_FALSE(unsigned_->has_value());
  auto revoked = client.signature("B-revoked");
  REQUIRE_FALSE(revoked.ok());
  CHECK(revoked.error().code == "NOT_SUBSCRIBED");
  auto flaky_answer = client.signature("B-flaky");
  REQUIRE(flaky_answer.ok());
  CHECK((*flaky_answer)->key_id == "k2");
  auto garbage = client.signature("B-garbage");
  REQUIRE(garbage.ok());
  CHECK((*garbage)->malformed == "the answer is not a JSON object");
}

TEST_CASE("proxies: the *_proxy variables are ignored unless exchange.proxy is set") {
  Server s;
  s.http.Get("/v1/subscriptions", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"node": "N-1", "subscriptions": []})", "application/json");
  });
  s.start();
  // A proxy that does not exist: using it would fail.
  ::setenv("http_proxy", "http://127.0.0.1:9", 1);
  ::setenv("all_proxy", "http://127.0.0.1:9", 1);
  auto config = config_for(s.port);
  config.exchange.max_attempts = 1;
  StopSource stop;
  {
    ExchangeClient client(config, stop);
    auto r = client.subscriptions();
    CHECK_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  }
  config.exchange.proxy = "http://127.0.0.1:9";
  {
    ExchangeClient client(config, stop);
    auto r = client.subscriptions();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().failure == Failure::transient);
  }
  ::unsetenv("http_proxy");
  ::unsetenv("all_proxy");
}

TEST_CASE("http_options carries every TLS and proxy setting") {
  ExchangeConfig ex;
  ex.ca_file = "/etc/ca.pem";
  ex.client_cert = "/etc/c.pem";
  ex.client_key = "/etc/c.key";
  ex.key_password = "pw";
  ex.pinned_pubkeys = {"sha256//a", "sha256//b"};
  ex.proxy = "http://p:3128";
  const auto o = http_options(ex);
  CHECK(o.ca_file == ex.ca_file);
  CHECK(o.client_cert == ex.client_cert);
  CHECK(o.client_key == ex.client_key);
  CHECK(o.key_password == ex.key_password);
  CHECK(o.pinned_pubkeys == ex.pinned_pubkeys);
  CHECK(o.proxy == ex.proxy);
  CHECK(o.user_agent == "fep-agent/" FEP_VERSION);
}

TEST_CASE("TLS failures say which setting to check and are not retried") {
  http::TransportError pin{"GET https://x/v1: SSL: public key does not match pinned public key",
                           false, http::TlsProblem::pin_mismatch};
  auto e = error_from_transport(pin);
  CHECK(e.failure == Failure::permanent);
  CHECK(e.message.find("exchange.pinned_pubkey") != std::string::npos);
  auto refused =
      error_from_transport({"x: alert certificate required", false, http::TlsProblem::refused});
  CHECK(refused.message.find("exchange.client_cert") != std::string::npos);
  auto dropped = error_from_transport(
      {"x: getpeername() failed with errno 107", false, http::TlsProblem::dropped});
  CHECK(dropped.failure == Failure::transient);
  CHECK(dropped.message.find("exchange.client_cert") != std::string::npos);
  auto plain = error_from_transport({"x: Connection refused", false, http::TlsProblem::none});
  CHECK(plain.failure == Failure::transient);
  CHECK(plain.message == "x: Connection refused");
}
