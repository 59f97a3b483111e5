// A batch's manifest, parsed and checked against the listing it came from.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/base/expected.h"
#include "adapters/dialects/table_schema.h"
#include "agent/batch/rejection.h"

namespace fep {

enum class ResourceKind { table, folder };
enum class BatchMode { full, incremental };

std::string_view to_string(ResourceKind kind);
std::string_view to_string(BatchMode mode);

// One entry of GET /v1/resources/{id}/batches.
struct BatchListing {
  std::string batch_id;
  int64_t seq = 0;
  BatchMode mode = BatchMode::full;
  std::string created_at;
};

struct PayloadInfo {
  std::string format;       // csv | tar | zip
  std::string compression;  // gzip | zstd | none
  std::string encoding;     // UTF-8 | GB18030 (tables)
  uint64_t size = 0;
  std::string sha256;
  std::optional<std::string> sm3;
};

struct FolderInfo {
  uint64_t files = 0;
  uint64_t bytes = 0;
  std::vector<std::string> deletes;
};

struct Manifest {
  std::string batch_id;
  std::string resource_id;
  int64_t seq = 0;
  ResourceKind kind = ResourceKind::table;
  BatchMode mode = BatchMode::full;
  std::string created_at;
  PayloadInfo payload;
  std::optional<sql::TableSchema> table;  // kind == table
  uint64_t row_count = 0;                 // kind == table
  std::optional<FolderInfo> folder;       // kind == folder
};

// Parses a manifest body. Anything the protocol does not allow, a missing required field, or a
// mismatch with the listing is a MANIFEST_INVALID rejection whose message names the field.
Expected<Manifest, Rejection> parse_manifest(std::string_view body, std::string_view resource_id,
                                             const BatchListing& listed);

// Parses one listing page ({"resource_id", "batches": [...], "more"}).
struct BatchPage {
  std::vector<BatchListing> batches;
  bool more = false;
};
Expected<BatchPage> parse_batch_page(std::string_view body, std::string_view resource_id);

}  // namespace fep
