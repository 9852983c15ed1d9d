// Opening and closing a client: options, the client id, the spool and its recovery.

#include <random>

#include <fmt/format.h>

#include "client/client_impl.h"
#include "common/log.h"

namespace sluice::client {
namespace {

constexpr char kClientIdFile[] = "client_id";
constexpr char kLockFile[] = "client.lock";

std::string NewClientId() {
  std::random_device rd;
  std::string id;
  for (int i = 0; i < 4; ++i) id += fmt::format("{:08x}", rd());
  return id;
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t start = 0;
  while (start < s.size() && std::isspace(static_cast<unsigned char>(s[start]))) ++start;
  return s.substr(start);
}

}  // namespace

Result<std::unique_ptr<Client>> Client::Open(ClientOptions options) {
  if (options.addresses.empty()) {
    return Status::InvalidArgument("no address of the service given (ClientOptions.addresses)");
  }
  if (options.max_message_bytes < 1024 || options.max_message_bytes > INT32_MAX) {
    return Status::InvalidArgument(fmt::format("max_message_bytes {} must be between 1024 and {}",
                                               options.max_message_bytes, INT32_MAX));
  }
  if (options.connect_timeout.count() <= 0 || options.commit_timeout.count() <= 0 ||
      options.call_timeout.count() <= 0 || options.resubmit_interval.count() <= 0) {
    return Status::InvalidArgument(
        "connect, commit, call timeouts and the resubmit interval must be positive");
  }
  std::unique_ptr<ClientImpl> c(new ClientImpl(std::move(options)));
  SLUICE_RETURN_IF_ERROR(c->Init());
  return std::unique_ptr<Client>(std::move(c));
}

Status ClientImpl::Init() {
  SLUICE_ASSIGN_OR_RETURN(conns_, Connections::Create(options_));
  client_id_ = options_.client_id;
  if (options_.spool_dir.empty()) {
    if (client_id_.empty()) client_id_ = NewClientId();
    return Status::OK();
  }

  FileSystem* fs = FileSystem::Default();
  SLUICE_RETURN_IF_ERROR(fs->CreateDirs(options_.spool_dir));
  auto lock = fs->LockFile(JoinPath(options_.spool_dir, kLockFile));
  if (!lock.ok())
    return lock.status().Annotate(fmt::format("spool {} is in use", options_.spool_dir));
  lock_ = std::move(lock).value();

  const std::string id_path = JoinPath(options_.spool_dir, kClientIdFile);
  std::string stored;
  if (fs->Exists(id_path)) {
    SLUICE_ASSIGN_OR_RETURN(stored, ReadWholeFile(fs, id_path));
    stored = Trim(std::move(stored));
  }

  SpoolOptions so;
  so.fs = fs;
  so.dir = options_.spool_dir;
  so.segment_bytes = options_.spool_segment_bytes;
  so.max_record_bytes = static_cast<uint32_t>(options_.max_message_bytes);
  so.budget_bytes = options_.spool_budget_bytes;
  SLUICE_ASSIGN_OR_RETURN(spool_, Spool::Open(so));

  if (client_id_.empty()) client_id_ = stored.empty() ? NewClientId() : stored;
  SLUICE_RETURN_IF_ERROR(RecoverSpool());
  if (client_id_ != stored) {
    // Spooled entries were numbered for the stored id; they cannot change owner.
    if (!stored.empty()) {
      for (StreamState* st : AllStreams()) {
        std::lock_guard lk(st->mu);
        if (!st->pending.empty()) {
          return Status::FailedPrecondition(fmt::format(
              "spool {} holds {} undelivered commits of client '{}' on stream '{}': it cannot "
              "be used as client '{}' until they are delivered",
              options_.spool_dir, st->pending.size(), stored, st->name, client_id_));
        }
      }
    }
    SLUICE_RETURN_IF_ERROR(WriteFileAtomically(fs, id_path, client_id_ + "\n"));
  }
  resubmitter_ = std::thread([this] { ResubmitLoop(); });
  return Status::OK();
}

Status ClientImpl::RecoverSpool() {
  for (const std::string& name : spool_->streams()) {
    SLUICE_ASSIGN_OR_RETURN(auto pending, spool_->Pending(name));
    StreamState* st = GetStream(name);
    std::lock_guard lk(st->mu);
    st->pending.assign(pending.begin(), pending.end());
    if (!pending.empty() && pending.back().sequence != 0) {
      // The pending entries are the stream's newest commits (see client_impl.h).
      st->known = true;
      st->next_sequence = pending.back().sequence + 1;
    }
    if (!pending.empty()) {
      SLUICE_LOG_INFO("client {}: spool stream '{}' holds {} commits to resubmit{}", client_id_,
                      name, pending.size(),
                      pending.front().sequence == 0
                          ? " (not numbered yet)"
                          : fmt::format(" (sequences {}..{})", pending.front().sequence,
                                        pending.back().sequence));
    }
  }
  return Status::OK();
}

ClientImpl::~ClientImpl() {
  stop_.store(true);
  {
    std::lock_guard lk(wake_mu_);
    stopping_ = true;
  }
  wake_cv_.notify_all();
  {
    std::lock_guard lk(resubmit_ctx_mu_);
    if (resubmit_ctx_ != nullptr) resubmit_ctx_->TryCancel();
  }
  if (conns_) conns_->Shutdown();
  if (resubmitter_.joinable()) resubmitter_.join();
  if (spool_) {
    Status s = spool_->Flush();
    if (!s.ok()) SLUICE_LOG_WARN("client {}: closing the spool: {}", client_id_, s.ToString());
  }
}

ClientImpl::StreamState* ClientImpl::GetStream(const std::string& name) {
  std::lock_guard lk(streams_mu_);
  auto it = streams_.find(name);
  if (it != streams_.end()) return it->second.get();
  auto st = std::make_unique<StreamState>(name);
  if (hello_known_) {
    // Created after the Hello: nothing of it is spooled (spooled streams exist from Open).
    auto h = hello_last_.find(name);
    st->known = true;
    st->next_sequence = (h == hello_last_.end() ? 0 : h->second) + 1;
  }
  StreamState* raw = st.get();
  streams_.emplace(name, std::move(st));
  return raw;
}

std::vector<ClientImpl::StreamState*> ClientImpl::AllStreams() const {
  std::lock_guard lk(streams_mu_);
  std::vector<StreamState*> out;
  for (const auto& [name, st] : streams_) out.push_back(st.get());
  return out;
}

std::vector<StreamSpoolStatus> ClientImpl::SpoolStatus() const {
  std::vector<StreamSpoolStatus> out;
  for (StreamState* st : AllStreams()) {
    std::lock_guard lk(st->mu);
    if (st->pending.empty() && st->delivered == 0 && st->rejected == 0 && st->last_error.empty()) {
      continue;
    }
    StreamSpoolStatus s;
    s.stream = st->name;
    s.pending = st->pending.size();
    s.next_sequence = st->known ? st->next_sequence : 0;
    s.delivered = st->delivered;
    s.rejected = st->rejected;
    s.last_error = st->last_error;
    out.push_back(std::move(s));
  }
  return out;
}

Status ClientImpl::WaitForSpoolDrained(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::string waiting;
    for (StreamState* st : AllStreams()) {
      std::lock_guard lk(st->mu);
      if (!st->spool_mode()) continue;
      waiting += fmt::format("{}'{}': {} pending{}", waiting.empty() ? "" : "; ", st->name,
                             st->pending.size(),
                             st->last_error.empty() ? "" : " (" + st->last_error + ")");
    }
    if (waiting.empty()) return Status::OK();
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::DeadlineExceeded(
          fmt::format("spool not drained after {} ms: {}", timeout.count(), waiting));
    }
    WakeResubmitter();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string ClientImpl::current_address() const {
  return conns_->endpoint(conns_->preferred()).address;
}

void ClientImpl::CancelCalls() { conns_->CancelAll(); }

}  // namespace sluice::client
