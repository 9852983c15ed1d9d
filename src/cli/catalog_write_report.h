#pragma once
// How `sluice points`, `sluice define`, `sluice trigger-types` and `sluice recall` report
// a write of the sampling catalog: as `sluice sql` reports a synchronous write (APPLIED /
// REJECTED / UNKNOWN with the LSN; exit 0 / 1 / 4).
//
// Thread safety: prints to stdout; call from one thread.

#include <string_view>

#include "sluice/v1/service.pb.h"

namespace sluice::cli {

// Prints the answer of a catalog write about `what`; returns its exit code.
int ReportCatalogWrite(const v1::ExecuteResponse& response, std::string_view what);

}  // namespace sluice::cli
