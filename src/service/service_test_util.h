#pragma once
// A node's write path in one process for service tests (tests only): the journals on a
// fault-injection file system and the admitter (admission/write_path_test_util.h), the
// de-duplication table and the Ingest service, as the node wires them.

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "admission/dedup_table.h"
#include "admission/write_path_test_util.h"
#include "config/config.h"
#include "service/auth.h"
#include "service/call_gate.h"
#include "service/ingest_service.h"
#include "support/net.h"

namespace sluice::service::testing {

// Polls `done` every 5 ms until it holds or `timeout` passes; returns whether it held.
inline bool WaitUntil(const std::function<bool()>& done,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  return ::sluice::testing::WaitFor(done, timeout, std::chrono::milliseconds(5));
}

// The write path with the Ingest service on top, as the node wires it.
class WritePath : public admission::testing::WritePath {
 public:
  explicit WritePath(std::vector<std::string> streams,
                     journal::AckMode ack_mode = journal::AckMode::kDurable)
      : admission::testing::WritePath(streams, ack_mode) {
    config_.node.id = "test";
    config_.auth.required = false;
    for (const auto& s : streams) {
      config::StreamConfig c;
      c.name = s;
      config_.streams.push_back(c);
    }
    auth_ = std::make_unique<Authenticator>(config_.auth);
  }
  ~WritePath() override { Close(); }

  admission::DedupTable& dedup() { return *dedup_; }
  IngestService& ingest() { return *ingest_; }

 protected:
  void OpenMore() override {
    admission::DedupOptions d;
    d.fs = &fs();
    d.path = dir().Sub("state/dedup.json");
    auto t = admission::DedupTable::Open(&journals(), d);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    dedup_ = std::move(t).value();
    gate_ = std::make_unique<CallGate>();
    ServiceContext ctx;
    ctx.config = &config_;
    ctx.journals = &journals();
    ctx.admitter = &admitter();
    ctx.dedup = dedup_.get();
    ctx.auth = auth_.get();
    ctx.gate = gate_.get();
    ingest_ = std::make_unique<IngestService>(ctx);
  }
  void CloseMore() override {
    ingest_.reset();
    dedup_.reset();
  }

 private:
  config::Config config_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<admission::DedupTable> dedup_;
  std::unique_ptr<CallGate> gate_;
  std::unique_ptr<IngestService> ingest_;
};

}  // namespace sluice::service::testing
