#include "agent/store/sqlite_db.h"

namespace fep::store {

std::string Row::text(int col) const {
  auto p = sqlite3_column_text(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
           : std::string();
}

std::optional<std::string> Row::optional_text(int col) const {
  if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
  return text(col);
}

std::optional<int64_t> Row::optional_integer(int col) const {
  if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
  return integer(col);
}

Expected<Database> Database::open_with(const std::filesystem::path& path, int flags,
                                       std::string_view how) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  Database db(raw);
  if (rc != SQLITE_OK)
    return fail("cannot open state database " + path.string() + std::string(how) + ": " +
                (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  // Another process (status while the daemon syncs) may hold the write lock briefly.
  sqlite3_busy_timeout(raw, 10000);
  return db;
}

Expected<Database> Database::open(const std::filesystem::path& path) {
  return open_with(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "");
}

Expected<Database> Database::open_read_only(const std::filesystem::path& path) {
  return open_with(path, SQLITE_OPEN_READONLY, " read-only");
}

Status Database::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return fail("state database: " + msg + " (in: " + sql.substr(0, 60) + ")");
  }
  return {};
}

std::string Database::error_text(const std::string& sql) const {
  return std::string("state database: ") + sqlite3_errmsg(db_.get()) +
         " (in: " + sql.substr(0, 60) + ")";
}

Expected<std::unique_ptr<sqlite3_stmt, Sqlite3Finalize>> Database::prepare(
    const std::string& sql, const std::vector<SqlValue>& params) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_.get(), sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr) !=
      SQLITE_OK)
    return fail(error_text(sql));
  std::unique_ptr<sqlite3_stmt, Sqlite3Finalize> stmt(raw);
  for (size_t i = 0; i < params.size(); ++i) {
    int idx = static_cast<int>(i + 1);
    int rc = std::visit(
        [&](const auto& v) -> int {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, std::nullptr_t>)
            return sqlite3_bind_null(raw, idx);
          else if constexpr (std::is_same_v<V, int64_t>)
            return sqlite3_bind_int64(raw, idx, v);
          else
            return sqlite3_bind_text(raw, idx, v.data(), static_cast<int>(v.size()),
                                     SQLITE_TRANSIENT);
        },
        params[i]);
    if (rc != SQLITE_OK) return fail(error_text(sql));
  }
  return stmt;
}

Transaction::Transaction(Database& db) : db_(db), begun_(db.exec("BEGIN IMMEDIATE")) {}

Transaction::~Transaction() {
  if (begun_.ok() && !done_) (void)db_.exec("ROLLBACK");
}

Status Transaction::commit() {
  auto st = db_.exec("COMMIT");
  if (st.ok()) done_ = true;
  return st;
}

}  // namespace fep::store
