#include "cli/catalog_write_report.h"

#include <fmt/format.h>

#include "cli/commands.h"

namespace sluice::cli {

int ReportCatalogWrite(const v1::ExecuteResponse& r, std::string_view what) {
  switch (r.outcome()) {
    case v1::OUTCOME_APPLIED:
      fmt::print("APPLIED: {} (lsn {}, target {}){}\n", what, r.lsn(), r.target(),
                 r.message().empty() ? "" : "; " + r.message());
      return kExitOk;
    case v1::OUTCOME_REJECTED:
      fmt::print("REJECTED: {} (lsn {}, target {}): {}\n", what, r.lsn(), r.target(), r.message());
      return kExitFailed;
    default:
      fmt::print(
          "UNKNOWN: {}: the outcome of lsn {} is not known yet{}; ask later with `sluice sql "
          "--outcome {}`\n",
          what, r.lsn(), r.message().empty() ? "" : " (" + r.message() + ")", r.lsn());
      return kExitUnknown;
  }
}

}  // namespace sluice::cli
