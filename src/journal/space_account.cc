#include "journal/space_account.h"

#include <algorithm>

#include <fmt/format.h>

namespace sluice::journal {

SpaceAccount::SpaceAccount(SpaceOptions options) : options_(std::move(options)) {
  pool_bytes_ = options_.budget_bytes;
}

int SpaceAccount::AddStream(const std::string& name, uint64_t reserved_bytes) {
  auto s = std::make_unique<StreamSpace>();
  s->name = name;
  s->reserved = reserved_bytes;
  streams_.push_back(std::move(s));
  uint64_t reserved_total = 0;
  for (const auto& st : streams_) reserved_total += st->reserved;
  pool_bytes_ = options_.budget_bytes > reserved_total ? options_.budget_bytes - reserved_total : 0;
  return static_cast<int>(streams_.size() - 1);
}

uint64_t SpaceAccount::used(int index) const {
  return static_cast<uint64_t>(std::max<int64_t>(0, streams_[index]->used.load(std::memory_order_relaxed)));
}

uint64_t SpaceAccount::reserved(int index) const { return streams_[index]->reserved; }

uint64_t SpaceAccount::total_used() const {
  uint64_t total = 0;
  for (size_t i = 0; i < streams_.size(); ++i) total += used(static_cast<int>(i));
  return total;
}

uint64_t SpaceAccount::PoolUsed() const {
  uint64_t pool = 0;
  for (size_t i = 0; i < streams_.size(); ++i) {
    uint64_t u = used(static_cast<int>(i));
    if (u > streams_[i]->reserved) pool += u - streams_[i]->reserved;
  }
  return pool;
}

Status SpaceAccount::CheckAppend(int index, uint64_t bytes) {
  const StreamSpace& s = *streams_[index];
  if (options_.budget_bytes > 0) {
    uint64_t u = used(index);
    uint64_t own_after = u + bytes;
    if (own_after > s.reserved) {
      // The part beyond the reserved share comes from the pool.
      uint64_t beyond_now = u > s.reserved ? u - s.reserved : 0;
      uint64_t extra = (own_after - s.reserved) - beyond_now;
      if (PoolUsed() + extra > pool_bytes_) {
        return Status::ResourceExhausted(fmt::format(
            "journal budget reached for stream '{}': it holds {} bytes (reserved share {} "
            "bytes) and the shared pool of {} bytes is full (total budget {} bytes); "
            "appends resume when targets catch up and segments are deleted",
            s.name, u, s.reserved, pool_bytes_, options_.budget_bytes));
      }
    }
  }
  if (options_.free_space_floor_bytes > 0) {
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    if (now - last_refresh_ns_.load(std::memory_order_relaxed) >
        std::chrono::duration_cast<std::chrono::nanoseconds>(options_.free_space_refresh).count()) {
      RefreshFreeSpace().IgnoreError();  // on failure the last measurement stands
    }
    uint64_t avail = available_.load(std::memory_order_relaxed);
    if (avail < options_.free_space_floor_bytes + bytes) {
      return Status::ResourceExhausted(fmt::format(
          "free space on the journal's filesystem ({}) is {} bytes, below the floor of {} "
          "bytes; stream '{}' cannot append",
          options_.path, avail, options_.free_space_floor_bytes, s.name));
    }
  }
  return Status::OK();
}

void SpaceAccount::Add(int index, int64_t delta) {
  streams_[index]->used.fetch_add(delta, std::memory_order_relaxed);
}

Status SpaceAccount::RefreshFreeSpace() {
  last_refresh_ns_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                         std::memory_order_relaxed);
  SLUICE_ASSIGN_OR_RETURN(SpaceInfo info, options_.fs->Space(options_.path));
  available_.store(info.available_bytes, std::memory_order_relaxed);
  return Status::OK();
}

}  // namespace sluice::journal
