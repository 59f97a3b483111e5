// exchange: TLS settings (CA, client certificate, pins, proxy) and the manifest signing keys; the
// file-mode check every secret file must pass; and which driver an ODBC connection may load.
#include <sys/stat.h>

#include <cctype>
#include <cstdio>
#include <string_view>
#include <vector>

#include "adapters/base/clock.h"
#include "adapters/base/files.h"
#include "adapters/crypto/base64.h"
#include "adapters/crypto/signature.h"
#include "agent/config/config_build.h"

namespace fep::config {

std::optional<std::string> check_secret_mode(const std::filesystem::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return std::nullopt;  // reading it says why
  const unsigned mode = st.st_mode & 07777;
  // Group read is allowed (root:fep-agent 0640); anything more is not.
  const bool others_read = (mode & S_IROTH) != 0;
  const bool foreign_write = (mode & (S_IWGRP | S_IWOTH)) != 0;
  if (!others_read && !foreign_write) return std::nullopt;
  char octal[8];
  std::snprintf(octal, sizeof octal, "%04o", mode);
  const char* what = others_read && foreign_write ? "readable by other users and writable by "
                                                    "group or others"
                     : others_read                ? "readable by other users"
                                                  : "writable by group or others";
  return file.string() + " has mode " + octal + " (" + what +
         "): chmod 600 it, or 640 to share it with a group";
}

namespace {

// A file named by `key` that must be readable and hold `marker` (a PEM header); its path.
std::optional<std::filesystem::path> pem_file(const Section& ex, std::string_view key,
                                              std::string_view marker, std::string_view what,
                                              bool secret, BuildContext& ctx) {
  if (!ex.given(key)) return std::nullopt;
  auto file = resolve(ctx, ex.text(key));
  if (secret) {
    if (auto problem = check_secret_mode(file)) {
      ctx.diag.error(ex.mark(key), ex.path(key), *problem);
      return std::nullopt;
    }
  }
  auto text = read_file(file, kMaxTextFileBytes);
  if (!text) {
    ctx.diag.error(ex.mark(key), ex.path(key), text.error().message);
    return std::nullopt;
  }
  if (text->find(marker) == std::string::npos) {
    ctx.diag.error(ex.mark(key), ex.path(key),
                   file.string() + " holds no " + std::string(what) + " (no \"" +
                       std::string(marker) + "\" line)");
    return std::nullopt;
  }
  return file;
}

void build_pins(const Section& ex, BuildContext& ctx, ExchangeConfig& out) {
  if (!ex.given("pinned_pubkey")) return;
  const auto& node = ex.node("pinned_pubkey");
  std::vector<std::pair<std::string, Mark>> items;
  if (node.IsSequence()) {
    if (node.size() == 0)
      ctx.diag.error(ex.mark("pinned_pubkey"), ex.path("pinned_pubkey"),
                     "is an empty list (leave the key out for no pinning)");
    for (const auto& item : node) {
      if (!item.IsScalar()) {
        ctx.diag.error(mark_of(item), ex.path("pinned_pubkey"),
                       "expected a string, found " + std::string(describe(item)));
        continue;
      }
      items.emplace_back(item.Scalar(), mark_of(item));
    }
  } else {
    items.emplace_back(ex.text("pinned_pubkey"), ex.mark("pinned_pubkey"));
  }
  constexpr std::string_view kPrefix = "sha256//";
  for (const auto& [pin, mark] : items) {
    const bool prefixed = pin.compare(0, kPrefix.size(), kPrefix) == 0;
    auto hash = prefixed ? crypto::base64_decode(std::string_view(pin).substr(kPrefix.size()))
                         : Expected<std::string>(fail(""));
    if (!hash || hash->size() != 32) {
      ctx.diag.error(
          mark, ex.path("pinned_pubkey"),
          "expected \"sha256//\" and the base64 of a 32-byte SHA-256, found \"" + pin + "\"");
      continue;
    }
    out.pinned_pubkeys.push_back(pin);
  }
}

void build_proxy(const Section& ex, BuildContext& ctx, ExchangeConfig& out) {
  if (!ex.given("proxy")) return;
  const std::string& proxy = ex.text("proxy");
  const auto scheme_end = proxy.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : proxy.substr(0, scheme_end);
  for (const char* allowed : {"http", "https", "socks4", "socks4a", "socks5", "socks5h"})
    if (scheme == allowed && proxy.size() > scheme_end + 3) {
      out.proxy = proxy;
      return;
    }
  // Not echoed: a proxy URL may carry a user and password.
  ctx.diag.error(ex.mark("proxy"), ex.path("proxy"),
                 "expected a URL starting with http://, https://, socks4://, socks4a://, "
                 "socks5:// or socks5h://");
}

void build_signing_keys(const Section& ex, BuildContext& ctx, ExchangeConfig& out) {
  out.require_signature = ex.boolean("require_signature");
  if (ex.given("signing_keys")) {
    for (const auto& entry : ex.node("signing_keys")) {
      const auto key_mark = mark_of(entry.first);
      if (!entry.first.IsScalar() || !crypto::is_valid_key_id(entry.first.Scalar())) {
        ctx.diag.error(key_mark, ex.path("signing_keys"),
                       "key ids are 1-256 bytes of UTF-8 without control characters");
        continue;
      }
      const std::string key_id = entry.first.Scalar();
      const auto path = join_path(ex.path("signing_keys"), key_id);
      const auto value_mark = entry.second.IsNull() ? key_mark : mark_of(entry.second);
      if (!entry.second.IsScalar() || entry.second.Scalar().empty()) {
        ctx.diag.error(value_mark, path,
                       "expected the path of a PEM public key file, found " +
                           std::string(describe(entry.second)));
        continue;
      }
      SigningKey key;
      key.file = resolve(ctx, entry.second.Scalar());
      auto pem = read_file(key.file, kMaxTextFileBytes);
      if (!pem) {
        ctx.diag.error(value_mark, path, pem.error().message);
        continue;
      }
      auto alg = crypto::public_key_alg(*pem);
      if (!alg) {
        ctx.diag.error(value_mark, path, key.file.string() + ": " + alg.error().message);
        continue;
      }
      key.alg = std::move(*alg);
      key.public_pem = std::move(*pem);
      out.signing_keys.emplace(key_id, std::move(key));
    }
  }
  if (out.require_signature && !ex.given("signing_keys"))
    ctx.diag.error(ex.mark("require_signature"), ex.path("require_signature"),
                   "needs the platform's public keys in exchange.signing_keys");
  else if (out.require_signature && ex.node("signing_keys").size() == 0)
    ctx.diag.error(ex.mark("signing_keys"), ex.path("signing_keys"),
                   "is empty, but require_signature needs at least one key");
}

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_driver_key(std::string_view key) {
  key = trim_blanks(key);
  constexpr std::string_view kDriver = "DRIVER";
  if (key.size() != kDriver.size()) return false;
  for (size_t i = 0; i < key.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(key[i])) != kDriver[i]) return false;
  return true;
}

// Every Driver= value of an ODBC connection string, read two ways: as the driver manager does
// (a value in {braces} may hold ';', "}}" is a literal '}'), and split at every ';' whatever the
// braces say, so that no quoting trick hides one from the check.
std::vector<std::string> driver_values(std::string_view cs) {
  std::vector<std::string> out;
  for (std::string_view rest = cs; !rest.empty();) {
    const auto end = rest.find(';');
    const auto piece = rest.substr(0, end);
    const auto eq = piece.find('=');
    if (eq != std::string_view::npos && is_driver_key(piece.substr(0, eq)))
      out.emplace_back(trim_blanks(piece.substr(eq + 1)));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  }
  size_t i = 0;
  while (i < cs.size()) {
    const auto eq = cs.find('=', i);
    if (eq == std::string_view::npos) break;
    const auto semi = cs.find(';', i);
    if (semi < eq) {
      i = semi + 1;
      continue;
    }
    const bool driver = is_driver_key(cs.substr(i, eq - i));
    size_t j = eq + 1;
    while (j < cs.size() && (cs[j] == ' ' || cs[j] == '\t')) ++j;
    std::string value;
    if (j < cs.size() && cs[j] == '{') {
      for (++j; j < cs.size(); ++j) {
        if (cs[j] == '}') {
          if (j + 1 < cs.size() && cs[j + 1] == '}') {
            value += '}';
            ++j;
            continue;
          }
          ++j;
          break;
        }
        value += cs[j];
      }
    }
    const auto next = cs.find(';', j);
    if (value.empty())
      value = cs.substr(j, next == std::string_view::npos ? cs.size() - j : next - j);
    if (driver) out.emplace_back(trim_blanks(value));
    if (next == std::string_view::npos) break;
    i = next + 1;
  }
  return out;
}

// A driver named by its library file rather than by its odbcinst.ini section: a path (unixODBC
// loads a Driver= value it has no section for as a library), or a file name the dynamic loader
// would look up (libx.so, libx.so.2).
bool names_library(std::string_view driver) {
  if (driver.find('/') != std::string_view::npos) return true;
  std::string lower(driver);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!lower.empty() && lower.back() == '}') lower.pop_back();  // "{lib.so}" split at a ';'
  return lower.ends_with(".so") || lower.find(".so.") != std::string::npos;
}

}  // namespace

void build_odbc_target_security(const Section& t, BuildContext& ctx, TargetConfig& out) {
  out.allow_driver_path = t.boolean("allow_driver_path");
  if (out.allow_driver_path || !t.given("connection")) return;
  for (const auto& driver : driver_values(out.connection))
    if (names_library(driver)) {
      // The connection string is not echoed: it may hold a password.
      ctx.diag.error(t.mark("connection"), t.path("connection"),
                     "Driver= names a library file (a path, or a name ending in .so); name a "
                     "driver registered in /etc/odbcinst.ini, or set allow_driver_path: true to "
                     "load that library");
      return;
    }
}

void build_exchange_security(const Section& ex, BuildContext& ctx, ExchangeConfig& out) {
  out.ca_file =
      pem_file(ex, "ca_file", "-----BEGIN CERTIFICATE-----", "PEM certificate", false, ctx);
  out.client_cert =
      pem_file(ex, "client_cert", "-----BEGIN CERTIFICATE-----", "PEM certificate", false, ctx);
  out.client_key = pem_file(ex, "client_key", "PRIVATE KEY-----", "PEM private key", true, ctx);
  if (ex.given("client_cert") != ex.given("client_key")) {
    const char* given = ex.given("client_cert") ? "client_cert" : "client_key";
    ctx.diag.error(ex.mark(given), ex.path(given), "give client_cert and client_key together");
  }
  if (ex.given("key_password_file")) {
    if (!ex.given("client_key"))
      ctx.diag.error(ex.mark("key_password_file"), ex.path("key_password_file"),
                     "is the passphrase of client_key, which is not set");
    out.key_password_file = resolve(ctx, ex.text("key_password_file"));
    out.key_password = read_secret(ex, "key_password_file", *out.key_password_file, ctx);
  }
  build_pins(ex, ctx, out);
  build_proxy(ex, ctx, out);
  build_signing_keys(ex, ctx, out);
}

}  // namespace fep::config
