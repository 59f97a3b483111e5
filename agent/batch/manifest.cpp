// Unknown extra fields are ignored everywhere (forward compatibility with later platform
// versions); every field the protocol defines is checked.
#include "agent/batch/manifest.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include "agent/batch/json_fields.h"

namespace fep {
namespace {

using nlohmann::json;
using namespace json_fields;

bool is_lower_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

Status check_name(std::string_view name, const std::string& path) {
  if (!sql::is_valid_name(name))
    return fail(path + ": \"" + std::string(name) +
                "\" is not a valid name ([A-Za-z_][A-Za-z0-9_]{0,62})");
  if (name[0] == '_')
    return fail(path + ": \"" + std::string(name) + "\" is reserved (starts with _)");
  return {};
}

Status check_digest(const json& obj, std::string_view key, const std::string& path,
                    std::optional<std::string>& out, bool required) {
  auto s = optional_string(obj, key, path);
  if (!s) return Unexpected<Error>{s.error()};
  if (!*s) {
    if (required) return fail(path + ": missing");
    return {};
  }
  if (!is_lower_hex64(**s)) return fail(path + ": must be 64 lowercase hex digits");
  out = **s;
  return {};
}

Status parse_payload(const json& m, ResourceKind kind, PayloadInfo& p) {
  auto obj = object(m, "payload", "payload");
  if (!obj) return Unexpected<Error>{obj.error()};
  const json& j = **obj;

  auto format = string_of(j, "format", "payload.format");
  if (!format) return Unexpected<Error>{format.error()};
  p.format = *format;
  bool format_ok =
      kind == ResourceKind::table ? p.format == "csv" : (p.format == "tar" || p.format == "zip");
  if (!format_ok)
    return fail("payload.format: \"" + p.format + "\" is not valid for a " +
                std::string(to_string(kind)) + " (" +
                (kind == ResourceKind::table ? "csv" : "tar or zip") + ")");

  auto comp = string_of(j, "compression", "payload.compression");
  if (!comp) return Unexpected<Error>{comp.error()};
  p.compression = *comp;
  if (p.compression != "gzip" && p.compression != "zstd" && p.compression != "none")
    return fail("payload.compression: unknown value \"" + p.compression + "\"");
  if (p.format == "zip" && p.compression != "none")
    return fail("payload.compression: must be \"none\" for zip");

  // The encoding is the CSV's; folders carry names per entry, so it is not read for them.
  if (kind == ResourceKind::table) {
    auto enc = optional_string(j, "encoding", "payload.encoding");
    if (!enc) return Unexpected<Error>{enc.error()};
    p.encoding = enc->value_or("UTF-8");
    if (p.encoding != "UTF-8" && p.encoding != "GB18030")
      return fail("payload.encoding: unknown value \"" + p.encoding + "\" (UTF-8 or GB18030)");
  }

  auto size = unsigned_of(j, "size", "payload.size");
  if (!size) return Unexpected<Error>{size.error()};
  p.size = *size;

  std::optional<std::string> sha;
  if (auto s = check_digest(j, "sha256", "payload.sha256", sha, true); !s) return s;
  p.sha256 = *sha;
  return check_digest(j, "sm3", "payload.sm3", p.sm3, false);
}

Status parse_column(const json& c, const std::string& path, sql::Column& col) {
  if (!c.is_object()) return fail(path + ": must be an object");
  auto name = string_of(c, "name", path + ".name");
  if (!name) return Unexpected<Error>{name.error()};
  if (auto s = check_name(*name, path + ".name"); !s) return s;
  col.name = *name;

  auto type = string_of(c, "type", path + ".type");
  if (!type) return Unexpected<Error>{type.error()};
  auto parsed = sql::parse_column_type(*type);
  if (!parsed) return fail(path + ".type: " + parsed.error().message);
  col.type = *parsed;

  auto nullable = optional_bool(c, "nullable", path + ".nullable");
  if (!nullable) return Unexpected<Error>{nullable.error()};
  col.nullable = nullable->value_or(true);
  return {};
}

Status parse_table(const json& m, BatchMode mode, sql::TableSchema& t) {
  auto obj = object(m, "table", "table");
  if (!obj) return Unexpected<Error>{obj.error()};
  const json& j = **obj;

  auto name = string_of(j, "name", "table.name");
  if (!name) return Unexpected<Error>{name.error()};
  if (auto s = check_name(*name, "table.name"); !s) return s;
  t.name = *name;

  auto cols = array(j, "columns", "table.columns");
  if (!cols) return Unexpected<Error>{cols.error()};
  if ((*cols)->empty()) return fail("table.columns: must not be empty");
  std::vector<std::string> seen;
  for (size_t i = 0; i < (*cols)->size(); ++i) {
    std::string path = "table.columns[" + std::to_string(i) + "]";
    sql::Column col;
    if (auto s = parse_column((**cols)[i], path, col); !s) return s;
    auto key = lower(col.name);
    if (std::find(seen.begin(), seen.end(), key) != seen.end())
      return fail(path + ".name: duplicate column \"" + col.name + "\"");
    seen.push_back(key);
    t.columns.push_back(std::move(col));
  }

  auto pk = optional_string_array(j, "primary_key", "table.primary_key");
  if (!pk) return Unexpected<Error>{pk.error()};
  t.primary_key = pk->value_or(std::vector<std::string>{});
  // Incremental batches upsert and delete by primary key, so they cannot do without one.
  if (mode == BatchMode::incremental && t.primary_key.empty())
    return fail("table.primary_key: required (non-empty) for an incremental batch");
  for (size_t i = 0; i < t.primary_key.size(); ++i) {
    std::string path = "table.primary_key[" + std::to_string(i) + "]";
    const auto& k = t.primary_key[i];
    auto col = std::find_if(t.columns.begin(), t.columns.end(),
                            [&](const sql::Column& c) { return c.name == k; });
    if (col == t.columns.end()) return fail(path + ": no column \"" + k + "\"");
    if (std::count(t.primary_key.begin(), t.primary_key.begin() + static_cast<long>(i), k))
      return fail(path + ": \"" + k + "\" is listed twice");
    col->nullable = false;  // the protocol: primary-key columns are never null
  }
  return {};
}

Status parse_folder(const json& m, BatchMode mode, FolderInfo& f) {
  auto obj = object(m, "folder", "folder");
  if (!obj) return Unexpected<Error>{obj.error()};
  const json& j = **obj;
  auto files = unsigned_of(j, "files", "folder.files");
  if (!files) return Unexpected<Error>{files.error()};
  f.files = *files;
  auto bytes = unsigned_of(j, "bytes", "folder.bytes");
  if (!bytes) return Unexpected<Error>{bytes.error()};
  f.bytes = *bytes;

  auto deletes = optional_string_array(j, "deletes", "folder.deletes");
  if (!deletes) return Unexpected<Error>{deletes.error()};
  if (mode == BatchMode::incremental && !*deletes)
    return fail("folder.deletes: missing (required in an incremental batch)");
  if (mode == BatchMode::full && *deletes)
    return fail("folder.deletes: not allowed in a full batch");
  f.deletes = deletes->value_or(std::vector<std::string>{});
  for (size_t i = 0; i < f.deletes.size(); ++i)
    if (f.deletes[i].empty())
      return fail("folder.deletes[" + std::to_string(i) + "]: must not be empty");
  return {};
}

Status parse(const json& m, std::string_view resource_id, const BatchListing& listed,
             Manifest& out) {
  if (!m.is_object()) return fail("not a JSON object");
  auto protocol = integer_of(m, "protocol", "protocol");
  if (!protocol) return Unexpected<Error>{protocol.error()};
  if (*protocol != 1) return fail("protocol: unsupported version " + std::to_string(*protocol));

  auto batch_id = id_of(m, "batch_id", "batch_id");
  if (!batch_id) return Unexpected<Error>{batch_id.error()};
  if (*batch_id != listed.batch_id)
    return fail("batch_id: \"" + *batch_id + "\" does not match the listing (\"" + listed.batch_id +
                "\")");
  out.batch_id = *batch_id;

  auto rid = id_of(m, "resource_id", "resource_id");
  if (!rid) return Unexpected<Error>{rid.error()};
  if (*rid != resource_id)
    return fail("resource_id: \"" + *rid + "\" does not match the resource (\"" +
                std::string(resource_id) + "\")");
  out.resource_id = *rid;

  auto seq = integer_of(m, "seq", "seq");
  if (!seq) return Unexpected<Error>{seq.error()};
  if (*seq != listed.seq)
    return fail("seq: " + std::to_string(*seq) + " does not match the listing (" +
                std::to_string(listed.seq) + ")");
  out.seq = *seq;

  auto kind = string_of(m, "kind", "kind");
  if (!kind) return Unexpected<Error>{kind.error()};
  if (*kind == "table")
    out.kind = ResourceKind::table;
  else if (*kind == "folder")
    out.kind = ResourceKind::folder;
  else
    return fail("kind: unknown value \"" + *kind + "\" (table or folder)");

  auto mode = mode_of(m, "mode", "mode");
  if (!mode) return Unexpected<Error>{mode.error()};
  if (*mode != listed.mode)
    return fail("mode: \"" + std::string(to_string(*mode)) + "\" does not match the listing (\"" +
                std::string(to_string(listed.mode)) + "\")");
  out.mode = *mode;

  auto created = string_of(m, "created_at", "created_at");
  if (!created) return Unexpected<Error>{created.error()};
  out.created_at = *created;

  if (auto s = parse_payload(m, out.kind, out.payload); !s) return s;

  if (out.kind == ResourceKind::table) {
    if (present(m, "folder")) return fail("folder: not allowed in a table manifest");
    out.table.emplace();
    if (auto s = parse_table(m, out.mode, *out.table); !s) return s;
    auto rows = unsigned_of(m, "row_count", "row_count");
    if (!rows) return Unexpected<Error>{rows.error()};
    out.row_count = *rows;
  } else {
    if (present(m, "table")) return fail("table: not allowed in a folder manifest");
    if (present(m, "row_count")) return fail("row_count: not allowed in a folder manifest");
    out.folder.emplace();
    if (auto s = parse_folder(m, out.mode, *out.folder); !s) return s;
  }
  return {};
}

}  // namespace

Expected<Manifest, Rejection> parse_manifest(std::string_view body, std::string_view resource_id,
                                             const BatchListing& listed) {
  auto doc = parse_json(body);
  Manifest m;
  Status s = doc ? parse(*doc, resource_id, listed, m) : Status(Unexpected<Error>{doc.error()});
  if (!s)
    return Unexpected<Rejection>{{RejectCode::manifest_invalid, "manifest: " + s.error().message}};
  return m;
}

}  // namespace fep
