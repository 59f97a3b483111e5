#include "agent/config/config_values.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <limits>

namespace fep::config {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  const auto number = text.substr(0, digits);
  const auto unit = text.substr(digits);
  long long factor = 0;
  if (unit == "ms")
    factor = 1;
  else if (unit == "s")
    factor = 1000;
  else if (unit == "m")
    factor = 60'000;
  else if (unit == "h")
    factor = 3'600'000;
  else if (unit == "d")
    factor = 86'400'000;
  if (factor == 0 || number.empty()) return std::nullopt;
  long long n = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), n);
  if (ec != std::errc() || end != number.data() + number.size()) return std::nullopt;
  if (n > std::numeric_limits<long long>::max() / factor) return std::nullopt;
  return std::chrono::milliseconds(n * factor);
}

std::optional<bool> parse_bool(std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  return std::nullopt;
}

std::optional<long long> parse_integer(std::string_view text) {
  const bool negative = !text.empty() && text.front() == '-';
  if (!all_digits(negative ? text.substr(1) : text)) return std::nullopt;
  long long n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

std::optional<std::string> check_url(std::string_view url, bool allow_insecure_http) {
  std::string_view rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    if (!allow_insecure_http)
      return "http:// sends the token in clear text; use https://, or set "
             "exchange.allow_insecure_http: true (tests, loopback only)";
    rest = url.substr(7);
  } else {
    return "must start with https://";
  }
  if (std::any_of(url.begin(), url.end(),
                  [](char c) { return std::isspace(static_cast<unsigned char>(c)) || c == '\0'; }))
    return "must not contain spaces";
  const auto authority = rest.substr(0, rest.find_first_of("/?#"));
  // Credentials in the URL would end up in logs; the token belongs in token_file.
  if (authority.find('@') != std::string_view::npos)
    return "must not carry credentials (user@); put the token in exchange.token_file";
  if (authority.empty() || authority.front() == ':') return "has no host";
  if (rest.find_first_of("?#") != std::string_view::npos)
    return "must not have a query or fragment (it is the API's base URL)";
  return std::nullopt;
}

std::string normalize_url(std::string_view url) {
  while (url.ends_with('/')) url.remove_suffix(1);
  return std::string(url);
}

std::optional<std::string> check_listen(std::string_view listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string_view::npos) return "must be host:port (e.g. 127.0.0.1:8470)";
  const auto host = listen.substr(0, colon);
  const auto port = listen.substr(colon + 1);
  const bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
  if (host.empty() || (!bracketed && host.find_first_of(":[] \t") != std::string_view::npos))
    return "must be host:port with a host (IPv6 addresses in brackets: [::1]:8470)";
  const auto n = all_digits(port) && port.size() <= 5 ? parse_integer(port) : std::nullopt;
  if (!n || *n < 1 || *n > 65535) return "port must be 1-65535";
  return std::nullopt;
}

bool is_valid_target_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

std::optional<std::string> check_subfolder(std::string_view path) {
  if (path.empty()) return "must not be empty";
  if (path.front() == '/') return "must be relative to the target's folder, not absolute";
  const std::filesystem::path p(path);
  for (const auto& part : p)
    if (part == "..") return "must not contain '..'";
  const auto normal = p.lexically_normal();
  if (normal.empty() || normal == ".") return "must name a folder below the target's folder";
  return std::nullopt;
}

bool connection_has_password(std::string_view connection) {
  // Attributes are KEY=VALUE separated by ';'; a value in braces may itself contain ';'.
  size_t i = 0;
  while (i < connection.size()) {
    const auto eq = connection.find('=', i);
    const auto semi = connection.find(';', i);
    if (eq == std::string_view::npos) break;
    if (semi < eq) {
      i = semi + 1;
      continue;
    }
    const auto key = trim(connection.substr(i, eq - i));
    if (iequals(key, "PWD") || iequals(key, "Password")) return true;
    size_t j = eq + 1;
    while (j < connection.size() && connection[j] == ' ') ++j;
    if (j < connection.size() && connection[j] == '{') {
      // "}}" inside braces is an escaped '}'.
      for (++j; j < connection.size(); ++j) {
        if (connection[j] != '}') continue;
        if (j + 1 < connection.size() && connection[j + 1] == '}') {
          ++j;
          continue;
        }
        break;
      }
    }
    const auto next = connection.find(';', j);
    if (next == std::string_view::npos) break;
    i = next + 1;
  }
  return false;
}

}  // namespace fep::config
