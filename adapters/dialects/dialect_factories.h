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
// `collation`: of new tables (mysql_collation in dialect.h); `mariadb`: the server is MariaDB.
std::unique_ptr<Dialect> make_mysql_dialect(std::string quote, std::string collation, bool mariadb);
std::unique_ptr<Dialect> make_dm_dialect(std::string quote, std::optional<std::string> db_schema);

}  // namespace fep::sql
