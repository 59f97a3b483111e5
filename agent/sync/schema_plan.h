// What a batch's table schema means for the local table: use it, create it, add columns,
// rebuild it, or refuse the batch (SCHEMA_MISMATCH).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/base/expected.h"
#include "adapters/dialects/table_schema.h"
#include "agent/batch/manifest.h"
#include "agent/batch/rejection.h"
#include "agent/config/config.h"

namespace fep {

struct SchemaPlan {
  enum class Action { keep, create, add_columns, rebuild };
  Action action = Action::keep;
  std::vector<sql::Column> added;  // add_columns: the new nullable columns
};

// `wanted`: the manifest's table under its local name. `registered`: the schema the agent
// recorded for the table (_fep_tables), if any. `existing`: the table's column names, nullopt
// when the table does not exist.
Expected<SchemaPlan, Rejection> plan_schema(const sql::TableSchema& wanted,
                                            const std::optional<sql::TableSchema>& registered,
                                            const std::optional<std::vector<std::string>>& existing,
                                            BatchMode mode, OnSchemaChange policy);

// The registry's form of a schema (the manifest's "table" object) and back.
std::string schema_to_json(const sql::TableSchema& schema);
Expected<sql::TableSchema> schema_from_json(std::string_view json);

}  // namespace fep
