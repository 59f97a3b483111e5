// Text-level checks behind normalize_value: digits, UTF-8, dates and times, base64.
// Private to fep_batch.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "adapters/base/expected.h"
#include "adapters/dialects/table_schema.h"

namespace fep::value_text {

// True when every byte is an ASCII digit (and for the empty string).
bool all_digits(std::string_view s);

// The value in double quotes for an error message: shortened, and bytes that are not printable
// UTF-8 written as \xNN, so the message itself is always valid UTF-8.
std::string quote(std::string_view v);

// The number of code points, or an error naming the byte offset of invalid UTF-8.
Expected<size_t> utf8_length(std::string_view s);

// YYYY-MM-DD, a real calendar date; `used` = 10.
bool parse_date(std::string_view s, size_t& used);
// HH:MM:SS with an optional fraction of 1 to 6 digits, at the start of `s`.
bool parse_time(std::string_view s, size_t& used);
// The whole of `s` is Z or +HH:MM / -HH:MM.
bool parse_offset(std::string_view s);
// The accepted form, for error messages.
std::string_view date_time_form(sql::ColumnKind kind);

// Standard alphabet with padding.
Status base64_decode(std::string_view s, std::string& out);

}  // namespace fep::value_text
