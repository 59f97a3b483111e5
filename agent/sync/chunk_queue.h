// A bounded queue between the thread that parses a payload and the one that writes it, so that
// parsing overlaps with database writes while memory stays at a few chunks. A producer that
// found it full is woken only once it is half empty: it then refills it in one go instead of
// waking for every item taken, which on a busy machine costs a scheduling delay each time.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

namespace fep {

template <class T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) {}

  // Blocks while full (then until half empty). Returns false (dropping `item`) once the queue
  // is closed.
  bool push(T item) {
    std::unique_lock lock(mu_);
    if (items_.size() >= capacity_)
      not_full_.wait(lock, [&] { return closed_ || items_.size() <= capacity_ / 2; });
    if (closed_) return false;
    items_.push_back(std::move(item));
    not_empty_.notify_one();
    return true;
  }

  // Blocks while empty. nullopt once the queue is closed and drained.
  std::optional<T> pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    if (items_.size() <= capacity_ / 2) not_full_.notify_one();
    return item;
  }

  bool closed() const {
    std::lock_guard lock(mu_);
    return closed_;
  }

  // Wakes both sides; pushes fail from now on, pops drain what is left.
  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_full_.notify_all();
    not_empty_.notify_all();
  }

 private:
  size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace fep
