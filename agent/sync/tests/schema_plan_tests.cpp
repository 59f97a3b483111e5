#include <doctest/doctest.h>

#include "agent/sync/schema_plan.h"

using namespace fep;

namespace {

sql::Column col(std::string name, std::string_view type, bool nullable = true) {
  return {std::move(name), sql::parse_column_type(type).value(), nullable};
}

const sql::TableSchema kV1{"ent", {col("id", "bigint", false), col("name", "varchar(20)")}, {"id"}};
const std::vector<std::string> kV1Columns{"id", "name"};

sql::TableSchema with(std::vector<sql::Column> extra, sql::TableSchema base = kV1) {
  for (auto& c : extra) base.columns.push_back(std::move(c));
  return base;
}

}  // namespace

TEST_CASE("a missing table is created; an unchanged one is kept") {
  CHECK(plan_schema(kV1, std::nullopt, std::nullopt, BatchMode::full, OnSchemaChange::reject)
            ->action == SchemaPlan::Action::create);
  CHECK(plan_schema(kV1, kV1, kV1Columns, BatchMode::incremental, OnSchemaChange::reject)->action ==
        SchemaPlan::Action::keep);
}

TEST_CASE("new nullable columns are added; new NOT NULL ones are a mismatch") {
  auto plan = plan_schema(with({col("memo", "text")}), kV1, kV1Columns, BatchMode::incremental,
                          OnSchemaChange::reject);
  REQUIRE(plan.ok());
  CHECK(plan->action == SchemaPlan::Action::add_columns);
  REQUIRE(plan->added.size() == 1);
  CHECK(plan->added[0].name == "memo");

  auto strict = plan_schema(with({col("memo", "text", false)}), kV1, kV1Columns,
                            BatchMode::incremental, OnSchemaChange::reject);
  REQUIRE_FALSE(strict.ok());
  CHECK(strict.error().code == RejectCode::schema_mismatch);
  CHECK(strict.error().message.find("memo") != std::string::npos);
}

TEST_CASE("type changes, dropped columns and key changes are mismatches, unless rebuilt") {
  sql::TableSchema retyped{"ent", {col("id", "bigint", false), col("name", "varchar(40)")}, {"id"}};
  auto r = plan_schema(retyped, kV1, kV1Columns, BatchMode::full, OnSchemaChange::reject);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("changes from varchar(20) to varchar(40)") != std::string::npos);
  CHECK(r.error().message.find("on_schema_change: rebuild") != std::string::npos);

  sql::TableSchema dropped{"ent", {col("id", "bigint", false)}, {"id"}};
  CHECK(plan_schema(dropped, kV1, kV1Columns, BatchMode::full, OnSchemaChange::reject)
            .error()
            .message.find("no longer") != std::string::npos);

  sql::TableSchema rekeyed = kV1;
  rekeyed.primary_key = {"id", "name"};
  rekeyed.columns[1].nullable = false;
  CHECK_FALSE(plan_schema(rekeyed, kV1, kV1Columns, BatchMode::full, OnSchemaChange::reject).ok());

  CHECK(plan_schema(retyped, kV1, kV1Columns, BatchMode::full, OnSchemaChange::rebuild)->action ==
        SchemaPlan::Action::rebuild);
  auto incremental =
      plan_schema(retyped, kV1, kV1Columns, BatchMode::incremental, OnSchemaChange::rebuild);
  REQUIRE_FALSE(incremental.ok());
  CHECK(incremental.error().message.find("full batches only") != std::string::npos);
}

TEST_CASE("a table the agent did not create is used when it has every column") {
  CHECK(plan_schema(kV1, std::nullopt, std::vector<std::string>{"ID", "Name", "extra"},
                    BatchMode::full, OnSchemaChange::reject)
            ->action == SchemaPlan::Action::keep);
  auto missing = plan_schema(kV1, std::nullopt, std::vector<std::string>{"id"}, BatchMode::full,
                             OnSchemaChange::reject);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("no column name") != std::string::npos);
}

TEST_CASE("schemas survive the registry's JSON") {
  auto json = schema_to_json(with({col("amount", "decimal(18,2)"), col("at", "timestamptz")}));
  auto back = schema_from_json(json);
  REQUIRE(back.ok());
  CHECK(schema_to_json(*back) == json);
  CHECK(back->columns[2].type.precision == 18);
  CHECK_FALSE(back->columns[0].nullable);
  CHECK_FALSE(schema_from_json("{").ok());
}
