// exchange TLS and signature keys; secret file modes.
#include <doctest/doctest.h>

#include "agent/config/tests/config_fixture.h"

namespace fep::config_test {
namespace {

constexpr const char* kEd25519Pub =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEA27MyTHC+/a9PmuUbaW7fi++2e1c4Caeblplq9GsqkbI=\n"
    "-----END PUBLIC KEY-----\n";
constexpr const char* kSm2Pub =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAEYac6afQbdyW5Cp7qLRmlu4jptFHl\n"
    "KhzCswYoBzg7POBrL564L3Q4+v5aQTzU6A6KhNO4qhQWgmSwwBS97Gz2Mg==\n"
    "-----END PUBLIC KEY-----\n";
constexpr const char* kP256Pub =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEUgqFX6AVQbmRAH2FdEbl9KCuvoG0\n"
    "tDKCuSAVoMawIt0PkNQcs2rFCoGCKzA7NI3DTwGKYp1d1R7/Hb3wKTK05g==\n"
    "-----END PUBLIC KEY-----\n";
constexpr const char* kCert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
constexpr const char* kKey = "-----BEGIN PRIVATE KEY-----\nMC4C\n-----END PRIVATE KEY-----\n";
const std::string kPin = "sha256//" + std::string(43, 'A') + "=";

// kBase with `lines` added to the exchange section (after token_file, line 5).
std::string with_exchange(const std::string& lines) {
  return replace_all(kBase, "  token_file: @TOKEN@\n", "  token_file: @TOKEN@\n" + lines) +
         "  []\n";
}

void set_mode(const fs::path& p, unsigned mode) {
  fs::permissions(p, static_cast<fs::perms>(mode));
}

}  // namespace

TEST_CASE("security keys: defaults are off") {
  Fixture f;
  auto config = f.parse(kBase + "  []\n");
  REQUIRE(config.ok());
  const ExchangeConfig defaults;
  const auto& ex = config->exchange;
  CHECK(ex.require_signature == defaults.require_signature);
  CHECK_FALSE(ex.ca_file);
  CHECK_FALSE(ex.client_cert);
  CHECK_FALSE(ex.client_key);
  CHECK_FALSE(ex.key_password);
  CHECK_FALSE(ex.proxy);
  CHECK(ex.pinned_pubkeys.empty());
  CHECK(ex.signing_keys.empty());
}

TEST_CASE("security keys: TLS files, pins, proxy and signing keys are read") {
  Fixture f;
  write(f.dir / "ca.pem", kCert);
  write(f.dir / "client.pem", kCert);
  write(f.dir / "client.key", kKey);
  write(f.dir / "keypw", "pass phrase\n");
  write(f.dir / "city.pub", kEd25519Pub);
  write(f.dir / "gm.pub", kSm2Pub);
  set_mode(f.dir / "city.pub", 0644);  // public keys may be world-readable
  set_mode(f.dir / "client.key", 0640);
  auto config =
      f.parse(with_exchange("  ca_file: @DIR@/ca.pem\n"
                            "  client_cert: @DIR@/client.pem\n"
                            "  client_key: @DIR@/client.key\n"
                            "  key_password_file: @DIR@/keypw\n"
                            "  pinned_pubkey: [\"" +
                            kPin + "\", \"sha256//" + std::string(42, 'B') +
                            "E=\"]\n"
                            "  proxy: http://user:pw@proxy.example:3128\n"
                            "  require_signature: true\n"
                            "  signing_keys:\n"
                            "    city-2026: @DIR@/city.pub\n"
                            "    gm.2026: @DIR@/gm.pub\n"));
  REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.error().message));
  const auto& ex = config->exchange;
  CHECK(ex.ca_file == f.dir / "ca.pem");
  CHECK(ex.client_cert == f.dir / "client.pem");
  CHECK(ex.client_key == f.dir / "client.key");
  CHECK(ex.key_password == "pass phrase");
  CHECK(ex.pinned_pubkeys.size() == 2);
  CHECK(ex.pinned_pubkeys[0] == kPin);
  CHECK(ex.proxy == "http://user:pw@proxy.example:3128");
  CHECK(ex.require_signature);
  REQUIRE(ex.signing_keys.size() == 2);
  CHECK(ex.signing_keys.at("city-2026").alg == "ed25519");
  CHECK(ex.signing_keys.at("city-2026").public_pem == kEd25519Pub);
  CHECK(ex.signing_keys.at("gm.2026").alg == "sm2");
  CHECK(ex.signing_keys.at("gm.2026").file == f.dir / "gm.pub");
}

TEST_CASE("security keys: one pin may be a plain string") {
  Fixture f;
  auto config = f.parse(with_exchange("  pinned_pubkey: " + kPin + "\n"));
  REQUIRE(config.ok());
  CHECK(config->exchange.pinned_pubkeys == std::vector<std::string>{kPin});
}

TEST_CASE("security keys: errors name the key and line") {
  Fixture f;
  write(f.dir / "ec.pub", kP256Pub);
  write(f.dir / "cert.pem", kCert);
  write(f.dir / "not-a-cert", "hello\n");
  CHECK(f.error(with_exchange("  pinned_pubkey: sha256//abc\n")) ==
        "agent.yaml:6:18: exchange.pinned_pubkey: expected \"sha256//\" and the base64 of a "
        "32-byte SHA-256, found \"sha256//abc\"");
  CHECK(f.error(with_exchange("  pinned_pubkey: []\n")) ==
        "agent.yaml:6:18: exchange.pinned_pubkey: is an empty list (leave the key out for no "
        "pinning)");
  CHECK(f.error(with_exchange("  pinned_pubkey: {a: b}\n")) ==
        "agent.yaml:6:18: exchange.pinned_pubkey: expected a string or list, found a map");
  const auto proxy = f.error(with_exchange("  proxy: ftp://user:hunter2@p\n"));
  CHECK(contains(proxy, "agent.yaml:6:10: exchange.proxy: expected a URL starting with http://"));
  CHECK_FALSE(contains(proxy, "hunter2"));
  CHECK(f.error(with_exchange("  client_cert: @DIR@/cert.pem\n")) ==
        "agent.yaml:6:16: exchange.client_cert: give client_cert and client_key together");
  CHECK(contains(f.error(with_exchange("  ca_file: @DIR@/not-a-cert\n")),
                 "agent.yaml:6:12: exchange.ca_file: " + (f.dir / "not-a-cert").string() +
                     " holds no PEM certificate"));
  CHECK(contains(f.error(with_exchange("  ca_file: @DIR@/missing.pem\n")),
                 "agent.yaml:6:12: exchange.ca_file: cannot read "));
  CHECK(f.error(with_exchange("  require_signature: true\n")) ==
        "agent.yaml:6:22: exchange.require_signature: needs the platform's public keys in "
        "exchange.signing_keys");
  CHECK(f.error(with_exchange("  require_signature: true\n  signing_keys: {}\n")) ==
        "agent.yaml:7:17: exchange.signing_keys: is empty, but require_signature needs at least "
        "one key");
  CHECK(f.error(with_exchange("  signing_keys:\n    k1: @DIR@/ec.pub\n")) ==
        "agent.yaml:7:9: exchange.signing_keys.k1: " + (f.dir / "ec.pub").string() +
            ": the key is of type EC; signing keys are ed25519 or sm2");
  CHECK(f.error(with_exchange("  signing_keys:\n    k1: @DIR@/cert.pem\n"))
            .find("exchange.signing_keys.k1: " + (f.dir / "cert.pem").string() +
                  ": not a PEM public key") != std::string::npos);
  CHECK(f.error(with_exchange("  signing_keys:\n    \"bad\\tid\": @DIR@/ec.pub\n")) ==
        "agent.yaml:7:5: exchange.signing_keys: key ids are 1-256 bytes of UTF-8 without control "
        "characters");
  // The protocol sets no character rule for key ids: this one is taken (and its key checked).
  CHECK(f.error(with_exchange("  signing_keys:\n    \"city:2026 主\": @DIR@/ec.pub\n"))
            .find("the key is of type EC") != std::string::npos);
  CHECK(f.error(with_exchange("  signing_keys:\n    k1:\n")) ==
        "agent.yaml:7:5: exchange.signing_keys.k1: expected the path of a PEM public key file, "
        "found an empty value");
}

TEST_CASE("secret files readable by others or writable by group or others are refused") {
  Fixture f;
  const auto token = (f.dir / "token").string();
  set_mode(f.dir / "token", 0644);
  CHECK(f.error(kBase + "  []\n") ==
        "agent.yaml:5:15: exchange.token_file: " + token +
            " has mode 0644 (readable by other users): chmod 600 it, or 640 to share it with a "
            "group");
  set_mode(f.dir / "token", 0660);
  CHECK(
      contains(f.error(kBase + "  []\n"), token + " has mode 0660 (writable by group or others)"));
  set_mode(f.dir / "token", 0606);
  CHECK(contains(f.error(kBase + "  []\n"),
                 token + " has mode 0606 (readable by other users and writable by group or "
                         "others)"));
  set_mode(f.dir / "token", 0640);  // group-readable: fine
  CHECK(f.parse(kBase + "  []\n").ok());
  set_mode(f.dir / "token", 0400);
  CHECK(f.parse(kBase + "  []\n").ok());

  set_mode(f.dir / "pw", 0604);
  const auto pw = replace_all(kBase, "Database=/tmp/x.db\"\n",
                              "Database=/tmp/x.db\"\n    password_file: @PW@\n");
  CHECK(contains(f.error(pw + "  []\n"),
                 "targets.db.password_file: " + (f.dir / "pw").string() + " has mode 0604"));

  write(f.dir / "cert.pem", kCert);
  write(f.dir / "client.key", kKey);
  write(f.dir / "keypw", "x\n");
  set_mode(f.dir / "client.key", 0644);
  set_mode(f.dir / "keypw", 0644);
  const auto message =
      f.error(with_exchange("  client_cert: @DIR@/cert.pem\n  client_key: @DIR@/client.key\n"
                            "  key_password_file: @DIR@/keypw\n"));
  CHECK(contains(message,
                 "exchange.client_key: " + (f.dir / "client.key").string() + " has mode 0644"));
  CHECK(contains(message,
                 "exchange.key_password_file: " + (f.dir / "keypw").string() + " has mode 0644"));
}

// kBase with the db target's connection string replaced (line 9) and `lines` added after it.
std::string with_connection(const std::string& connection, const std::string& lines = "") {
  return replace_all(kBase, "    connection: \"Driver=SQLite3;Database=/tmp/x.db\"\n",
                     "    connection: \"" + connection + "\"\n" + lines) +
         "  []\n";
}

TEST_CASE("a connection string names a registered driver, not a library file") {
  Fixture f;
  for (std::string cs :
       {"Driver=SQLite3;Database=/tmp/x.db", "Driver={PostgreSQL Unicode};Server=h",
        "DRIVER={MariaDB Unicode};Database=ods", "driver = DM8 ;Server=dm",
        "DSN=local;Database=/var/lib/fep/a.so", "Driver={Some.Solution}"}) {
    CAPTURE(cs);
    auto config = f.parse(with_connection(cs));
    REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.error().message));
    CHECK_FALSE(config->targets.at("db").allow_driver_path);
  }
  for (std::string cs :
       {"Driver=/usr/lib/x86_64-linux-gnu/odbc/libsqlite3odbc.so;Database=/tmp/x.db",
        "DRIVER={/opt/dmdbms/bin/libdodbc.so};Server=dm", "driver = libevil.so ;Database=x",
        "Driver=libsqlite3odbc.SO", "Driver=libmaodbc.so.3", "Driver=./odbc",
        "Driver={lib;evil.so}", "Driver={/tmp/a}}b};Server=x",
        // Hidden from a parser that honours braces, not from one that does not.
        "Driver=SQLite3;Database={x;Driver=/tmp/evil.so}"}) {
    CAPTURE(cs);
    CHECK(f.error(with_connection(cs)) ==
          "agent.yaml:9:17: targets.db.connection: Driver= names a library file (a path, or a "
          "name ending in .so); name a driver registered in /etc/odbcinst.ini, or set "
          "allow_driver_path: true to load that library");
    auto allowed = f.parse(with_connection(cs, "    allow_driver_path: true\n"));
    REQUIRE_MESSAGE(allowed.ok(), (allowed.ok() ? "" : allowed.error().message));
    CHECK(allowed->targets.at("db").allow_driver_path);
    CHECK(allowed->targets.at("db").connection == cs);
  }
}

TEST_CASE("allow_driver_path: a boolean, for odbc targets only, never echoing the connection") {
  Fixture f;
  const auto message = f.error(with_connection("Driver=/tmp/x.so;PWD=hunter2-secret"));
  CHECK(contains(message, "targets.db.connection: Driver= names a library file"));
  CHECK_FALSE(contains(message, "hunter2"));
  CHECK_FALSE(contains(message, "/tmp/x.so"));
  CHECK(f.error(with_connection("Driver=SQLite3", "    allow_driver_path: yes\n")) ==
        "agent.yaml:10:24: targets.db.allow_driver_path: expected true or false, found \"yes\"");
  CHECK(contains(f.error(replace_all(kBase, "    path: /tmp/files\n",
                                     "    path: /tmp/files\n    allow_driver_path: true\n") +
                         "  []\n"),
                 "agent.yaml:13:5: targets.files.allow_driver_path: unknown key"));
  auto config = f.parse(kBase + "  []\n");
  REQUIRE(config.ok());
  CHECK(config->targets.at("db").allow_driver_path == TargetConfig{}.allow_driver_path);
}

TEST_CASE("security keys are in the reference") {
  const auto md = config_reference_markdown();
  for (const char* row :
       {"| `ca_file` | path | no |", "| `client_cert` | path | no |",
        "| `client_key` | path | no |", "| `key_password_file` | path | no |",
        "| `pinned_pubkey` | string or list | no |", "| `proxy` | string | no |",
        "| `require_signature` | boolean | no | `false` |", "| `signing_keys` | map | no |",
        "| `allow_driver_path` | boolean | no | `false` |"}) {
    CAPTURE(row);
    CHECK(contains(md, row));
  }
}

}  // namespace fep::config_test
