#pragma once
// The metrics of the service's status, from the Admin.Status answer (what `sluice status`
// shows): the node's state and active target, per stream the records admitted, per
// (target, stream) the records applied, lag and rejections, the targets' health, the
// journal's bytes, budget and free space, the cursors that hold segments, and the
// sampler's cycles. Every metric is listed in docs/http.md.
//
// Thread safety: Collect() from any thread, as the functions it was given allow (the
// node's are safe from any thread).

#include <functional>
#include <map>
#include <string>
#include <utility>

#include "http/metrics_source.h"
#include "sluice/v1/service.pb.h"

namespace sluice::http {

// Open (not yet retried or discarded) error-log entries per (target, stream).
using OpenErrorCounts = std::map<std::pair<std::string, std::string>, uint64_t>;

class StatusMetrics final : public MetricsSource {
 public:
  StatusMetrics(std::function<v1::StatusResponse()> status,
                std::function<OpenErrorCounts()> open_errors)
      : status_(std::move(status)), open_errors_(std::move(open_errors)) {}

  void Collect(MetricsWriter& out) override;

  // The families of one status answer (what Collect writes), for tests.
  static void Write(const v1::StatusResponse& status, const OpenErrorCounts& open_errors,
                    MetricsWriter& out);

 private:
  const std::function<v1::StatusResponse()> status_;
  const std::function<OpenErrorCounts()> open_errors_;
};

}  // namespace sluice::http
