#include "client/connections.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "rpc/channel.h"

namespace sluice::client {

namespace {

// How often Connect() looks whether the connections are shutting down.
constexpr std::chrono::milliseconds kConnectSlice{50};

}  // namespace

uint64_t ExpectedSequence(const grpc::Status& status) {
  if (status.error_code() != grpc::StatusCode::FAILED_PRECONDITION) return 0;
  constexpr std::string_view kKey = "expected sequence ";
  const std::string& m = status.error_message();
  size_t at = m.find(kKey);
  if (at == std::string::npos) return 0;
  const char* begin = m.data() + at + kKey.size();
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(begin, m.data() + m.size(), n);
  return ec == std::errc() && end != begin ? n : 0;
}

Refusal RefusedBeforeJournal(const grpc::Status& status) {
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return Refusal::kNone;
  // The service's own words (cluster/controller.cc, service/service_context.cc).
  const std::string& m = status.error_message();
  if (m.find("service paused (") != std::string::npos) return Refusal::kPaused;
  if (m.find("sluiced is shutting down") != std::string::npos) return Refusal::kShuttingDown;
  return Refusal::kNone;
}

Result<std::unique_ptr<Connections>> Connections::Create(const ClientOptions& options) {
  std::unique_ptr<Connections> c(new Connections(options));
  rpc::ChannelOptions channel;
  channel.tls = options.tls;
  channel.tls_ca_file = options.tls_ca_file;
  channel.tls_server_name = options.tls_server_name;
  channel.max_message_bytes = options.max_message_bytes;
  channel.fast_reconnect = std::max(options.connect_timeout, std::chrono::milliseconds(100));
  for (const auto& address : options.addresses) {
    if (address.empty()) return Status::InvalidArgument("an address of the service is empty");
    auto e = std::make_unique<Endpoint>();
    e->address = address;
    auto ch = rpc::NewChannel(address, channel);
    if (!ch.ok()) return ch.status().Annotate("reading the TLS CA file");
    e->channel = std::move(ch).value();
    e->ingest = v1::Ingest::NewStub(e->channel);
    e->sql = v1::Sql::NewStub(e->channel);
    e->model = v1::Model::NewStub(e->channel);
    e->sampling = v1::Sampling::NewStub(e->channel);
    e->history = v1::History::NewStub(e->channel);
    e->download = v1::Download::NewStub(e->channel);
    c->endpoints_.push_back(std::move(e));
  }
  return c;
}

std::vector<size_t> Connections::Order() const {
  std::vector<size_t> order;
  const size_t first = preferred();
  for (size_t k = 0; k < endpoints_.size(); ++k) order.push_back((first + k) % endpoints_.size());
  return order;
}

bool Connections::Connect(size_t i) {
  grpc::Channel& ch = *endpoints_[i]->channel;
  const auto now = std::chrono::system_clock::now();
  grpc_connectivity_state state = ch.GetState(/*try_to_connect=*/true);
  // A channel whose last attempt failed stays in TRANSIENT_FAILURE while it retries after
  // its backoff (at most rpc::kMaxReconnectBackoff); give it one retry's time, not the whole connect
  // timeout. Waiting also polls the channel: without a call or a watcher, gRPC notices a
  // finished connection attempt only every few seconds.
  const auto deadline =
      state == GRPC_CHANNEL_TRANSIENT_FAILURE
          ? now + std::min<std::chrono::milliseconds>(
                      options_.connect_timeout, rpc::kMaxReconnectBackoff + std::chrono::milliseconds(200))
          : now + options_.connect_timeout;
  // From IDLE or CONNECTING an attempt is under way now (it may fail before we see it
  // CONNECTING): the next TRANSIENT_FAILURE is its failure.
  bool attempted = state != GRPC_CHANNEL_TRANSIENT_FAILURE;
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_SHUTDOWN || shutdown_.load()) return false;
    // An attempt made now failed (refused, reset): the address is down.
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE && attempted) return false;
    // In slices, so that Shutdown() does not wait for a whole connect timeout.
    const auto slice = std::min(deadline, std::chrono::system_clock::now() + kConnectSlice);
    if (!ch.WaitForStateChange(state, slice)) {
      if (std::chrono::system_clock::now() >= deadline) return false;
      continue;
    }
    state = ch.GetState(/*try_to_connect=*/true);
    attempted = attempted || state == GRPC_CHANNEL_CONNECTING;
  }
  return true;
}

std::unique_ptr<grpc::ClientContext> Connections::NewContext(std::chrono::milliseconds timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!options_.token.empty()) ctx->AddMetadata("authorization", "Bearer " + options_.token);
  if (timeout.count() > 0) ctx->set_deadline(std::chrono::system_clock::now() + timeout);
  return ctx;
}

void Connections::Register(grpc::ClientContext* context) {
  std::lock_guard lk(mu_);
  live_.insert(context);
}

void Connections::Unregister(grpc::ClientContext* context) {
  std::lock_guard lk(mu_);
  live_.erase(context);
}

void Connections::Shutdown() {
  shutdown_.store(true);
  CancelAll();
}

void Connections::CancelAll() {
  std::lock_guard lk(mu_);
  for (auto* ctx : live_) ctx->TryCancel();
}

Reach Connections::Classify(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      // gRPC's own answer when the channel found no connection for the call (it lost one
      // between Connect() and the call): the request never left.
      if (status.error_message().rfind("failed to connect to all addresses", 0) == 0) {
        return Reach::kNotSent;
      }
      return Reach::kMaybeSent;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
      return Reach::kMaybeSent;
    default:
      return Reach::kAnswered;
  }
}

}  // namespace sluice::client
