// Base64 as the protocol uses it: the standard alphabet with padding (RFC 4648 section 4).
#pragma once

#include <string>
#include <string_view>

#include "adapters/base/expected.h"

namespace fep::crypto {

std::string base64_encode(std::string_view bytes);

// Strict: length a multiple of 4, only A-Z a-z 0-9 + /, '=' only as the final padding, and the
// unused bits of the last group zero (so one text decodes from exactly one byte string).
// No whitespace. The error says what is wrong, never echoes the text.
Expected<std::string> base64_decode(std::string_view text);

}  // namespace fep::crypto
