#include "client/connections.h"

#include <charconv>

#include <fmt/format.h>

#include "common/file_system.h"

namespace sluice::client {

namespace {

// The longest a channel waits before it tries a lost address again.
constexpr int kMaxBackoffMs = 1000;
// How often Connect() looks whether the connections are shutting down.
constexpr std::chrono::milliseconds kConnectSlice{50};

std::string_view GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "OK";
  }
}

}  // namespace

Status FromGrpc(const grpc::Status& status, const std::string& address) {
  if (status.ok()) return Status::OK();
  // gRPC's own statuses (UNIMPLEMENTED for a service the node does not offer) may carry
  // no message: name the code, so that the error says something.
  std::string text = status.error_message();
  if (text.empty() || status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    text = text.empty() ? std::string(GrpcCodeName(status.error_code()))
                        : fmt::format("{}: {}", GrpcCodeName(status.error_code()), text);
  }
  std::string msg = address.empty() ? text : fmt::format("{}: {}", address, text);
  switch (status.error_code()) {
    case grpc::StatusCode::CANCELLED:
      return Status::Aborted(std::move(msg));
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Status::InvalidArgument(std::move(msg));
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status::DeadlineExceeded(std::move(msg));
    case grpc::StatusCode::NOT_FOUND:
      return Status::NotFound(std::move(msg));
    case grpc::StatusCode::ALREADY_EXISTS:
      return Status::AlreadyExists(std::move(msg));
    case grpc::StatusCode::PERMISSION_DENIED:
      return Status::PermissionDenied(std::move(msg));
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return Status::ResourceExhausted(std::move(msg));
    case grpc::StatusCode::FAILED_PRECONDITION:
      return Status::FailedPrecondition(std::move(msg));
    case grpc::StatusCode::ABORTED:
      return Status::Aborted(std::move(msg));
    case grpc::StatusCode::OUT_OF_RANGE:
      return Status::OutOfRange(std::move(msg));
    case grpc::StatusCode::UNAVAILABLE:
      return Status::Unavailable(std::move(msg));
    case grpc::StatusCode::DATA_LOSS:
      return Status::Corruption(std::move(msg));
    case grpc::StatusCode::UNAUTHENTICATED:
      return Status::Unauthenticated(std::move(msg));
    // The service answers UNKNOWN for a write whose outcome it does not know yet.
    case grpc::StatusCode::UNKNOWN:
      return Status::OutcomeUnknown(std::move(msg));
    default:
      return Status::Internal(std::move(msg));
  }
}

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
  // The service's own words (src/service: sql_services.cc, service_context.cc).
  const std::string& m = status.error_message();
  if (m.find("service paused (") != std::string::npos) return Refusal::kPaused;
  if (m.find("sluiced is shutting down") != std::string::npos) return Refusal::kShuttingDown;
  return Refusal::kNone;
}

Result<std::unique_ptr<Connections>> Connections::Create(const ClientOptions& options) {
  std::unique_ptr<Connections> c(new Connections(options));
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (!options.tls_ca_file.empty() || options.tls) {
    grpc::SslCredentialsOptions ssl;
    if (!options.tls_ca_file.empty()) {
      auto pem = ReadWholeFile(FileSystem::Default(), options.tls_ca_file);
      if (!pem.ok()) return pem.status().Annotate("reading the TLS CA file");
      ssl.pem_root_certs = std::move(pem).value();
    }
    creds = grpc::SslCredentials(ssl);
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  const int max_bytes = static_cast<int>(std::min<uint64_t>(options.max_message_bytes, INT32_MAX));
  for (const auto& address : options.addresses) {
    if (address.empty()) return Status::InvalidArgument("an address of the service is empty");
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(max_bytes);
    args.SetMaxReceiveMessageSize(max_bytes);
    // The service comes back within seconds after a restart; gRPC's default backoff
    // (up to two minutes) would keep a channel away from it long after.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxBackoffMs);
    // Despite its name, the minimum time one connection attempt is given.
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
                static_cast<int>(std::max<int64_t>(options.connect_timeout.count(), 100)));
    // Each address its own connection, even when two addresses name one host.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    if (!options.tls_server_name.empty()) {
      args.SetString(GRPC_SSL_TARGET_NAME_OVERRIDE_ARG, options.tls_server_name);
    }
    auto e = std::make_unique<Endpoint>();
    e->address = address;
    e->channel = grpc::CreateCustomChannel(address, creds, args);
    e->ingest = v1::Ingest::NewStub(e->channel);
    e->sql = v1::Sql::NewStub(e->channel);
    e->model = v1::Model::NewStub(e->channel);
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
  // its backoff (at most kMaxBackoffMs); give it one retry's time, not the whole connect
  // timeout. Waiting also polls the channel: without a call or a watcher, gRPC notices a
  // finished connection attempt only every few seconds.
  const auto deadline =
      state == GRPC_CHANNEL_TRANSIENT_FAILURE
          ? now + std::min<std::chrono::milliseconds>(
                      options_.connect_timeout, std::chrono::milliseconds(kMaxBackoffMs + 200))
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
