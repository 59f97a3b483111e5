// Typed access to JSON object fields; errors name the field's path. Private to fep_batch.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/base/expected.h"
#include "agent/batch/manifest.h"

namespace fep::json_fields {

using nlohmann::json;

// Parses without letting an exception out.
Expected<json> parse_json(std::string_view body);

// A field that is there and not null (null counts as absent for optional fields).
bool present(const json& obj, std::string_view key);

Expected<const json*> object(const json& obj, std::string_view key, const std::string& path);
Expected<const json*> array(const json& obj, std::string_view key, const std::string& path);
Expected<std::string> string_of(const json& obj, std::string_view key, const std::string& path);
Expected<std::optional<std::string>> optional_string(const json& obj, std::string_view key,
                                                     const std::string& path);
// A string of the protocol's id alphabet.
Expected<std::string> id_of(const json& obj, std::string_view key, const std::string& path);
Expected<int64_t> integer_of(const json& obj, std::string_view key, const std::string& path);
// A non-negative integer.
Expected<uint64_t> unsigned_of(const json& obj, std::string_view key, const std::string& path);
Expected<std::optional<bool>> optional_bool(const json& obj, std::string_view key,
                                            const std::string& path);
Expected<std::optional<std::vector<std::string>>> optional_string_array(const json& obj,
                                                                        std::string_view key,
                                                                        const std::string& path);
// "full" or "incremental".
Expected<BatchMode> mode_of(const json& obj, std::string_view key, const std::string& path);

}  // namespace fep::json_fields
