// Parsers and checks for single config values, independent of YAML (internal to fep_config).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace fep::config {

// "15s", "500ms", "2m", "1h", "30d": a non-negative integer and one of the units ms|s|m|h|d.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
// The longest duration a configuration may give: 100 years.
inline constexpr std::chrono::milliseconds kMaxDuration{36500LL * 86'400'000};
// Only the plain words true and false: "yes", "on" and "1" are typos more often than intent.
std::optional<bool> parse_bool(std::string_view text);
// Decimal digits with an optional leading '-'; no '+', spaces, hex or fractions.
std::optional<long long> parse_integer(std::string_view text);

// Each check returns an error text (no value echoed when it may be secret), or nothing when fine.

// https://host[...] or, when `allow_insecure_http`, http://host[...].
std::optional<std::string> check_url(std::string_view url, bool allow_insecure_http);
// The URL without trailing '/'.
std::string normalize_url(std::string_view url);

// host:port or [v6-address]:port, port 1-65535.
std::optional<std::string> check_listen(std::string_view listen);

// [A-Za-z0-9_-]+
bool is_valid_target_name(std::string_view name);

// A relative folder below the target's root: not absolute, no "..", not empty.
std::optional<std::string> check_subfolder(std::string_view path);

// True when the ODBC connection string has a PWD= or Password= attribute (any case).
bool connection_has_password(std::string_view connection);

}  // namespace fep::config
