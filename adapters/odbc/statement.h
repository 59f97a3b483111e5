// The ODBC Statement (internal to adapters/odbc): prepared statements and catalog result sets.
#pragma once

#include <memory>
#include <vector>

#include "adapters/odbc/handles.h"
#include "adapters/odbc/odbc.h"

namespace fep::odbc {

class OdbcStatement final : public Statement {
 public:
  OdbcStatement(std::shared_ptr<Session> session, StmtHandle stmt)
      : session_(std::move(session)), stmt_(std::move(stmt)) {}

  DbExpected<void> execute(const std::vector<Param>& params) override;
  Expected<void, ArrayError> execute_array(const std::vector<ParamColumn>& columns) override;
  DbExpected<int64_t> rows_affected() override;
  DbExpected<bool> fetch() override;
  DbExpected<std::optional<std::string>> get_text(int index) override;

 private:
  DbError error(SQLRETURN rc, std::string_view call) const;

  std::shared_ptr<Session> session_;  // declared first: destroyed after the statement handle
  StmtHandle stmt_;
  void reset_array_attributes();

  std::vector<SQLLEN> indicators_;  // bound to the parameters; must live through SQLExecute
  // Parameter-array buffers, reused across executions.
  std::vector<std::vector<char>> array_data_;
  std::vector<std::vector<SQLLEN>> array_indicators_;
  std::vector<SQLUSMALLINT> array_status_;
};

// Allocates a statement handle on the session's connection.
DbExpected<StmtHandle> alloc_statement(const Session& session);

}  // namespace fep::odbc
