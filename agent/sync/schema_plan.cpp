#include "agent/sync/schema_plan.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace fep {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

const sql::Column* find(const std::vector<sql::Column>& columns, std::string_view name) {
  for (const auto& c : columns)
    if (c.name == name) return &c;
  return nullptr;
}

std::string describe(const sql::Column& c) {
  return sql::to_string(c.type) + (c.nullable ? "" : " not null");
}

// The first difference that adding nullable columns cannot absorb, or "".
std::string conflict(const sql::TableSchema& was, const sql::TableSchema& now) {
  for (const auto& old : was.columns) {
    const sql::Column* c = find(now.columns, old.name);
    if (!c) return "column " + old.name + " is no longer in the manifest";
    if (describe(*c) != describe(old))
      return "column " + old.name + " changes from " + describe(old) + " to " + describe(*c);
  }
  for (const auto& c : now.columns)
    if (!find(was.columns, c.name) && !c.nullable)
      return "new column " + c.name + " is not null, so existing rows cannot have it";
  if (was.primary_key != now.primary_key) return "the primary key changes";
  return "";
}

}  // namespace

Expected<SchemaPlan, Rejection> plan_schema(const sql::TableSchema& wanted,
                                            const std::optional<sql::TableSchema>& registered,
                                            const std::optional<std::vector<std::string>>& existing,
                                            BatchMode mode, OnSchemaChange policy) {
  if (!existing) return SchemaPlan{SchemaPlan::Action::create, {}};

  std::string why;
  SchemaPlan plan;
  if (registered) {
    why = conflict(*registered, wanted);
    for (const auto& c : wanted.columns)
      if (!find(registered->columns, c.name)) plan.added.push_back(c);
  } else {
    // A table the agent did not create: usable when it has every column the batch writes.
    for (const auto& c : wanted.columns) {
      bool present = std::any_of(existing->begin(), existing->end(),
                                 [&](const std::string& e) { return iequals(e, c.name); });
      if (!present) {
        why = "the local table has no column " + c.name;
        break;
      }
    }
  }
  if (why.empty()) {
    plan.action = plan.added.empty() ? SchemaPlan::Action::keep : SchemaPlan::Action::add_columns;
    return plan;
  }
  if (policy == OnSchemaChange::rebuild && mode == BatchMode::full)
    return SchemaPlan{SchemaPlan::Action::rebuild, {}};
  std::string hint = policy == OnSchemaChange::rebuild
                         ? " (on_schema_change: rebuild applies to full batches only)"
                         : " (set on_schema_change: rebuild on the resource to let a full batch "
                           "recreate the table)";
  return Unexpected{
      Rejection{RejectCode::schema_mismatch, "table " + wanted.name + ": " + why + hint}};
}

std::string schema_to_json(const sql::TableSchema& schema) {
  nlohmann::ordered_json columns = nlohmann::ordered_json::array();
  for (const auto& c : schema.columns)
    columns.push_back(
        {{"name", c.name}, {"type", sql::to_string(c.type)}, {"nullable", c.nullable}});
  nlohmann::ordered_json out{
      {"name", schema.name}, {"columns", columns}, {"primary_key", schema.primary_key}};
  return out.dump();
}

Expected<sql::TableSchema> schema_from_json(std::string_view json) {
  auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("columns") ||
      !doc["columns"].is_array())
    return fail("the schema registry holds an unreadable entry");
  sql::TableSchema schema;
  if (doc.contains("name") && doc["name"].is_string()) schema.name = doc["name"].get<std::string>();
  for (const auto& c : doc["columns"]) {
    if (!c.is_object() || !c.contains("name") || !c["name"].is_string() || !c.contains("type") ||
        !c["type"].is_string())
      return fail("the schema registry holds an unreadable column");
    auto type = sql::parse_column_type(c["type"].get<std::string>());
    if (!type) return Unexpected{type.error()};
    schema.columns.push_back(
        {c["name"].get<std::string>(), *type,
         c.contains("nullable") && c["nullable"].is_boolean() ? c["nullable"].get<bool>() : true});
  }
  if (doc.contains("primary_key") && doc["primary_key"].is_array())
    for (const auto& k : doc["primary_key"])
      if (k.is_string()) schema.primary_key.push_back(k.get<std::string>());
  return schema;
}

}  // namespace fep
