// Applies folder batches (tar or zip archives) into <target path>/<resource path>.
#pragma once

#include <memory>

#include "agent/sync/batch_sink.h"

namespace fep {

std::unique_ptr<BatchSink> make_folder_sink(const TargetConfig& target);

}  // namespace fep
