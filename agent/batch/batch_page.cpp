// The batch listing page and the protocol spellings of kinds and modes. Unknown extra fields
// are ignored (forward compatibility).
#include <nlohmann/json.hpp>

#include "agent/batch/json_fields.h"
#include "agent/batch/manifest.h"

namespace fep {
namespace {

using nlohmann::json;
using namespace json_fields;

Status parse_entry(const json& b, const std::string& path, const BatchPage& page,
                   BatchListing& entry) {
  if (!b.is_object()) return fail(path + ": must be an object");
  auto id = id_of(b, "batch_id", path + ".batch_id");
  if (!id) return Unexpected<Error>{id.error()};
  entry.batch_id = *id;

  auto seq = integer_of(b, "seq", path + ".seq");
  if (!seq) return Unexpected<Error>{seq.error()};
  if (*seq <= 0) return fail(path + ".seq: must be positive");
  // Seqs strictly increase, also across pages (the caller compares with its `after`).
  if (!page.batches.empty() && *seq <= page.batches.back().seq)
    return fail(path + ".seq: " + std::to_string(*seq) + " is not greater than the previous (" +
                std::to_string(page.batches.back().seq) + ")");
  entry.seq = *seq;

  auto mode = mode_of(b, "mode", path + ".mode");
  if (!mode) return Unexpected<Error>{mode.error()};
  entry.mode = *mode;

  auto created = string_of(b, "created_at", path + ".created_at");
  if (!created) return Unexpected<Error>{created.error()};
  entry.created_at = *created;
  return {};
}

Status parse_page(const json& j, std::string_view resource_id, BatchPage& page) {
  if (!j.is_object()) return fail("not a JSON object");
  auto rid = string_of(j, "resource_id", "resource_id");
  if (!rid) return Unexpected<Error>{rid.error()};
  if (*rid != resource_id)
    return fail("resource_id: \"" + *rid + "\" is not the resource asked for (\"" +
                std::string(resource_id) + "\")");

  auto list = array(j, "batches", "batches");
  if (!list) return Unexpected<Error>{list.error()};
  for (size_t i = 0; i < (*list)->size(); ++i) {
    BatchListing entry;
    std::string path = "batches[" + std::to_string(i) + "]";
    if (auto s = parse_entry((**list)[i], path, page, entry); !s) return s;
    page.batches.push_back(std::move(entry));
  }

  // A missing "more" means no more: the next poll asks again anyway.
  auto more = optional_bool(j, "more", "more");
  if (!more) return Unexpected<Error>{more.error()};
  page.more = more->value_or(false);
  return {};
}

}  // namespace

std::string_view to_string(ResourceKind kind) {
  return kind == ResourceKind::table ? "table" : "folder";
}

std::string_view to_string(BatchMode mode) {
  return mode == BatchMode::full ? "full" : "incremental";
}

Expected<BatchPage> parse_batch_page(std::string_view body, std::string_view resource_id) {
  auto doc = parse_json(body);
  BatchPage page;
  Status s = doc ? parse_page(*doc, resource_id, page) : Status(Unexpected<Error>{doc.error()});
  if (!s) return fail("batch listing: " + s.error().message);
  return page;
}

}  // namespace fep
