#pragma once
// ReadRaw's continuation token: where the next page starts (the point's index in
// range.point_ids and the last ts handed out for it, if any) and a hash of the request
// it belongs to, so that a token of another request, or bytes that are no token of ours,
// are refused by name instead of reading somewhere unexpected.
//
// Layout (little endian, 29 bytes): "SLHC" | version 1 (u8) | point index (u32) |
// has_last (u8) | last ts (i64) | request hash (u64) | reserved (u24, zero).
//
// Pure functions; thread-safe.

#include <cstdint>
#include <string>

#include "common/status.h"
#include "sluice/v1/service.pb.h"

namespace sluice::history {

struct RawPosition {
  uint32_t point_index = 0;
  bool has_last = false;  // false: the point's first page (its bound before goes with it)
  int64_t last_ts_us = 0;
};

// A hash of what makes two ReadRaw requests the same read: the range and `bounds`
// (not the page size, which may change from page to page).
uint64_t RawRequestHash(const v1::ReadRawRequest& request);

std::string EncodeContinuation(const RawPosition& position, uint64_t request_hash);
// Refuses bytes that are not a token, a token of another request, and a point index
// outside `point_count`.
Result<RawPosition> DecodeContinuation(const std::string& token, uint64_t request_hash,
                                       size_t point_count);

}  // namespace sluice::history
