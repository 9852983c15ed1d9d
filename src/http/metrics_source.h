#pragma once
// Where /metrics gets its numbers: every source registered with the HTTP server writes its
// families into the page, in registration order, on each scrape. The node registers the
// service's status (status_metrics.h) and the gRPC call latencies (call_metrics.h); the
// alarm engine registers its alarm counts the same way, as one more source.
//
// Thread safety: Collect() is called from the HTTP server's threads, possibly for two
// scrapes at once; an implementation must allow that.

#include "http/exposition.h"

namespace sluice::http {

class MetricsSource {
 public:
  virtual ~MetricsSource() = default;
  // Appends this source's families (metric names unique across every source: the writer
  // refuses a family written twice).
  virtual void Collect(MetricsWriter& out) = 0;
};

}  // namespace sluice::http
