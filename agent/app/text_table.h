// Plain-text tables for the terminal: columns aligned by display width (CJK characters take two
// columns), state words coloured only when the output is a terminal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fep::app {

// Terminal columns taken by UTF-8 text (CJK characters take two).
size_t display_width(std::string_view utf8);

// The rows under `header`, each column as wide as its widest cell; the last column is not padded.
// With `colour`, the cells of `state_column` are coloured by what they say.
std::string text_table(const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows,
                       std::optional<size_t> state_column = std::nullopt, bool colour = false);

// ANSI colour for a state word: red for trouble, yellow for waiting or working, green for done.
std::string coloured(const std::string& state);

// True when stdout is a terminal and NO_COLOR is not set.
bool colour_stdout();

// "-" for nothing.
std::string or_dash(const std::optional<std::string>& s);
// 95 -> "1m35s", 7260 -> "2h01m", 200000 -> "2d07h".
std::string short_duration(int64_t seconds);
// 1536 -> "1.5 KiB".
std::string short_bytes(int64_t bytes);

}  // namespace fep::app
