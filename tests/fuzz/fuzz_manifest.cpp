// The manifest parser on bodies as the platform may send them (protocol section 3), and the
// batch listing parser on the same bytes. The listing a manifest is checked against is taken
// from the body itself when it has one, so the checks past "matches the listing" are reached.
// An accepted manifest must hold what the protocol promises.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/batch/manifest.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace fep;
using nlohmann::json;

constexpr std::string_view kResource = "R-SCJG-0001";

// The listing entry the body claims to be, as far as it says; defaults otherwise.
BatchListing listing_of(const json& body, std::string& resource_id) {
  BatchListing listed{"B-20261120-0012", 12, BatchMode::incremental, "2026-11-20T02:00:00+08:00"};
  resource_id = kResource;
  if (!body.is_object()) return listed;
  if (auto it = body.find("batch_id"); it != body.end() && it->is_string())
    listed.batch_id = it->get<std::string>();
  if (auto it = body.find("resource_id"); it != body.end() && it->is_string())
    resource_id = it->get<std::string>();
  if (auto it = body.find("seq"); it != body.end() && it->is_number_integer())
    listed.seq = it->get<int64_t>();
  if (auto it = body.find("mode"); it != body.end() && it->is_string())
    listed.mode = it->get<std::string>() == "full" ? BatchMode::full : BatchMode::incremental;
  return listed;
}

void check_accepted(const Manifest& m, std::string_view resource_id, const BatchListing& listed) {
  fuzz::require(m.batch_id == listed.batch_id && m.seq == listed.seq && m.mode == listed.mode &&
                    m.resource_id == resource_id,
                "an accepted manifest does not match its listing");
  fuzz::require(m.payload.sha256.size() == 64, "an accepted manifest has no sha256");
  if (m.kind == ResourceKind::folder) {
    fuzz::require(m.folder && !m.table, "a folder manifest without folder, or with table");
    fuzz::require(m.payload.format == "tar" || m.payload.format == "zip", "folder format");
    return;
  }
  fuzz::require(m.table && !m.folder, "a table manifest without table, or with folder");
  fuzz::require(m.payload.format == "csv", "table format");
  fuzz::require(!m.table->columns.empty(), "a table without columns");
  for (const auto& column : m.table->columns) {
    fuzz::require(sql::is_valid_name(column.name) && column.name[0] != '_', "column name");
    // The spelling the agent writes back (status, errors) parses to the same type.
    auto again = sql::parse_column_type(sql::to_string(column.type));
    fuzz::require(
        again.ok() && again->kind == column.type.kind && again->length == column.type.length &&
            again->precision == column.type.precision && again->scale == column.type.scale,
        "a column type does not survive to_string and back");
  }
  for (const auto& key : m.table->primary_key) {
    auto it = std::find_if(m.table->columns.begin(), m.table->columns.end(),
                           [&](const sql::Column& c) { return c.name == key; });
    fuzz::require(it != m.table->columns.end() && !it->nullable,
                  "a primary key column is missing or nullable");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const json parsed = json::parse(body, nullptr, false);
  std::string resource_id;
  const BatchListing listed = listing_of(parsed, resource_id);
  auto manifest = parse_manifest(body, resource_id, listed);
  if (manifest) check_accepted(*manifest, resource_id, listed);

  auto page = parse_batch_page(body, resource_id);
  if (page)
    for (size_t i = 1; i < page->batches.size(); ++i)
      fuzz::require(page->batches[i].seq > page->batches[i - 1].seq,
                    "an accepted listing whose seq does not increase");
  return 0;
}
