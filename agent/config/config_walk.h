// Walks a YAML map against a section table (internal to fep_config): the one place that knows
// about key paths, marks and types, so every section reports errors the same way.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config/config_schema.h"

namespace fep::config {

struct Mark {
  int line = 1;  // 1-based
  int column = 1;
};

Mark mark_of(const YAML::Node& node);

// Collects every error, each as "<file>:<line>:<col>: <key.path>: <what>", so one run shows them
// all.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}
  void error(Mark mark, std::string_view path, std::string_view what);
  bool empty() const { return errors_.empty(); }
  std::string text() const;

 private:
  std::string file_;
  std::vector<std::string> errors_;
};

// "targets" + "local_db" -> "targets.local_db"; "" + "node" -> "node".
std::string join_path(std::string_view parent, std::string_view key);
// "a map", "a list", "an empty value", "a string": for "expected X, found Y".
std::string_view describe(const YAML::Node& node);

// One key's value once checked against its KeySpec.
struct CheckedValue {
  enum class State { absent, defaulted, given, invalid };
  State state = State::absent;
  Mark mark;
  std::string text;
  bool boolean = false;
  long long integer = 0;
  std::chrono::milliseconds duration{0};
  YAML::Node node;
};

// A YAML map checked against its table: the valid values given, else the table's defaults.
class Section {
 public:
  Section(const SectionSpec& spec, std::string path, Mark mark);

  // True when the key was given with a valid value (defaults do not count).
  bool given(std::string_view key) const;
  // The value given, else the default; empty/zero when neither.
  const std::string& text(std::string_view key) const;  // string, path
  bool boolean(std::string_view key) const;
  long long integer(std::string_view key) const;
  std::chrono::milliseconds duration(std::string_view key) const;
  const YAML::Node& node(std::string_view key) const;  // map, list
  // The value's mark when given, else the section's.
  Mark mark(std::string_view key) const;
  std::string path(std::string_view key) const { return join_path(path_, key); }
  const std::string& path() const { return path_; }
  Mark mark() const { return mark_; }

 private:
  friend Section check_map(const YAML::Node&, const SectionSpec&, const std::string&, Diagnostics&);

  const CheckedValue& slot(std::string_view key) const;

  const SectionSpec* spec_;
  std::string path_;
  Mark mark_;
  std::vector<CheckedValue> slots_;
};

// Checks that `node` is a map holding only the table's keys, each of its type, every required
// one present. Errors go to `diag`; the result holds what was valid.
Section check_map(const YAML::Node& node, const SectionSpec& spec, const std::string& path,
                  Diagnostics& diag);

}  // namespace fep::config
