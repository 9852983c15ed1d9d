#include "support/sluiced.h"

#include <signal.h>

#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

#include "rpc/channel.h"
#include "support/net.h"

namespace sluice::testing {

using Clock = std::chrono::steady_clock;

Sluiced::Sluiced(std::string binary, std::string dir, std::vector<int> ports)
    : binary_(std::move(binary)), dir_(std::move(dir)), ports_(std::move(ports)) {
  if (ports_.empty()) ports_.push_back(FreePort());
}

std::string Sluiced::address(size_t i) const { return fmt::format("127.0.0.1:{}", ports_.at(i)); }
std::string Sluiced::config_path() const { return dir_ + "/sluiced.toml"; }
std::string Sluiced::log_path() const { return dir_ + "/sluiced.log"; }

Status Sluiced::WriteConfig(const std::string& toml) const {
  std::ofstream out(config_path(), std::ios::binary | std::ios::trunc);
  out << toml;
  out.close();
  if (!out) return Status::IOError("cannot write " + config_path());
  return Status::OK();
}

std::shared_ptr<grpc::Channel> OpenChannel(const std::string& address, const std::string& ca_file) {
  rpc::ChannelOptions options;
  options.tls_ca_file = ca_file;
  auto channel = rpc::NewChannel(address, options);
  if (channel.ok()) return *channel;
  options.tls_ca_file.clear();
  options.tls = true;
  return *rpc::NewChannel(address, options);  // fails only reading a CA file
}

void Sluiced::SetClientCredentials(std::string token, std::string ca_file) {
  std::lock_guard<std::mutex> lock(mu_);
  token_ = std::move(token);
  ca_file_ = std::move(ca_file);
  channel_.reset();
}

Status Sluiced::Start(const ChildEnv& env) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    channel_.reset();  // the last process's channel may be in backoff
  }
  return process_.Start({binary_, "--config", config_path()}, log_path(), env, die_with_parent_);
}

Status Sluiced::WaitListening(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (!process_.running()) {
      return Status::Internal(fmt::format("sluiced exited during start (status {}): {}",
                                          process_.WaitExit({}), LogTail()));
    }
    bool all = true;
    for (int p : ports_) all = all && PortAccepts(p);
    if (all) return Status::OK();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::DeadlineExceeded(fmt::format("sluiced did not listen within {} ms: {}",
                                              timeout.count(), LogTail()));
}

Status Sluiced::WaitReady(const std::function<bool(const v1::StatusResponse&)>& ready,
                          std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string last;
  while (Clock::now() < deadline) {
    if (!process_.running()) {
      return Status::Internal(fmt::format("sluiced exited during start (status {}): {}",
                                          process_.WaitExit({}), LogTail()));
    }
    auto s = AdminStatus(std::chrono::seconds(2));
    if (s.ok()) {
      if (ready(*s)) return Status::OK();
      last = s->ShortDebugString();
    } else {
      last = s.status().ToString();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::DeadlineExceeded(fmt::format("sluiced not ready within {} ms ({}): {}",
                                              timeout.count(), last, LogTail()));
}

Status Sluiced::Stop(std::chrono::milliseconds timeout) {
  if (!process_.running()) return Status::OK();
  const int code = process_.Stop(SIGTERM, timeout);
  if (code == -1) {
    return Status::Internal(
        fmt::format("sluiced did not stop within {} ms of SIGTERM", timeout.count()));
  }
  if (code != 0) return Status::Internal(fmt::format("sluiced exited with {}: {}", code, LogTail()));
  return Status::OK();
}

int Sluiced::Kill(int sig, std::chrono::milliseconds timeout) { return process_.Stop(sig, timeout); }

std::string Sluiced::LogTail(size_t max_bytes) const { return FileTail(log_path(), max_bytes); }

std::shared_ptr<grpc::Channel> Sluiced::Channel() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (channel_ == nullptr) {
    channel_ = OpenChannel(address(0), ca_file_);
  }
  return channel_;
}

Result<v1::StatusResponse> Sluiced::AdminStatus(std::chrono::milliseconds timeout) const {
  auto channel = Channel();
  grpc::ClientContext ctx;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!token_.empty()) ctx.AddMetadata("authorization", "Bearer " + token_);
  }
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  v1::StatusResponse resp;
  grpc::Status gs = v1::Admin::NewStub(channel)->Status(&ctx, v1::StatusRequest(), &resp);
  if (!gs.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (channel_ == channel) channel_.reset();
    return Status::Unavailable(fmt::format("Admin.Status: {}", gs.error_message()));
  }
  return resp;
}

Result<uint64_t> Sluiced::HeadLsn(const std::string& stream) const {
  SLUICE_ASSIGN_OR_RETURN(auto status, AdminStatus());
  for (const auto& s : status.streams()) {
    if (s.name() == stream) return s.head_lsn();
  }
  return Status::NotFound(fmt::format("no stream '{}' in Admin.Status", stream));
}

Status Sluiced::WaitApplied(const std::string& stream, std::chrono::milliseconds timeout) const {
  const auto deadline = Clock::now() + timeout;
  std::string last;
  for (;;) {
    auto status = AdminStatus();
    if (status.ok()) {
      uint64_t head = 0;
      for (const auto& s : status->streams()) {
        if (s.name() == stream) head = s.head_lsn();
      }
      bool all = true;
      last.clear();
      for (const auto& a : status->appliers()) {
        if (a.stream() != stream) continue;
        all = all && a.applied_lsn() >= head;
        last +=
            fmt::format("{}: applied {} of {} ({}) ", a.target(), a.applied_lsn(), head, a.state());
      }
      if (all) return Status::OK();
    } else {
      last = status.status().ToString();
    }
    if (Clock::now() >= deadline) {
      return Status::DeadlineExceeded(fmt::format("stream '{}' not applied: {}", stream, last));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace sluice::testing
