#include "agent/batch/json_fields.h"

#include <limits>

#include "adapters/base/clock.h"

namespace fep::json_fields {
namespace {

const json* find(const json& obj, std::string_view key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

Unexpected<Error> missing(const std::string& path) {
  return fail(path + ": missing");
}

}  // namespace

Expected<json> parse_json(std::string_view body) {
  try {
    return json::parse(body);
  } catch (const json::exception& e) {
    return fail(std::string("not valid JSON: ") + e.what());
  }
}

bool present(const json& obj, std::string_view key) {
  return find(obj, key) != nullptr;
}

Expected<const json*> object(const json& obj, std::string_view key, const std::string& path) {
  const json* v = find(obj, key);
  if (!v) return missing(path);
  if (!v->is_object()) return fail(path + ": must be an object");
  return v;
}

Expected<const json*> array(const json& obj, std::string_view key, const std::string& path) {
  const json* v = find(obj, key);
  if (!v) return missing(path);
  if (!v->is_array()) return fail(path + ": must be an array");
  return v;
}

Expected<std::string> string_of(const json& obj, std::string_view key, const std::string& path) {
  const json* v = find(obj, key);
  if (!v) return missing(path);
  if (!v->is_string()) return fail(path + ": must be a string");
  return v->get<std::string>();
}

Expected<std::optional<std::string>> optional_string(const json& obj, std::string_view key,
                                                     const std::string& path) {
  const json* v = find(obj, key);
  if (!v) return std::optional<std::string>();
  if (!v->is_string()) return fail(path + ": must be a string");
  return std::optional<std::string>(v->get<std::string>());
}

Expected<std::string> id_of(const json& obj, std::string_view key, const std::string& path) {
  auto s = string_of(obj, key, path);
  if (s && !is_valid_id(*s))
    return fail(path + ": \"" + *s + "\" is not a valid id ([A-Za-z0-9._-], 1 to 128)");
  return s;
}

Expected<int64_t> integer_of(const json& obj, std::string_view key, const std::string& path) {
  const json* v = find(obj, key);
  if (!v) return missing(path);
  if (v->is_number_unsigned()) {
    if (v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return fail(path + ": out of range");
    return static_cast<int64_t>(v->get<uint64_t>());
  }
  if (!v->is_number_integer()) return fail(path + ": must be an integer");
  return v->get<int64_t>();
}

Expected<uint64_t> unsigned_of(const json& obj, std::string_view key, const std::string& path) {
  const json* v = find(obj, key);
  if (!v) return missing(path);
  if (!v->is_number_integer()) return fail(path + ": must be a non-negative integer");
  if (!v->is_number_unsigned() && v->get<int64_t>() < 0)
    return fail(path + ": must be a non-negative integer");
  return v->get<uint64_t>();
}

Expected<std::optional<bool>> optional_bool(const json& obj, std::string_view key,
                                            const std::string& path) {
  const json* v = find(obj, key);
  if (!v) return std::optional<bool>();
  if (!v->is_boolean()) return fail(path + ": must be true or false");
  return std::optional<bool>(v->get<bool>());
}

Expected<std::optional<std::vector<std::string>>> optional_string_array(const json& obj,
                                                                        std::string_view key,
                                                                        const std::string& path) {
  using Result = std::optional<std::vector<std::string>>;
  const json* v = find(obj, key);
  if (!v) return Result();
  if (!v->is_array()) return fail(path + ": must be an array of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < v->size(); ++i) {
    if (!(*v)[i].is_string()) return fail(path + "[" + std::to_string(i) + "]: must be a string");
    out.push_back((*v)[i].get<std::string>());
  }
  return Result(std::move(out));
}

Expected<BatchMode> mode_of(const json& obj, std::string_view key, const std::string& path) {
  auto s = string_of(obj, key, path);
  if (!s) return Unexpected<Error>{s.error()};
  if (*s == "full") return BatchMode::full;
  if (*s == "incremental") return BatchMode::incremental;
  return fail(path + ": unknown value \"" + *s + "\" (full or incremental)");
}

}  // namespace fep::json_fields
