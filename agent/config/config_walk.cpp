#include "agent/config/config_walk.h"

#include <cstdlib>
#include <optional>

#include "agent/config/config_values.h"

namespace fep::config {
namespace {

bool in_choices(std::string_view choices, std::string_view value) {
  while (!choices.empty()) {
    const auto bar = choices.find('|');
    if (choices.substr(0, bar) == value) return true;
    if (bar == std::string_view::npos) break;
    choices.remove_prefix(bar + 1);
  }
  return false;
}

std::string spaced(std::string_view choices) {
  std::string out;
  for (char c : choices) out += c == '|' ? std::string(", ") : std::string(1, c);
  return out;
}

// Parses scalar text as `spec` says; an error text when it does not fit.
// Free-form string values are never echoed (a connection string may carry a password); values
// of fixed-choice, boolean, integer and duration keys are, to show the typo.
std::optional<std::string> parse_scalar(const KeySpec& spec, const std::string& text,
                                        CheckedValue& v) {
  switch (spec.type) {
    case ValueType::string:
    case ValueType::path:
    case ValueType::string_or_list:
      if (text.empty()) return "must not be empty";
      if (!spec.choices.empty() && !in_choices(spec.choices, text))
        return "unknown value \"" + text + "\" (one of: " + spaced(spec.choices) + ")";
      v.text = text;
      return std::nullopt;
    case ValueType::boolean:
      if (auto b = parse_bool(text)) {
        v.boolean = *b;
        return std::nullopt;
      }
      return "expected true or false, found \"" + text + "\"";
    case ValueType::integer:
      if (auto i = parse_integer(text)) {
        v.integer = *i;
        return std::nullopt;
      }
      return "expected an integer, found \"" + text + "\"";
    case ValueType::duration:
      if (auto d = parse_duration(text)) {
        // Longer would overflow the clocks' arithmetic (a deadline in the past, a spin).
        if (*d > kMaxDuration)
          return "\"" + text + "\" is longer than the longest duration, 36500d (100 years)";
        v.duration = *d;
        return std::nullopt;
      }
      return "expected a duration (integer and unit ms|s|m|h|d, e.g. 15s, 500ms, 2m, 30d), found "
             "\"" +
             text + "\"";
    case ValueType::map:
    case ValueType::list:
      break;
  }
  return "expected " + std::string(type_name(spec.type));
}

std::optional<std::string> check_value(const KeySpec& spec, const YAML::Node& node,
                                       CheckedValue& v) {
  const bool container = spec.type == ValueType::map || spec.type == ValueType::list;
  if (node.IsNull()) {
    if (spec.type == ValueType::list) return "has no value (write [] for none)";
    return "has no value";
  }
  if (spec.type == ValueType::string_or_list && node.IsSequence()) {
    v.node = node;  // the builder checks each item
    return std::nullopt;
  }
  if (container) {
    const bool fits = spec.type == ValueType::map ? node.IsMap() : node.IsSequence();
    if (!fits)
      return "expected a " + std::string(type_name(spec.type)) + ", found " +
             std::string(describe(node));
    v.node = node;
    return std::nullopt;
  }
  if (!node.IsScalar())
    return "expected " + std::string(spec.type == ValueType::integer ? "an " : "a ") +
           std::string(type_name(spec.type)) + ", found " + std::string(describe(node));
  // Quoted "true" or "4" is a string; strict typing catches a value meant as text.
  const bool quoted = node.Tag() == "!";
  if (quoted && (spec.type == ValueType::boolean || spec.type == ValueType::integer))
    return "expected " +
           std::string(spec.type == ValueType::boolean ? "true or false" : "an integer") +
           ", found a quoted string";
  if (spec.type == ValueType::string_or_list) v.node = node;
  return parse_scalar(spec, node.Scalar(), v);
}

}  // namespace

Mark mark_of(const YAML::Node& node) {
  const auto m = node.Mark();
  if (m.is_null()) return {};
  return {m.line + 1, m.column + 1};
}

void Diagnostics::error(Mark mark, std::string_view path, std::string_view what) {
  std::string e =
      file_ + ":" + std::to_string(mark.line) + ":" + std::to_string(mark.column) + ": ";
  if (!path.empty()) e += std::string(path) + ": ";
  errors_.push_back(e + std::string(what));
}

std::string Diagnostics::text() const {
  std::string out;
  for (const auto& e : errors_) out += (out.empty() ? "" : "\n") + e;
  return out;
}

std::string join_path(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return std::string(parent) + "." + std::string(key);
}

std::string_view describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a string";
    default:
      return "an empty value";
  }
}

Section::Section(const SectionSpec& spec, std::string path, Mark mark)
    : spec_(&spec), path_(std::move(path)), mark_(mark), slots_(spec.keys.size()) {}

const CheckedValue& Section::slot(std::string_view key) const {
  for (size_t i = 0; i < spec_->keys.size(); ++i)
    if (spec_->keys[i].key == key) return slots_[i];
  std::abort();  // a key missing from its table is a programming error, not a config error
}

bool Section::given(std::string_view key) const {
  return slot(key).state == CheckedValue::State::given;
}
const std::string& Section::text(std::string_view key) const {
  return slot(key).text;
}
bool Section::boolean(std::string_view key) const {
  return slot(key).boolean;
}
long long Section::integer(std::string_view key) const {
  return slot(key).integer;
}
std::chrono::milliseconds Section::duration(std::string_view key) const {
  return slot(key).duration;
}
const YAML::Node& Section::node(std::string_view key) const {
  return slot(key).node;
}
Mark Section::mark(std::string_view key) const {
  const auto& s = slot(key);
  return s.state == CheckedValue::State::given ? s.mark : mark_;
}

Section check_map(const YAML::Node& node, const SectionSpec& spec, const std::string& path,
                  Diagnostics& diag) {
  Section section(spec, path, mark_of(node));
  using State = CheckedValue::State;
  for (size_t i = 0; i < spec.keys.size(); ++i) {
    const auto& k = spec.keys[i];
    if (k.default_value.empty()) continue;
    auto& v = section.slots_[i];
    v.state = State::defaulted;
    if (parse_scalar(k, std::string(k.default_value), v)) std::abort();  // a bad table entry
  }
  if (!node.IsMap()) {
    diag.error(section.mark_, path, "expected a map, found " + std::string(describe(node)));
    return section;
  }
  std::vector<bool> seen(spec.keys.size(), false);
  std::vector<Mark> seen_at(spec.keys.size());
  for (auto it = node.begin(); it != node.end(); ++it) {
    const Mark key_mark = mark_of(it->first);
    if (!it->first.IsScalar()) {
      diag.error(key_mark, path,
                 "keys must be plain strings, found " + std::string(describe(it->first)));
      continue;
    }
    const std::string key = it->first.Scalar();
    const auto key_path = join_path(path, key);
    const auto* k = spec.find(key);
    if (!k) {
      diag.error(key_mark, key_path, "unknown key (valid keys: " + spec.key_list() + ")");
      continue;
    }
    const auto index = static_cast<size_t>(k - spec.keys.data());
    if (seen[index]) {
      diag.error(key_mark, key_path,
                 "duplicate key (first at line " + std::to_string(seen_at[index].line) + ")");
      continue;
    }
    seen[index] = true;
    seen_at[index] = key_mark;
    CheckedValue v;
    // An empty value has no useful mark of its own: point at its key.
    v.mark = it->second.IsNull() ? key_mark : mark_of(it->second);
    if (auto error = check_value(*k, it->second, v)) {
      diag.error(v.mark, key_path, *error);
      section.slots_[index].state = State::invalid;
      continue;
    }
    v.state = State::given;
    section.slots_[index] = std::move(v);
  }
  for (size_t i = 0; i < spec.keys.size(); ++i)
    if (spec.keys[i].required && !seen[i])
      diag.error(section.mark_, join_path(path, spec.keys[i].key), "missing required key");
  return section;
}

}  // namespace fep::config
