// The dialects' constructors (internal to adapters/dialects; use make_dialect).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "adapters/dialects/dialect.h"

namespace fep::sql {

std::unique_ptr<Dialect> make_sqlite_dialect(std::string quote);
std::unique_ptr<Dialect> make_postgresql_dialect(std::string quote,
                                                 std::optional<std::string> db_schema);
std::unique_ptr<Dialect> make_kingbase_dialect(std::string quote,
                                               std::optional<std::string> db_schema);
// `mariadb`: the server is MariaDB rather than MySQL (they name their collations differently).
std::unique_ptr<Dialect> make_mysql_dialect(std::string quote, bool mariadb);
std::unique_ptr<Dialect> make_dm_dialect(std::string quote, std::optional<std::string> db_schema);

}  // namespace fep::sql
