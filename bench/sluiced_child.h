#pragma once
// A `sluiced` child process for the benchmarks that run the whole service (ingest,
// failover): its config in DIR/sluiced.toml, its log in DIR/sluiced.log, a free loopback
// port, an Admin stub; SIGKILLed on destruction, and by the kernel if the benchmark dies.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "common/status.h"
#include "sluice/v1/service.grpc.pb.h"

namespace sluice::bench {

// A loopback TCP port that was free a moment ago; throws when there is none.
int FreePort();

class SluicedChild {
 public:
  SluicedChild(std::string binary, std::string dir);
  ~SluicedChild();
  SluicedChild(const SluicedChild&) = delete;
  SluicedChild& operator=(const SluicedChild&) = delete;

  int port() const { return port_; }
  std::string address() const;
  std::string config() const;
  std::string log() const;
  pid_t pid() const { return pid_; }

  // Starts sluiced (call from a thread that lives as long as the child: the kernel sends
  // the death signal when the forking thread ends) and waits up to 120 s until `ready`
  // holds for its Admin.Status; fails naming the last status and the log's tail.
  Status Launch(const std::function<bool(const v1::StatusResponse&)>& ready);
  // SIGTERM, then SIGKILL if it has not exited within a minute; an exit status other than
  // 0 is an error.
  Status Stop();
  Result<v1::StatusResponse> AdminStatus(std::chrono::milliseconds timeout) const;
  std::string LogTail(size_t max_bytes = 3000) const;

 private:
  std::string binary_;
  std::string dir_;
  int port_;
  pid_t pid_ = -1;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Admin::Stub> admin_;
};

}  // namespace sluice::bench
