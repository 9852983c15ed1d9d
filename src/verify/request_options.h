#pragma once
// What an Admin.Verify request asks for, checked: the tables (each named one compared,
// or refused naming it), the range, the bucket width and the row limit.
//
// Thread safety: pure functions.

#include "common/status.h"
#include "sluice/v1/service.pb.h"
#include "verify/verifier.h"

namespace sluice::verify {

// Most rows one check lists (VerifyRequest.max_rows).
inline constexpr uint32_t kMaxListedRows = 100'000;
inline constexpr uint32_t kDefaultListedRows = 100;

// The options of `request`, or kInvalidArgument naming the value that is wrong.
Result<VerifyOptions> OptionsFromRequest(const v1::VerifyRequest& request);

}  // namespace sluice::verify
