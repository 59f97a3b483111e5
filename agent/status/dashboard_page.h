// The dashboard: one self-contained HTML page (inline CSS and JavaScript, no external fonts,
// scripts or styles), embedded in the binary.
#pragma once

#include <string>
#include <string_view>

namespace fep::status {

// The page, with the CSP nonce of its <script> and <style> and the first status document
// (JSON from status_json) embedded, so it renders without waiting for a request.
std::string dashboard_page(std::string_view nonce, std::string_view initial_status_json);

}  // namespace fep::status
