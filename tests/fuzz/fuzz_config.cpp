// The configuration loader on YAML text, as if read from <scratch>/agent.yaml. The scratch
// folder holds the files the seed configurations name by relative path (token, database
// password, TLS files, signing keys), so the checks behind them are reached too. The loader
// must answer every input with a Config or an error naming file:line:column, never a secret.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "agent/config/config.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace fep;
namespace fs = std::filesystem;

constexpr std::string_view kToken = "fuzz-T0KEN-secret";
constexpr std::string_view kPassword = "fuzz-PA55W0RD-secret";

constexpr std::string_view kEd25519Pub =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEA27MyTHC+/a9PmuUbaW7fi++2e1c4Caeblplq9GsqkbI=\n"
    "-----END PUBLIC KEY-----\n";
constexpr std::string_view kSm2Pub =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAEYac6afQbdyW5Cp7qLRmlu4jptFHl\n"
    "KhzCswYoBzg7POBrL564L3Q4+v5aQTzU6A6KhNO4qhQWgmSwwBS97Gz2Mg==\n"
    "-----END PUBLIC KEY-----\n";

void secret(const fs::path& path, std::string_view text) {
  fuzz::write_file(path, text);
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
}

const fs::path& config_dir() {
  static const fs::path dir = [] {
    const fs::path d = fuzz::scratch_dir() / "etc";
    fs::create_directories(d / "tls");
    fs::create_directories(d / "keys");
    secret(d / "token", std::string(kToken) + "\n");
    secret(d / "db-password", kPassword);
    secret(d / "tls/node.key", "-----BEGIN PRIVATE KEY-----\nMC4C\n-----END PRIVATE KEY-----\n");
    secret(d / "tls/node.key.pass", "pass phrase\n");
    fuzz::write_file(d / "tls/platform-ca.pem",
                     "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    fuzz::write_file(d / "tls/node.pem",
                     "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    fuzz::write_file(d / "keys/city-2026.pem", kEd25519Pub);
    fuzz::write_file(d / "keys/gm-2026.pem", kSm2Pub);
    secret(d / "token-public", std::string(kToken));
    fs::permissions(d / "token-public", fs::perms::others_read, fs::perm_options::add);
    return d;
  }();
  return dir;
}

// The loader reads whatever files a configuration names. Device and kernel files can block or
// never end (/dev/zero, /dev/stdin, a FIFO under /run), which says nothing about the parser:
// inputs that may name one are skipped, and so are backslashes, with which YAML escapes and
// joined lines could spell such a name.
bool may_name_special_files(std::string_view yaml) {
  for (std::string_view special : {"/dev", "/proc", "/sys", "/run", "\\"})
    if (yaml.find(special) != std::string_view::npos) return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  if (may_name_special_files(yaml)) return 0;
  const std::string name = (config_dir() / "agent.yaml").string();
  auto config = parse_config(yaml, name);
  if (config) return 0;
  const std::string& message = config.error().message;
  fuzz::require(message.rfind(name, 0) == 0, "an error that does not start with the file name");
  // Secrets never show, unless the input itself holds them (a connection string may).
  if (yaml.find(kToken) == std::string::npos)
    fuzz::require(message.find(kToken) == std::string::npos, "an error shows the token");
  if (yaml.find(kPassword) == std::string::npos)
    fuzz::require(message.find(kPassword) == std::string::npos, "an error shows the password");
  return 0;
}
