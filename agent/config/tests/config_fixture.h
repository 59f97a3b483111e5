// Shared by the config test files: a temp folder holding secret files, and a small valid YAML.
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "adapters/base/clock.h"
#include "agent/config/config.h"

namespace fep::config_test {

namespace fs = std::filesystem;

inline constexpr const char* kToken = "s3cr3t-T0KEN-value";
inline constexpr const char* kPassword = "pa55-W0RD-value";

// Mode 0600, as secret files must be (the loader refuses ones other users can read).
inline void write(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
}

inline std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A temp folder with a token and a password file; @TOKEN@, @PW@ and @DIR@ in YAML name them.
struct Fixture {
  fs::path dir = fs::temp_directory_path() / ("fep-config-" + new_uuid());
  Fixture() {
    fs::create_directories(dir);
    write(dir / "token", std::string(kToken) + "\n");
    write(dir / "pw", kPassword);
  }
  ~Fixture() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string expand(const std::string& yaml) const {
    auto s = replace_all(yaml, "@TOKEN@", (dir / "token").string());
    s = replace_all(s, "@PW@", (dir / "pw").string());
    return replace_all(s, "@DIR@", dir.string());
  }
  Expected<Config> parse(const std::string& yaml) const {
    return parse_config(expand(yaml), "agent.yaml");
  }
  // The error text; no error may ever show a secret.
  std::string error(const std::string& yaml) const {
    auto result = parse(yaml);
    REQUIRE_FALSE(result.ok());
    const auto message = result.error().message;
    CHECK_FALSE(contains(message, kToken));
    CHECK_FALSE(contains(message, kPassword));
    return message;
  }
};

// Lines 1-13; tests append from line 14.
inline const std::string kBase = R"(node:
  id: N-1
exchange:
  url: https://x.example
  token_file: @TOKEN@
targets:
  db:
    type: odbc
    connection: "Driver=SQLite3;Database=/tmp/x.db"
  files:
    type: folder
    path: /tmp/files
resources:
)";

}  // namespace fep::config_test
