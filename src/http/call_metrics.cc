#include "http/call_metrics.h"

namespace sluice::http {

void CallMetrics::Collect(MetricsWriter& out) {
  out.Family("sluice_grpc_request_duration_seconds", MetricsWriter::Type::kHistogram,
             "Time from a gRPC call's admission (past the call gate and authentication) to its "
             "answer, per method; each request of an Ingest.CommitStream on its own.");
  for (const auto& m : latency_->Read()) out.Histogram({{"method", m.name}}, m.latency);
}

}  // namespace sluice::http
