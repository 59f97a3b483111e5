// The archive entry name check (safe_relative_path), which every entry of a folder payload and
// every folder.deletes path goes through before anything touches the disk. An accepted name must
// stay below the folder whatever the platform sent: relative, no "..", no empty or "."
// component, no '\', no control character, valid UTF-8, within the length limits.
#include <cstdint>
#include <string>
#include <string_view>

#include "adapters/archive/folder_extract.h"
#include "adapters/base/utf8.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using fep::fuzz::require;
  const std::string_view name(reinterpret_cast<const char*>(data), size);
  auto path = fep::archive::safe_relative_path(name);
  if (!path) {
    require(!path.error().message.empty(), "a refusal without a reason");
    require(fep::is_valid_utf8(path.error().message), "a refusal that is not valid UTF-8");
    return 0;
  }
  const std::string& p = *path;
  if (p.empty()) return 0;  // the folder itself
  require(p.front() != '/' && p.back() != '/', "a leading or trailing '/'");
  require(p.size() <= 4095, "a path over 4095 bytes");
  require(fep::is_valid_utf8(p), "not valid UTF-8");
  for (unsigned char c : p) require(c >= 0x20 && c != 0x7f && c != '\\', "a control byte or '\\'");
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    const std::string_view part(p.data() + start, end - start);
    require(!part.empty() && part != "." && part != "..", "an empty, '.' or '..' component");
    require(part.size() <= 255, "a component over 255 bytes");
    start = end + 1;
  }
  // Checking it again changes nothing. A first component such as "C:" passes only behind "./"
  // (it is a plain name here, not a drive), so that is how it is checked again.
  const bool drive_like = p.size() >= 2 && p[1] == ':';
  auto again = fep::archive::safe_relative_path(drive_like ? "./" + p : p);
  require(again.ok() && *again == p, "checking an accepted path again changes it");
  return 0;
}
