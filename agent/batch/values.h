// Checks a CSV value against its column type and turns it into the form bound to the database.
#pragma once

#include <string>
#include <string_view>

#include "adapters/base/expected.h"
#include "adapters/dialects/table_schema.h"

namespace fep {

// On success `out` holds the canonical text (booleans as "1"/"0", timestamps with a space
// between date and time, decimals as given) or, for binary columns, the decoded bytes.
// The error message says why the value is not valid for the type, without the line number.
Status normalize_value(const sql::ColumnType& type, std::string_view value, bool quoted,
                       std::string& out);

}  // namespace fep
