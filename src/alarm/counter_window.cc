#include "alarm/counter_window.h"

namespace sluice::alarm {

void CounterWindow::Add(int64_t at_us, uint64_t total) {
  // A counter that went back was reset: what came before says nothing about the window.
  if (!samples_.empty() && total < samples_.back().total) samples_.clear();
  samples_.push_back({at_us, total});
  // Keep one sample at or before the window's start, so the increase spans the window.
  while (samples_.size() > 1 && samples_[1].at_us <= at_us - window_.count()) samples_.pop_front();
}

uint64_t CounterWindow::Increase() const {
  if (samples_.empty()) return 0;
  return samples_.back().total - samples_.front().total;
}

}  // namespace sluice::alarm
