#pragma once
// The latency of gRPC calls per method (service/call_latency.h) as one Prometheus
// histogram family, sluice_grpc_request_duration_seconds{method="Admin.Status"}.
//
// Thread safety: Collect() from any thread.

#include "http/metrics_source.h"
#include "service/call_latency.h"

namespace sluice::http {

class CallMetrics final : public MetricsSource {
 public:
  // `latency` must outlive this source.
  explicit CallMetrics(const service::CallLatency* latency) : latency_(latency) {}
  void Collect(MetricsWriter& out) override;

 private:
  const service::CallLatency* latency_;
};

}  // namespace sluice::http
