#pragma once
// The storage behind the real-time point table: a bounded array of value slots that never
// move, each guarded by its own sequence lock.
//
// Why: the sampler reads every defined point every cycle (a million at 1 s). Looking each
// one up by id in a hash map under a lock cost most of the cycle; with a stable slot per
// point, resolved once when the definitions change, a cycle is a walk over this array.
//
// Layout: chunks of kChunkSlots slots, allocated on demand when the first slot of a chunk is
// handed out, at most ceil(capacity / kChunkSlots) of them. A chunk never moves and is freed
// only with the array, so a slot index stays valid for the array's life.
//
// A slot's value is read whole, never half of two writes: a per-slot sequence lock. The
// version is even when the slot is stable and odd while a writer holds it; writers take it
// with a compare-and-swap (several updaters may write one point), readers retry when the
// version was odd or changed under them. Every field is a std::atomic read and written
// with relaxed order, ordered by the version's acquire/release and fences (the C++ memory
// model's seqlock, H.-J. Boehm, "Can seqlocks get along with programming language memory
// models?", 2012), so ThreadSanitizer sees no data race. Version 0 means never written.
//
// Thread safety: Allocate, Store and Load may be called concurrently from any threads.
// REQUIRES for Store/Load: the slot came from Allocate.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace sluice::sampling {

struct PointValue {
  double value = 0;
  uint32_t quality = 0;    // v1::QualityBit bits, as the source sent them
  int64_t source_us = 0;   // when the source measured it (µs UTC)
  int64_t updated_us = 0;  // when the table received it (µs UTC, the sampler's clock)
};

// Index of a point's slot; kNoSlot: the point has none (not in the table).
using PointSlot = uint32_t;
inline constexpr PointSlot kNoSlot = std::numeric_limits<PointSlot>::max();

class PointSlots {
 public:
  static constexpr uint32_t kChunkShift = 16;
  static constexpr uint32_t kChunkSlots = uint32_t{1} << kChunkShift;  // 64 Ki, 2 MiB

  // At most kNoSlot slots (a larger capacity is taken as kNoSlot: 128 GiB of slots).
  explicit PointSlots(size_t capacity)
      : capacity_(static_cast<uint32_t>(std::min<size_t>(capacity, kNoSlot))),
        chunks_(std::make_unique<std::atomic<Chunk*>[]>(ChunkCount(capacity_))) {}
  ~PointSlots() {
    for (size_t c = 0; c < ChunkCount(capacity_); ++c) delete chunks_[c].load();
  }
  PointSlots(const PointSlots&) = delete;
  PointSlots& operator=(const PointSlots&) = delete;

  // A fresh slot (never written), or kNoSlot when all `capacity` slots are handed out.
  PointSlot Allocate() {
    uint32_t n = allocated_.load(std::memory_order_relaxed);
    do {
      if (n >= capacity_) return kNoSlot;
    } while (!allocated_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
    EnsureChunk(n >> kChunkShift);
    return n;
  }

  void Store(PointSlot slot, const PointValue& v) {
    Slot& s = At(slot);
    uint32_t version = s.version.load(std::memory_order_relaxed);
    for (int spins = 0;; ++spins) {
      if ((version & 1) == 0 &&
          s.version.compare_exchange_weak(version, version + 1, std::memory_order_acquire,
                                          std::memory_order_relaxed)) {
        break;
      }
      Backoff(spins);
      version = s.version.load(std::memory_order_relaxed);
    }
    // The odd version must be visible before any field changes.
    std::atomic_thread_fence(std::memory_order_release);
    s.value.store(v.value, std::memory_order_relaxed);
    s.quality.store(v.quality, std::memory_order_relaxed);
    s.source_us.store(v.source_us, std::memory_order_relaxed);
    s.updated_us.store(v.updated_us, std::memory_order_relaxed);
    // Odd + 1: even and new; never 0 again, so "written at least once" stays visible.
    s.version.store(version + 2, std::memory_order_release);
  }

  // The slot's value as one write left it, or nullopt when it was never written.
  std::optional<PointValue> Load(PointSlot slot) const {
    const Slot& s = At(slot);
    for (int spins = 0;; ++spins) {
      const uint32_t before = s.version.load(std::memory_order_acquire);
      if (before == 0) return std::nullopt;
      if ((before & 1) == 0) {
        PointValue v;
        v.value = s.value.load(std::memory_order_relaxed);
        v.quality = s.quality.load(std::memory_order_relaxed);
        v.source_us = s.source_us.load(std::memory_order_relaxed);
        v.updated_us = s.updated_us.load(std::memory_order_relaxed);
        // The field loads must complete before the version is read again.
        std::atomic_thread_fence(std::memory_order_acquire);
        if (s.version.load(std::memory_order_relaxed) == before) return v;
      }
      Backoff(spins);
    }
  }

  uint32_t allocated() const { return allocated_.load(std::memory_order_relaxed); }
  uint32_t capacity() const { return capacity_; }

 private:
  // 32 bytes: two slots per cache line, so a sequential walk reads 32 MiB per million points.
  struct Slot {
    std::atomic<uint32_t> version{0};
    std::atomic<uint32_t> quality{0};
    std::atomic<double> value{0};
    std::atomic<int64_t> source_us{0};
    std::atomic<int64_t> updated_us{0};
  };
  struct Chunk {
    Slot slots[kChunkSlots];
  };
  static_assert(std::atomic<double>::is_always_lock_free);
  static_assert(std::atomic<int64_t>::is_always_lock_free);

  static size_t ChunkCount(size_t capacity) { return (capacity + kChunkSlots - 1) / kChunkSlots; }

  // A writer is only ever preempted inside its few stores; on a loaded machine that can last
  // a time slice, so after a short spin the waiter gives its core away.
  static void Backoff(int spins) {
    if (spins >= 64) std::this_thread::yield();
  }

  void EnsureChunk(size_t c) {
    if (chunks_[c].load(std::memory_order_acquire) != nullptr) return;
    std::lock_guard lock(grow_mu_);
    if (chunks_[c].load(std::memory_order_relaxed) == nullptr) {
      chunks_[c].store(new Chunk(), std::memory_order_release);
    }
  }

  Slot& At(PointSlot slot) const {
    return chunks_[slot >> kChunkShift].load(std::memory_order_acquire)->slots[slot & (kChunkSlots - 1)];
  }

  const uint32_t capacity_;
  std::atomic<uint32_t> allocated_{0};
  std::mutex grow_mu_;  // serialises chunk allocation only
  std::unique_ptr<std::atomic<Chunk*>[]> chunks_;
};

}  // namespace sluice::sampling
