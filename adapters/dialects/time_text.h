// Time-zone arithmetic on the protocol's normalised timestamptz text (internal to dialects).
#pragma once

#include <string>

namespace fep::sql {

// "YYYY-MM-DD HH:MM:SS[.ffffff]±HH:MM" -> the same instant in UTC without an offset,
// "YYYY-MM-DD HH:MM:SS[.ffffff]", for databases whose types hold no offset. Leaves other text
// unchanged.
void to_utc_without_offset(std::string& value);

}  // namespace fep::sql
