// Test helpers: a throwaway SQLite database behind the real SQLite3 ODBC driver.
#pragma once

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/odbc/odbc.h"

namespace fep::odbc::testing {

struct TempDb {
  std::filesystem::path dir;

  TempDb() {
    char pattern[] = "/tmp/fep-odbc-test-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    dir = pattern;
  }
  ~TempDb() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  TempDb(const TempDb&) = delete;
  TempDb& operator=(const TempDb&) = delete;

  std::string connection_string() const {
    return "Driver=SQLite3;Database=" + (dir / "x.db").string();
  }
  std::unique_ptr<Connection> open() const {
    auto c = connect(connection_string(), std::nullopt);
    REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message));
    return std::move(c).value();
  }
};

using Row = std::vector<std::optional<std::string>>;

// Runs `sql` with `params` and returns `columns` columns of every row.
inline std::vector<Row> query(Connection& conn, const std::string& sql, int columns,
                              const std::vector<Param>& params = {}) {
  auto stmt = conn.prepare(sql);
  REQUIRE_MESSAGE(stmt.ok(), (stmt.ok() ? "" : stmt.error().message));
  auto run = (*stmt)->execute(params);
  REQUIRE_MESSAGE(run.ok(), (run.ok() ? "" : run.error().message));
  std::vector<Row> rows;
  for (;;) {
    auto more = (*stmt)->fetch();
    REQUIRE(more.ok());
    if (!*more) break;
    Row row;
    for (int i = 0; i < columns; ++i) {
      auto v = (*stmt)->get_text(i);
      REQUIRE_MESSAGE(v.ok(), (v.ok() ? "" : v.error().message));
      row.push_back(*v);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// Executes `sql` with `params`, failing the test on an error.
inline void run(Connection& conn, const std::string& sql, const std::vector<Param>& params = {}) {
  auto stmt = conn.prepare(sql);
  REQUIRE_MESSAGE(stmt.ok(), (stmt.ok() ? "" : stmt.error().message));
  auto r = (*stmt)->execute(params);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
}

}  // namespace fep::odbc::testing
