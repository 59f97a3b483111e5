// The SQLite dialect (internal to adapters/dialects; use make_dialect).
#pragma once

#include <memory>
#include <string>

#include "adapters/dialects/dialect.h"

namespace fep::sql {

std::unique_ptr<Dialect> make_sqlite_dialect(std::string quote);

}  // namespace fep::sql
