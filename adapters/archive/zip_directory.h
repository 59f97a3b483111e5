// What a zip file's end-of-central-directory record says, read before libarchive reads the
// central directory itself (which it keeps whole in memory).
#pragma once

#include <cstdint>
#include <optional>

namespace fep::archive {

// The number of entries the central directory of the zip file open at `fd` lists, from its end
// record (the Zip64 one when the classic field is saturated); nullopt when there is none to
// read (not a zip, or damaged: libarchive then says why).
std::optional<uint64_t> zip_entry_count(int fd);

}  // namespace fep::archive
