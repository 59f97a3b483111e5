// Strict UTF-8 checks, shared by everything that takes text from another organisation.
#pragma once

#include <cstddef>
#include <string_view>

namespace fep {

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not valid (overlong forms,
// surrogates and code points above U+10FFFF included).
size_t utf8_sequence_length(std::string_view s, size_t i);

bool is_valid_utf8(std::string_view s);

}  // namespace fep
