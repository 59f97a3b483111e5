// The one-line progress display of `sync --once` on a terminal.
#pragma once

#include <chrono>
#include <string>

#include "agent/sync/progress.h"

namespace fep::app {

// "R-1 seq 4 downloading 12.3 MiB / 45.0 MiB 27% 5.1 MiB/s ETA 6s", or for applying, rows
// (files for a folder) done of the total with their rate and ETA.
std::string progress_line(const BatchProgress& p, std::chrono::steady_clock::time_point now,
                          bool folder);

}  // namespace fep::app
