// How many entries a zip file's central directory holds, counted before libarchive reads that
// directory (it keeps it whole in memory).
#pragma once

#include <cstdint>
#include <optional>

namespace fep::archive {

// The central directory headers of the zip file open at `fd`, counted from where its end record
// (Zip64 aware) says the directory starts, up to `stop_after` + 1 at most: the way libarchive
// reads them, whatever count the end record claims. nullopt when the file has no end record
// (not a zip, or damaged: libarchive then says why).
std::optional<uint64_t> zip_entry_count(int fd, uint64_t stop_after);

}  // namespace fep::archive
