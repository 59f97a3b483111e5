// A thin RAII layer over sqlite3 for the state store: one connection, prepared statements,
// explicit transactions.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "adapters/base/expected.h"

namespace fep::store {

struct Sqlite3Close {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct Sqlite3Finalize {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};

using SqlValue = std::variant<std::nullptr_t, int64_t, std::string>;

class Row {
 public:
  explicit Row(sqlite3_stmt* stmt) : stmt_(stmt) {}
  int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col) const;
  std::optional<std::string> optional_text(int col) const;
  std::optional<int64_t> optional_integer(int col) const;

 private:
  sqlite3_stmt* stmt_;
};

class Database {
 public:
  static Expected<Database> open(const std::filesystem::path& path);
  // For readers beside the agent (the status page): never creates or writes the file.
  static Expected<Database> open_read_only(const std::filesystem::path& path);

  // Runs statements without results (DDL, PRAGMA, BEGIN/COMMIT).
  Status exec(const std::string& sql);
  // Runs one statement with bound values; `on_row` is called for every result row.
  template <class F>
  Status query(const std::string& sql, const std::vector<SqlValue>& params, F&& on_row);
  Status run(const std::string& sql, const std::vector<SqlValue>& params) {
    return query(sql, params, [](const Row&) {});
  }
  int64_t changes() const { return sqlite3_changes64(db_.get()); }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  static Expected<Database> open_with(const std::filesystem::path& path, int flags,
                                      std::string_view how);
  Expected<std::unique_ptr<sqlite3_stmt, Sqlite3Finalize>> prepare(
      const std::string& sql, const std::vector<SqlValue>& params);
  std::string error_text(const std::string& sql) const;

  std::unique_ptr<sqlite3, Sqlite3Close> db_;
};

template <class F>
Status Database::query(const std::string& sql, const std::vector<SqlValue>& params, F&& on_row) {
  auto stmt = prepare(sql, params);
  if (!stmt) return Unexpected{stmt.error()};
  for (;;) {
    int rc = sqlite3_step(stmt->get());
    if (rc == SQLITE_DONE) return {};
    if (rc != SQLITE_ROW) return fail(error_text(sql));
    on_row(Row(stmt->get()));
  }
}

// BEGIN IMMEDIATE on construction, ROLLBACK on destruction unless commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  const Status& begun() const { return begun_; }
  Status commit();

 private:
  Database& db_;
  Status begun_;
  bool done_ = false;
};

}  // namespace fep::store
