// Time stamps and identifiers in the forms the protocol uses.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fep {

// RFC 3339 with the local offset, seconds precision: 2026-11-20T02:03:11+08:00.
std::string rfc3339_now();
std::string rfc3339(std::chrono::system_clock::time_point t);

// Seconds since the epoch of an RFC 3339 time stamp (2026-11-20T02:03:11+08:00, ...Z, with or
// without fractional seconds); nullopt when it is not one.
std::optional<int64_t> parse_rfc3339(std::string_view text);

// Seconds from one time stamp to a later one, never negative; nullopt when either is missing
// or not RFC 3339.
std::optional<int64_t> seconds_between(const std::optional<std::string>& from,
                                       const std::optional<std::string>& to);

// A random (version 4) UUID in its canonical lowercase form.
std::string new_uuid();

// True when `id` is 1 to 128 characters of [A-Za-z0-9._-] (the protocol's id alphabet).
bool is_valid_id(std::string_view id);

}  // namespace fep
