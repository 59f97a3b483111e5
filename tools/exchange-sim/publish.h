// Publishing: turns a CSV file or a folder (or a prebuilt payload) into the resource's next batch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "adapters/base/expected.h"
#include "tools/exchange-sim/store.h"

namespace fep::sim {

// Signs the manifest (protocol section 3, "Signature"): signature.json beside it, served by
// GET /v1/batches/{id}/signature.
struct SignOptions {
  fs::path key;                    // PEM private key, unencrypted
  std::string key_id;              // as the agents know the public key
  std::optional<std::string> alg;  // ed25519 | sm2; default: the key's own type
};

// What every published batch may set; unset values take defaults (next seq, B-<date>-<seq>, now).
struct BatchOptions {
  std::string resource_id;
  std::string mode;  // full | incremental
  std::optional<std::string> batch_id;
  std::optional<std::int64_t> seq;
  std::optional<std::string> created_at;
  std::optional<SignOptions> sign;  // unsigned when unset
};

struct TableOptions {
  BatchOptions batch;
  fs::path schema;                         // the manifest's "table" object
  std::optional<fs::path> csv;             // compressed by the sim
  std::optional<fs::path> payload;         // taken as is
  std::optional<std::string> compression;  // gzip | zstd | none (gzip for --csv)
  std::string encoding = "UTF-8";
  std::optional<std::int64_t> row_count;  // counted from the CSV when unset
};

struct FolderOptions {
  BatchOptions batch;
  std::optional<fs::path> dir;             // archived by the sim
  std::optional<fs::path> payload;         // taken as is
  std::string format = "tar";              // tar | zip
  std::optional<std::string> compression;  // gzip for tar, none for zip
  std::vector<std::string> deletes;        // incremental only
  std::optional<std::uint64_t> files;      // counted when unset
  std::optional<std::uint64_t> bytes;
};

// Each returns the new batch's id.
Expected<std::string> publish_table(Store& store, const TableOptions& opts);
Expected<std::string> publish_folder(Store& store, const FolderOptions& opts);

}  // namespace fep::sim
