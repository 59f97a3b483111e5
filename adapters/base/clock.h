// Time stamps and identifiers in the forms the protocol uses.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace fep {

// RFC 3339 with the local offset, seconds precision: 2026-11-20T02:03:11+08:00.
std::string rfc3339_now();
std::string rfc3339(std::chrono::system_clock::time_point t);

// A random (version 4) UUID in its canonical lowercase form.
std::string new_uuid();

// True when `id` is 1 to 128 characters of [A-Za-z0-9._-] (the protocol's id alphabet).
bool is_valid_id(std::string_view id);

}  // namespace fep
