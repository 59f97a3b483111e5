#include <algorithm>

#include "adapters/odbc/odbc.h"

namespace fep::odbc {

void ParamColumn::clear() {
  data_.clear();
  offsets_.clear();
  lengths_.clear();
  max_length_ = 0;
}

void ParamColumn::push(std::string_view value) {
  offsets_.push_back(data_.size());
  lengths_.push_back(static_cast<int64_t>(value.size()));
  data_.append(value);
  max_length_ = std::max(max_length_, value.size());
}

void ParamColumn::push_null() {
  offsets_.push_back(data_.size());
  lengths_.push_back(-1);
}

void ParamColumn::pop() {
  if (lengths_.empty()) return;
  data_.resize(offsets_.back());
  offsets_.pop_back();
  lengths_.pop_back();
  // max_length_ may now be larger than needed; that only costs padding.
}

std::string_view ParamColumn::value(size_t row) const {
  if (lengths_[row] < 0) return {};
  return std::string_view(data_).substr(offsets_[row], static_cast<size_t>(lengths_[row]));
}

}  // namespace fep::odbc
