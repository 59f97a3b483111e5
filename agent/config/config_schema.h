// The declarative tables of every config section (internal to fep_config). One row per key drives
// validation (allowed keys, types, required), the defaults and config_reference_markdown().
#pragma once

#include <span>
#include <string_view>

namespace fep::config {

// string_or_list: one string, or a list of strings (e.g. exchange.pinned_pubkey).
enum class ValueType { string, path, boolean, integer, duration, map, list, string_or_list };

std::string_view type_name(ValueType type);

struct KeySpec {
  std::string_view key;
  ValueType type;
  bool required = false;
  std::string_view default_value;  // in the YAML spelling; empty: none
  std::string_view description;
  std::string_view choices = {};  // "a|b|c" when only these values are allowed
};

struct SectionSpec {
  std::string_view name;  // as shown in key paths and docs: "exchange", "resources[]"
  std::string_view description;
  std::span<const KeySpec> keys;

  const KeySpec* find(std::string_view key) const;
  // "a, b, c": the valid keys, for unknown-key errors.
  std::string key_list() const;
};

extern const SectionSpec kTopSection;
extern const SectionSpec kNodeSection;
extern const SectionSpec kExchangeSection;
extern const SectionSpec kOdbcTargetSection;
extern const SectionSpec kFolderTargetSection;
extern const SectionSpec kResourceSection;
extern const SectionSpec kStatusSection;
extern const SectionSpec kDaemonSection;
extern const SectionSpec kLogSection;
extern const SectionSpec kRetentionSection;

// In the order the reference documents them.
std::span<const SectionSpec* const> all_sections();

}  // namespace fep::config
