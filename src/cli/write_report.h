#pragma once
// How the commands that make a synchronous write of the sampling catalog (`sluice points`,
// `sluice define`, `sluice trigger-types`) report its answer, as `sluice sql` does:
// APPLIED / REJECTED / UNKNOWN with the LSN, exit 0 / 1 / 4.
//
// Thread safety: prints to stdout; call from one thread.

#include <string_view>

#include "sluice/v1/service.pb.h"

namespace sluice::cli {

// Prints the answer of a write described by `what`; returns its exit code.
int ReportWrite(const v1::ExecuteResponse& response, std::string_view what);

}  // namespace sluice::cli
